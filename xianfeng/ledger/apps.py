from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "xianfeng.ledger"
    label = "ledger"
    verbose_name = "账本"
    url_prefix = "ledger/"  # xianfeng/urls.py mounts this app's urls.py here
