from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "xianfeng.portal"
    label = "portal"
    verbose_name = "公开门户"
    url_prefix = "p/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [("portal:index", _("Public portal"), "globe", "view")]
