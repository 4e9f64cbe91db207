"""我的待办: what is waiting for this user, each count the exact count of the list it links to.

A selector (reads only). Each entry counts with the list page's own filter, so the number on the home page is the
number of rows the link shows.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from .policy import policy_for


def _case_count(user: Any, query: str) -> int:
    """Cases in view scope through the case list's own filter (grids.views._case_filter) with `query`."""
    from xianfeng.grids.models import Case
    from xianfeng.grids.views import _case_filter

    request = SimpleNamespace(GET=QueryDict(query), user=user)
    qs, _filters = _case_filter(request, Case.objects.restrict(user, "view"))
    return qs.order_by().count()


def _open_demands(user: Any) -> dict[str, Any] | None:
    """Demands waiting to be claimed in the user's first organisation (the one demands:list opens with)."""
    from xianfeng.demands.views import demand_list_queryset
    from xianfeng.orgs.selectors import scope_roots

    org = scope_roots(user, "view").order_by("path").first()
    if org is None:
        return None
    count = demand_list_queryset(user, org, open_only=True).order_by().count()
    return {"key": "demands_open", "label": _("Demands waiting to be claimed"), "count": count,
            "url": reverse("demands:list") + f"?org={org.pk}&status=open"}


def work_queue(user: Any) -> list[dict[str, Any]]:
    """[{label, count, url}] for the signed-in user: staff in scope (pledges to review, cases overdue and due within
    a day), members (claims not yet served, own pledges being carried out). Empty for someone with nothing to do."""
    from xianfeng.demands.models import Claim
    from xianfeng.orgs.models import Organisation
    from xianfeng.pledges.models import Pledge, Status

    items: list[dict[str, Any]] = []
    orgs = policy_for(Organisation)
    if orgs.any(user, "view"):
        if orgs.any(user, "change"):
            submitted = Pledge.objects.restrict(user, "view").filter(status=Status.SUBMITTED).count()
            items.append({"key": "pledges_review", "label": _("Pledges to review"), "count": submitted,
                          "url": reverse("pledges:list") + "?status=submitted"})
        demands = _open_demands(user)
        if demands is not None:
            items.append(demands)
        for key, label, query in (("cases_overdue", _("Cases overdue"), "status=overdue"),
                                  ("cases_due", _("Cases due within a day"), "status=open&due=soon"),
                                  ("cases_open", _("Open cases"), "status=open")):
            items.append({"key": key, "label": label, "count": _case_count(user, query),
                          "url": reverse("grids:case_list") + "?" + query})
    if getattr(user, "person_id", None):
        claims = Claim.objects.filter(member__person_id=user.person_id, status__in=Claim.ACTIVE).count()
        pledges = Pledge.objects.owned_by(user).filter(status__in=[Status.PUBLISHED, Status.IN_PROGRESS]).count()
        if claims:
            items.append({"key": "claims", "label": _("Demands claimed, not yet served"), "count": claims,
                          "url": reverse("demands:mine")})
        if pledges:
            items.append({"key": "pledges_progress", "label": _("My pledges awaiting progress"), "count": pledges,
                          "url": reverse("pledges:mine")})
    return items
