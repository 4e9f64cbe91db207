"""The pledges module's indicators (xianfeng.core.indicators). Over every round (no window)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, Measure, link, on_date, on_datetime, register, trend, watch
from xianfeng.orgs.indicators import MEMBERS


def _pledged(today) -> Q:
    """Members (not transferred out) with at least one pledge past the draft, in any round."""
    from .models import Pledge, Status

    return ~Q(status="left") & Q(Exists(Pledge.objects.filter(member=OuterRef("pk")).exclude(status=Status.DRAFT)))


def _public(today) -> Q:
    from .models import PUBLIC_STATES

    return Q(status__in=PUBLIC_STATES)


# counted where the member is now (a transferred member's pledge follows the member): Member.org
MEMBERS_PLEDGED = Measure("members_pledged", "orgs.Member", "org_id", on_datetime("created_at"), _pledged)
SUBMITTED = Measure("pledges", "pledges.Pledge", "org_id", on_datetime("created_at"), lambda t: ~Q(status="draft"))
PUBLISHED = Measure("pledges_published", "pledges.Pledge", "org_id",
                    lambda t: Coalesce("published_on", TruncDate("created_at")), _public)
FULFILLED = Measure("pledges_fulfilled", "pledges.Pledge", "org_id", on_date("fulfilled_on"),
                    lambda t: Q(fulfilled_on__isnull=False))
FORMULAIC = Measure("pledges_formulaic", "pledges.Pledge", "org_id", on_datetime("created_at"),
                    lambda t: ~Q(status="draft") & Q(formulaic=True))

register(Indicator(
    "pledges.members_pledged", _("Members who made a pledge"), MEMBERS_PLEDGED, MEMBERS,
    _("members (not transferred out)"), section="pledges", order=10, window=_("all rounds"),
    list_url=lambda o: link("orgs:member_list", org=o, current=1, pledged=1)))
register(Indicator(
    "pledges.fulfilled", _("Pledges fulfilled"), FULFILLED, PUBLISHED, _("published pledges"), section="pledges",
    order=20, list_url=lambda o: link("pledges:list", org=o, status="fulfilled"),
    rate_label="承诺践诺率", rate_numerator="已践诺", rate_denominator="已公示承诺"))
register(Indicator(
    "pledges.formulaic", _("Formulaic pledges"), FORMULAIC, SUBMITTED, _("pledges submitted (members' and "
                                                                        "organisations')"),
    section="pledges", order=30, list_url=lambda o: link("pledges:list", org=o, formulaic=1),
    rate_label="承诺程式化比例", rate_numerator="程式化承诺", rate_denominator="已提交承诺"))
register(Indicator(
    "pledges.submitted", _("Pledges submitted (members' and organisations')"), SUBMITTED, section="pledges",
    order=40, list_url=lambda o: link("pledges:list", org=o, status="made")))

trend(SUBMITTED, _("Pledges made"), 10)
trend(FULFILLED, _("Pledges fulfilled"), 20)
# a member counts as pledged where the member is; a transition recorded by a conditional UPDATE leaves its event row
watch("pledges.Pledge", "member.org_id")
watch("pledges.PledgeEvent", "pledge.org_id", "pledge.member.org_id")
