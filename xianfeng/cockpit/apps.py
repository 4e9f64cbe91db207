from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CockpitConfig(AppConfig):
    name = "xianfeng.cockpit"
    label = "cockpit"
    verbose_name = "驾驶舱"
    url_prefix = "cockpit/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("cockpit:home", _("Cockpit"), "speedometer2", "view"),
    ]

    def ready(self) -> None:
        from . import signals

        signals.connect()
