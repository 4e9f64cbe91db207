from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "xianfeng.ledger"
    label = "ledger"
    verbose_name = "账本"
    navigation = [("ledger:account_list", _("Accounts"), "journal-text", None)]
    url_prefix = "ledger/"  # xianfeng/urls.py mounts this app's urls.py here
