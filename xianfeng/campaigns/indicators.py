"""The campaigns module's indicators (xianfeng.core.indicators): plans submitted, award rounds."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, Measure, link, on_today, register

from .services import plans_submitted_counts

AWARD_ROUNDS = Measure("award_rounds", "campaigns.AwardRound", "org_id", on_today(), rolled=False, snapshot=True)
AWARD_ROUNDS_PUBLISHED = Measure("award_rounds_published", "campaigns.AwardRound", "org_id", on_today(),
                                 lambda t: Q(status="published"), rolled=False, snapshot=True)


def _plans(orgs, *, start=None, end=None):
    """Organisations whose plan was submitted (or accepted) / organisations required to submit, over every campaign
    requiring a plan that overlaps [start, end] (all campaigns when neither is given)."""
    return plans_submitted_counts(list(orgs), start=start, end=end)


register(Indicator("campaigns.award_rounds_published", _("Award rounds published"), AWARD_ROUNDS_PUBLISHED,
                   AWARD_ROUNDS, _("award rounds"), section="supervision", order=40,
                   page_url=lambda o: link("campaigns:award_list")))
# organisations, not records of one table: computed live
register(Indicator("campaigns.plans_submitted", _("Organisations that submitted their campaign plan"), None,
                   provider=_plans, window=_("every campaign requiring a plan"),
                   rate_label="活动方案报送率", rate_numerator="已报送方案的组织", rate_denominator="应报送方案的组织"))
