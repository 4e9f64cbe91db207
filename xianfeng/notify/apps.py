from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "xianfeng.notify"
    label = "notify"
    verbose_name = "通知"
    navigation = [("notify:inbox", _("Notifications"), "bell", None)]
    url_prefix = "notifications/"  # xianfeng/urls.py mounts this app's urls.py here
