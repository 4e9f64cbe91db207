from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "xianfeng.core"
    label = "core"
    verbose_name = "核心"
