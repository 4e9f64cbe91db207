from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "xianfeng.notify"
    label = "notify"
    verbose_name = "通知"
    navigation: list[tuple] = []  # reached from the header bell / the points card, not the menu
    url_prefix = "notifications/"  # xianfeng/urls.py mounts this app's urls.py here

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the provider checks)
