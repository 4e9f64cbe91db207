"""What providers report after they took a message: SMS status reports and voice call results.

Each provider pushes them as HTTP POSTs to the address registered in its console (docs/DEPLOYMENT.md):
`/notifications/receipts/<provider>/<NOTIFY_RECEIPT_TOKEN>/`. Neither provider signs these pushes, so the token in
the address is the shared secret: a push with a wrong token is refused (403) and logged.

- Alibaba Cloud SMS (SmsReport): a JSON array of {"biz_id", "success", "err_code", "err_msg", "phone_number", …}.
- Alibaba Cloud voice (VoiceReport): a JSON array of {"call_id", "status_code" (200000: answered), "status_msg",
  "dtmf", "out_id", …}.
- Tencent Cloud SMS: a JSON array of {"sid", "report_status" (SUCCESS/FAIL), "errmsg", "description", "mobile", …}.
- Tencent Cloud voice: {"voiceprompt_callback": {"callid", "result" (0 answered, 1 not answered, 2 failed)}} and
  {"voicekey_callback": {"callid", "keypress"}}.

Every receipt is kept (DeliveryReceipt) on the delivery whose provider id it names; a voice result is also sent as
the `call_result` signal, which the module that placed the call listens to (the one-key alert's escalation: not
answered → the next level now; the acknowledging key → the alert is taken).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal

from .models import Delivery, DeliveryReceipt

logger = logging.getLogger(__name__)
Result = DeliveryReceipt.Result

call_result = Signal()
"""Sent after a voice call's result is recorded: sender=Delivery, delivery=, notification=, result= (a
DeliveryReceipt.Result value), digits= (keys pressed, "" if none)."""


@dataclass
class Report:
    ref: str
    result: str
    code: str = ""
    detail: str = ""
    digits: str = ""


def _ack_digit() -> str:
    return str(getattr(settings, "NOTIFY_VOICE_ACK_DIGIT", "1"))


def parse(provider: str, data: Any) -> list[Report]:
    """The reports in one push (ValueError for a body of the wrong shape)."""
    reports: list[Report] = []
    if provider == "aliyun":
        if not isinstance(data, list):
            raise ValueError("应为 JSON 数组")
        for row in data:
            if not isinstance(row, dict):
                raise ValueError("数组元素应为对象")
            if "call_id" in row:
                digits = str(row.get("dtmf") or "")
                answered = str(row.get("status_code", "")) == "200000"
                result = (Result.ACKNOWLEDGED if answered and _ack_digit() in digits
                          else Result.ANSWERED if answered else Result.NO_ANSWER)
                reports.append(Report(str(row["call_id"]), result, str(row.get("status_code", "")),
                                      str(row.get("status_msg", "")), digits))
            elif "biz_id" in row:
                ok = row.get("success") in (True, "true", "True")
                reports.append(Report(str(row["biz_id"]), Result.DELIVERED if ok else Result.UNDELIVERED,
                                      str(row.get("err_code", "")), str(row.get("err_msg", ""))))
            else:
                raise ValueError("缺少 biz_id 或 call_id")
        return reports
    if provider == "tencent":
        if isinstance(data, dict) and "voiceprompt_callback" in data:
            row = data["voiceprompt_callback"]
            result = Result.ANSWERED if str(row.get("result")) == "0" else Result.NO_ANSWER
            return [Report(str(row["callid"]), result, str(row.get("result", "")),
                           {"0": "用户正常接听", "1": "用户未接听", "2": "呼叫异常"}.get(str(row.get("result")), ""))]
        if isinstance(data, dict) and "voicekey_callback" in data:
            row = data["voicekey_callback"]
            digits = str(row.get("keypress", ""))
            return [Report(str(row["callid"]), Result.ACKNOWLEDGED if digits == _ack_digit() else Result.ANSWERED,
                           "", "用户按键", digits)]
        if isinstance(data, dict) and "voice_failure_callback" in data:
            row = data["voice_failure_callback"]
            return [Report(str(row["callid"]), Result.NO_ANSWER, str(row.get("failure_code", "")),
                           str(row.get("failure_reason", "")))]
        if not isinstance(data, list):
            raise ValueError("应为 JSON 数组或语音回调对象")
        for row in data:
            if not isinstance(row, dict) or "sid" not in row:
                raise ValueError("缺少 sid")
            ok = str(row.get("report_status", "")).upper() == "SUCCESS"
            reports.append(Report(str(row["sid"]), Result.DELIVERED if ok else Result.UNDELIVERED,
                                  str(row.get("errmsg", "")), str(row.get("description", ""))))
        return reports
    raise ValueError("未知的服务商")


def _announce(delivery: Delivery, report: Report) -> None:
    call_result.send(sender=Delivery, delivery=delivery, notification=delivery.notification, result=report.result,
                     digits=report.digits)


def record(provider: str, reports: list[Report]) -> int:
    """Keep each report on its delivery (reports naming no delivery of ours are logged and dropped); send
    `call_result` for voice results after the commit. Returns how many were kept."""
    kept = 0
    for report in reports:
        with transaction.atomic():
            delivery = (Delivery.objects.select_for_update().select_related("notification")
                        .filter(provider=provider, provider_ref=report.ref).first())
            if delivery is None:
                logger.warning("receipt from %s for unknown message %s", provider, report.ref)
                continue
            DeliveryReceipt.objects.create(delivery=delivery, provider=provider, result=report.result,
                                           code=report.code[:100], detail=report.detail[:500],
                                           digits=report.digits[:20])
            Delivery.objects.filter(pk=delivery.pk).update(receipt=report.result)
            kept += 1
            if delivery.channel == "voice":
                transaction.on_commit(functools.partial(_announce, delivery, report))
    return kept
