"""Small builders for the campaigns tests: a campaign with a plan deliverable, an award round in its voting window."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.orgs.models import OrgKind

PARTY = [OrgKind.BRANCH, OrgKind.GENERAL_BRANCH, OrgKind.COMMITTEE]
UNITS = [OrgKind.VILLAGE, OrgKind.COMMUNITY]


def make_campaign(world, *, plan_due: dt.date | None = None, lessons_due: dt.date | None = None):
    today = timezone.localdate()
    start = today - dt.timedelta(days=60)
    return services.campaign_create(
        name="深入开展创先争优活动", org=world.county, start=start, implement_from=start + dt.timedelta(days=30),
        evaluate_from=today + dt.timedelta(days=100), end=today + dt.timedelta(days=200),
        deliverables=[
            {"code": "plan", "name": "活动方案", "org_kinds": PARTY, "due": plan_due or today + dt.timedelta(days=10)},
            {"code": "pledges", "name": "公开承诺", "org_kinds": PARTY, "due": today + dt.timedelta(days=30)},
            {"code": "lessons", "name": "党课", "org_kinds": UNITS, "due": lessons_due or today - dt.timedelta(days=1)},
        ], actor=None,
    )


def make_round(world, *, opens_in: dt.timedelta = -dt.timedelta(hours=1), lasts: dt.timedelta = dt.timedelta(days=3),
               voting: bool = True, nominate_at=None):
    """A round whose window starts `opens_in` from now, with one organisation and two member nominations."""
    now = timezone.now()
    award = services.award_round_create(org=world.county, name="2026年度先锋群评创", vote_start=now + opens_in,
                                        vote_end=now + opens_in + lasts, actor=None)
    cats = {c.code: c for c in award.categories.all()}
    before = award.vote_start - dt.timedelta(days=1)
    noms = {
        "org": services.nomination_create(category=cats["advanced_org"], nominated_by=world.wuyuan,
                                          nominee_org=world.hebin, citation="服务群众成效明显", now=before, actor=None),
        "a": services.nomination_create(category=cats["innovation"], nominated_by=world.wuyuan,
                                        nominee_member=world.members["hebin_a"], citation="牵头创建服务品牌", now=before, actor=None),
        "b": services.nomination_create(category=cats["innovation"], nominated_by=world.county,
                                        nominee_member=world.members["qinshan_a"], citation="带领村民致富", now=before, actor=None),
    }
    if voting:
        services.award_round_open_voting(award=award, actor=None)
        award.refresh_from_db()
    return award, cats, noms
