"""The organisation tree's indicators (xianfeng.core.indicators): organisations and members."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, Measure, link, on_datetime, register, watch

# stocks count on the day their row was created: one rollup row per organisation and load, so subtree sums stay
# small; the cockpit shows their current totals, not a history
ORGANISATIONS = Measure("orgs", "orgs.Organisation", "id", on_datetime("created_at"))
MEMBERS = Measure("members", "orgs.Member", "org_id", on_datetime("created_at"), lambda today: ~Q(status="left"))

register(Indicator("orgs.organisations", _("Organisations"), ORGANISATIONS, section="orgs", order=10))
register(Indicator("orgs.members", _("Members (not transferred out)"), MEMBERS, section="orgs", order=20,
                   list_url=lambda o: link("orgs:member_list", org=o, current=1)))

watch("orgs.Membership", "org_id")  # a transfer closes one membership period and opens another
