from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "xianfeng.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from . import checks  # noqa: F401  (registers core's system checks)

        autodiscover_modules("policies")  # each app's policies.py registers its models' policies
        autodiscover_modules("queue")  # each app's queue.py registers its entries of the home page's work queue
