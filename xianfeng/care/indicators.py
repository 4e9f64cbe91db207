"""The care module's indicators (xianfeng.core.indicators): one-key calls, care actions, aid and funds.

Calls are presses and test presses, all of them (no window), counted where the device's holder lives; the share
acknowledged within 60 s and 180 s (the telecare reference: 97.5 % and 99 %) is over every call, answered or not."""

from __future__ import annotations

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, Measure, link, on_date, on_datetime, on_today, register, trend, watch


def _calls(today) -> Q:
    from .figures import CALL_KINDS

    return Q(kind__in=CALL_KINDS)


def _paid_day(today):
    return Coalesce(TruncDate("decided_at"), TruncDate("requested_at"))


CALLS = Measure("calls", "care.Alert", "org_id", on_datetime("raised_at"), _calls)
ACK60 = Measure("calls_ack60", "care.Alert", "org_id", on_datetime("raised_at"),
                lambda t: _calls(t) & Q(ack_seconds__lte=60))
ACK180 = Measure("calls_ack180", "care.Alert", "org_id", on_datetime("raised_at"),
                 lambda t: _calls(t) & Q(ack_seconds__lte=180))
ACTIONS = Measure("care_actions", "care.CareAction", "case__org_id", on_date("date"))
AID_COUNT = Measure("aid_count", "care.Disbursement", "case__org_id", _paid_day, lambda t: Q(status="paid"))
AID_FEN = Measure("aid_fen", "care.Disbursement", "case__org_id", _paid_day, lambda t: Q(status="paid"),
                  value=lambda: Sum("amount"))
FUND_BALANCE = Measure("fund_balance", "care.CareFund", "org_id", on_today(), value=lambda: Sum("account__balance"),
                       rolled=False, snapshot=True)

register(Indicator(
    "care.ack_60s", _("Calls acknowledged within 60 s"), ACK60, CALLS, _("calls (presses and test presses)"),
    section="care", order=10, window=_("all calls"),
    list_url=lambda o: link("care:alert_list", within=o, ack_within=60),
    rate_label="一键通60秒内响应率", rate_numerator="60秒内响应的呼叫", rate_denominator="呼叫"))
register(Indicator(
    "care.ack_180s", _("Calls acknowledged within 180 s"), ACK180, CALLS, _("calls (presses and test presses)"),
    window=_("all calls"), list_url=lambda o: link("care:alert_list", within=o, ack_within=180),
    rate_label="一键通180秒内响应率", rate_numerator="180秒内响应的呼叫", rate_denominator="呼叫"))
register(Indicator("care.fund_balance", _("Care-fund balance"), FUND_BALANCE, section="care", order=20,
                   unit=_("yuan"), scale=100, page_url=lambda o: link("care:fund_list")))
register(Indicator("care.aid_paid", _("Aid paid"), AID_FEN, section="care", order=30, unit=_("yuan"), scale=100,
                   page_url=lambda o: link("care:fund_list")))
register(Indicator("care.aid_payments", _("Aid payments"), AID_COUNT, section="care", order=40,
                   page_url=lambda o: link("care:fund_list")))
register(Indicator("care.actions", _("Care visits and actions"), ACTIONS, section="care", order=50,
                   page_url=lambda o: link("care:case_list")))

trend(CALLS, _("Calls"), 80)
watch("care.AlertEvent", "alert.org_id")  # an acknowledgement is a conditional UPDATE with an event row
