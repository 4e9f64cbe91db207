from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PledgesConfig(AppConfig):
    name = "xianfeng.pledges"
    label = "pledges"
    verbose_name = "先锋承诺"
    url_prefix = "pledges/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("pledges:mine", _("My pledges"), "person-raised-hand", "take_part"),
        ("pledges:list", _("Pledges"), "megaphone", "view"),
        ("pledges:figures", _("Pledge figures"), "bar-chart", "view"),
        ("pledges:clusters", _("Formulaic pledges"), "files", "view"),
        ("pledges:moderation", _("Comment moderation"), "shield-check", "change"),
    ]
