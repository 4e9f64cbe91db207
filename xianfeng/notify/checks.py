"""`xianfeng check`: with a template-based SMS or voice provider selected, every kind of message must have a
template (its own or "*"), and the provider's credentials must be filled in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

TEMPLATE_GATEWAYS = ("AliyunSmsGateway", "TencentSmsGateway")


def _kinds() -> list[str]:
    from .kinds import LABELS
    from .providers import SIGNUP_KIND

    return sorted([*LABELS, SIGNUP_KIND])


@checks.register()
def provider_templates(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from .providers import template_problems

    messages: list[checks.CheckMessage] = []
    sms = str(getattr(settings, "NOTIFY_SMS_GATEWAY", ""))
    if sms.endswith(TEMPLATE_GATEWAYS):
        for problem in template_problems(_kinds()):
            messages.append(checks.Error(f"短信模板：{problem}", hint="在 NOTIFY_SMS_TEMPLATES 中登记（docs/DEPLOYMENT.md）",
                                         id="notify.E001"))
        if not getattr(settings, "NOTIFY_SMS_SIGN_NAME", ""):
            messages.append(checks.Error("未配置短信签名 NOTIFY_SMS_SIGN_NAME", id="notify.E002"))
    voice = str(getattr(settings, "NOTIFY_VOICE_GATEWAY", ""))
    if voice:
        from .kinds import LABELS

        alert_kinds = [k for k in LABELS if k == "care.alert"]
        for problem in template_problems(alert_kinds, voice=True):
            messages.append(checks.Error(f"语音模板：{problem}", hint="在 NOTIFY_VOICE_TEMPLATES 中登记",
                                         id="notify.E003"))
    needed: list[tuple[str, tuple[str, ...]]] = [
        (sms, ("NOTIFY_ALIYUN_ACCESS_KEY_ID", "NOTIFY_ALIYUN_ACCESS_KEY_SECRET")),
        (voice, ("NOTIFY_ALIYUN_ACCESS_KEY_ID", "NOTIFY_ALIYUN_ACCESS_KEY_SECRET")),
        (sms, ("NOTIFY_TENCENT_SECRET_ID", "NOTIFY_TENCENT_SECRET_KEY", "NOTIFY_TENCENT_SMS_APP_ID")),
        (voice, ("NOTIFY_TENCENT_SECRET_ID", "NOTIFY_TENCENT_SECRET_KEY", "NOTIFY_TENCENT_VOICE_APP_ID")),
    ]
    for gateway, names in needed:
        provider = "Aliyun" if names[0].startswith("NOTIFY_ALIYUN") else "Tencent"
        if provider in gateway:
            messages += [checks.Error(f"未配置 {n}", id="notify.E004") for n in names if not getattr(settings, n, "")]
    unique: dict[str, checks.CheckMessage] = {m.msg: m for m in messages}
    return list(unique.values())
