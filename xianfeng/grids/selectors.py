"""Reads of cases that pages and the API share (the policy decides; these only say which rows and how)."""

from __future__ import annotations

from typing import Any

from django.db import models

from xianfeng.core.policy import get_or_404, require, visible

from .models import Case
from .policies import cases

CASE_RELATED = ("category", "org", "grid", "handling_unit", "handler", "merged_into", "transferred_to")


def visible_case(user: Any, pk: Any) -> Case:
    """One case `user` may read — staff of its village/community or handling unit, or its reporter — or NotFound
    (missing, out of scope, or not even a valid key)."""
    case = get_or_404(Case.objects.select_related(*CASE_RELATED), pk=pk)
    require(user, "view", case)
    return case


def cases_for_list(user: Any, action: str = "view") -> models.QuerySet:
    """The cases in `user`'s scope, spelt for a list read in index order (newest first, keyset): each row's two
    organisations checked by primary key, so the planner walks the index instead of gathering the scope and sorting.
    The same rows as `restrict(user, action)`, which is the better spelling for counts."""
    return cases().filter_per_row(Case.objects.all(), user, action)


def cases_in_scope(user: Any, action: str = "view") -> models.QuerySet:
    return visible(Case, user, action)
