from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "xianfeng.ledger"
    label = "ledger"
    verbose_name = "账本"
    navigation: list[tuple] = []  # reached from the header bell / the points card, not the menu
    url_prefix = "ledger/"  # xianfeng/urls.py mounts this app's urls.py here
