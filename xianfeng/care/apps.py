from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "xianfeng.care"
    label = "care"
    verbose_name = "党员关爱"
    url_prefix = "care/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("care:console", _("Duty console"), "broadcast", "view"),
        ("care:case_list", _("Care cases"), "heart", "view"),
        ("care:fund_list", _("Care funds"), "cash-coin", "view"),
        ("care:device_list", _("Call devices"), "phone-vibrate", "view"),
        ("care:policy_list", _("Escalation policies"), "diagram-3", "view"),
        ("care:figures", _("Alert figures"), "graph-up", "view"),
    ]

    def ready(self) -> None:
        from xianfeng.notify.receipts import call_result

        from .voice import on_call_result

        call_result.connect(on_call_result, dispatch_uid="care.voice")  # a voice call's result drives its alert
