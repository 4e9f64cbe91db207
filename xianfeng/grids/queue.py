"""Cases in the home page's work queue (staff in scope): overdue, due within a day, open — each counted with the case
list's own filter, so the number is the number of rows the link shows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from xianfeng.core.policy import policy_for
from xianfeng.core.queue import entry
from xianfeng.orgs.models import Organisation

from .models import Case
from .views import _case_filter  # the case list's own filter


def _cases(user: Any, query: str) -> tuple[int, str] | None:
    if not policy_for(Organisation).any(user, "view"):
        return None
    request = SimpleNamespace(GET=QueryDict(query), user=user)
    qs, _filters = _case_filter(request, Case.objects.restrict(user, "view"))
    return qs.order_by().count(), reverse("grids:case_list") + "?" + query


@entry("cases_overdue", _("Cases overdue"), 30)
def overdue(user: Any) -> tuple[int, str] | None:
    return _cases(user, "status=overdue")


@entry("cases_due", _("Cases due within a day"), 31)
def due_soon(user: Any) -> tuple[int, str] | None:
    return _cases(user, "status=open&due=soon")


@entry("cases_open", _("Open cases"), 32)
def open_cases(user: Any) -> tuple[int, str] | None:
    return _cases(user, "status=open")
