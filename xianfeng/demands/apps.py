from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemandsConfig(AppConfig):
    name = "xianfeng.demands"
    label = "demands"
    verbose_name = "服务需求"
    url_prefix = "demands/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("demands:board", _("Service demands"), "hand-thumbs-up", None),
        ("demands:mine", _("My services"), "person-check", None),
        ("demands:pairings", _("Pairings"), "link-45deg", "view"),
        ("demands:figures", _("Service figures"), "bar-chart", "view"),
        ("demands:withdrawals", _("Claims given up"), "arrow-counterclockwise", "view"),
        ("demands:categories", _("Service categories"), "tags", "change"),
    ]

    def ready(self) -> None:
        from xianfeng.points import categories

        from .categories import categories_for

        categories.register(categories_for)  # the service categories earn points under the rules' bases
