"""Whom to ask for an open demand: a ranked list of the community's members, each with the reasons for its place.

Score (higher first): paired with the household +40; served the household before +10 each (at most 30); done the
same kind of service +5 each (at most 20); an occupation that fits the category +15; served in the same grid +10;
each active claim −15 (current load); each confirmed service in the last 30 days −3 (fairness: the same few are not
always asked). Ties go to whoever served least this year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import Member
from xianfeng.orgs.selectors import community_of

from .models import Claim, Demand, Pairing, ServiceRecord

OCCUPATION_HINTS = {
    "医疗": ("医", "护"), "法律": ("律", "法"), "助学": ("教", "师"), "维修": ("电", "修", "工程"),
    "心理": ("心理", "医"), "就业": ("人社", "企业", "经理"), "助残": ("医", "护", "社工"), "助老": ("社工", "护"),
}


@dataclass
class Suggestion:
    member: Member
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    served_this_year: int = 0


def suggest(demand: Demand, *, limit: int = 10, today: dt.date | None = None) -> list[Suggestion]:
    """The community's active members ranked for `demand` (members who already claim it are left out)."""
    today = today or timezone.localdate()
    community = community_of(demand.org)
    members = list(Member.objects.active().filter(subtree_q("org__path", community.path))
                   .exclude(demand_claims__demand=demand, demand_claims__status__in=Claim.ACTIVE)
                   .select_related("person", "org"))
    if not members:
        return []
    ids = [m.pk for m in members]
    by_id = {m.pk: Suggestion(member=m) for m in members}

    def counts(qs, key="member_id"):
        return dict(qs.filter(member_id__in=ids).values(key).annotate(n=Count("id")).values_list(key, "n")
                    .order_by())

    confirmed = ServiceRecord.objects.filter(status=ServiceRecord.Status.CONFIRMED)
    household_q = Q()
    if demand.household:
        household_q |= Q(household=demand.household)
    if demand.resident_id:
        household_q |= Q(resident_id=demand.resident_id)
    paired = set()
    served_household: dict[int, int] = {}
    if household_q:
        paired = set(Pairing.objects.filter(household_q, member_id__in=ids, end__isnull=True)
                     .values_list("member_id", flat=True))
        demand_q = Q()
        if demand.household:
            demand_q |= Q(demand__household=demand.household)
        if demand.resident_id:
            demand_q |= Q(demand__resident_id=demand.resident_id)
        served_household = counts(confirmed.filter(demand_q))
    same_kind = counts(confirmed.filter(category=demand.category))
    same_grid = counts(confirmed.filter(demand__grid=demand.grid)) if demand.grid else {}
    load = counts(Claim.objects.filter(status__in=Claim.ACTIVE))
    recent = counts(confirmed.filter(served_on__gte=today - dt.timedelta(days=30)))
    year = counts(confirmed.filter(served_on__year=today.year))
    hints = OCCUPATION_HINTS.get(demand.category, ())

    for pk, s in by_id.items():
        if pk in paired:
            s.score += 40
            s.reasons.append("与该户结对")
        if n := served_household.get(pk):
            s.score += min(10 * n, 30)
            s.reasons.append(f"曾为该户服务 {n} 次")
        if n := same_kind.get(pk):
            s.score += min(5 * n, 20)
            s.reasons.append(f"做过 {n} 次{demand.category}服务")
        occupation = s.member.occupation or ""
        if occupation and any(h in occupation for h in hints):
            s.score += 15
            s.reasons.append(f"职业：{occupation}")
        if n := same_grid.get(pk):
            s.score += 10
            s.reasons.append(f"在本网格服务过 {n} 次")
        if n := load.get(pk):
            s.score -= 15 * n
            s.reasons.append(f"手上还有 {n} 项认领")
        if n := recent.get(pk):
            s.score -= 3 * n
            s.reasons.append(f"近30天已服务 {n} 次")
        s.served_this_year = year.get(pk, 0)
        if not s.reasons:
            s.reasons.append("本社区党员，近期未服务")
    ranked = sorted(by_id.values(), key=lambda s: (-s.score, s.served_this_year, s.member.pk))
    return ranked[:limit]
