"""The point-to-point service's indicators (xianfeng.core.indicators): demands, claims, services, points."""

from __future__ import annotations

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, Measure, link, on_date, on_datetime, register, trend, watch

RECORDED = Measure("demands", "demands.Demand", "org_id", on_datetime("created_at"))
# the claim rate's n: demands recorded, less those closed without ever being claimed
CLAIMABLE = Measure("demands_claimable", "demands.Demand", "org_id", on_datetime("created_at"),
                    lambda t: ~Q(status="closed", first_claimed_at__isnull=True))
CLAIMED = Measure("demands_claimed", "demands.Demand", "org_id", on_datetime("first_claimed_at"),
                  lambda t: Q(first_claimed_at__isnull=False))
DONE = Measure("demands_done", "demands.Demand", "org_id",
               lambda t: Coalesce(TruncDate("done_at"), TruncDate("created_at")),
               lambda t: Q(status="done", first_claimed_at__isnull=False))
SERVICES = Measure("services", "demands.ServiceRecord", "org_id", on_date("served_on"))
CONFIRMED = Measure("services_confirmed", "demands.ServiceRecord", "org_id", on_date("served_on"),
                    lambda t: Q(status="confirmed"))
POINTS_ISSUED = Measure("points_issued", "points.Award", "org_id", on_date("on"), value=lambda: Sum("points"))
POINTS_REDEEMED = Measure("points_redeemed", "points.Redemption", "reward__shop_id", on_datetime("created_at"),
                          value=lambda: Sum("points"))
REDEMPTIONS = Measure("redemptions", "points.Redemption", "reward__shop_id", on_datetime("created_at"))

register(Indicator("demands.recorded", _("Demands recorded"), RECORDED, section="demands", order=10,
                   list_url=lambda o: link("demands:list", org=o, figure="recorded")))
register(Indicator(
    "demands.claimed", _("Demands claimed"), CLAIMED, CLAIMABLE, _("demands recorded, less those closed unclaimed"),
    section="demands", order=20, list_url=lambda o: link("demands:list", org=o, figure="claimed"),
    rate_label="服务需求认领率", rate_numerator="已认领", rate_denominator="已登记（不含未认领即关闭）"))
register(Indicator(
    "demands.completed", _("Demands done"), DONE, CLAIMED, _("demands claimed"), section="demands", order=30,
    list_url=lambda o: link("demands:list", org=o, figure="done"),
    rate_label="服务需求完成率", rate_numerator="已完成", rate_denominator="已认领"))
register(Indicator("demands.services_confirmed", _("Services confirmed by residents"), CONFIRMED, SERVICES,
                   _("services recorded"), section="demands", order=40,
                   page_url=lambda o: link("demands:figures", org=o)))
register(Indicator("points.issued", _("Points issued"), POINTS_ISSUED, section="demands", order=50, unit=_("points"),
                   page_url=lambda o: link("points:board", org=o)))
register(Indicator("points.redeemed", _("Points redeemed"), POINTS_REDEEMED, POINTS_ISSUED, _("points issued"),
                   section="demands", order=60, unit=_("points"), page_url=lambda o: link("points:board", org=o)))

trend(SERVICES, _("Services"), 30)
watch("demands.Claim", "demand.org_id")  # a claim is recorded by a conditional UPDATE and its claim row
