"""Reads about people and organisations that other apps share (no app reaches into another's helpers for these)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Count
from django.db.models.functions import Substr

from xianfeng.core.scoping import SEGMENT, scope_paths, subtree_q

from .models import PARTY_KINDS, LinkRequest, Member, Organisation


def member_of(user: Any) -> Member | None:
    """The Member behind a signed-in user, if any (cached on the user object)."""
    if not getattr(user, "is_authenticated", False) or not user.person_id:
        return None
    cache = user.__dict__.setdefault("_demands_member", {})
    if "m" not in cache:
        cache["m"] = Member.objects.select_related("org", "managing_org", "person").filter(
            person_id=user.person_id).exclude(status=Member.Status.LEFT).first()
    return cache["m"]


def community_of(org: Organisation) -> Organisation:
    """The nearest unit (village, community, …) at or above `org`: a branch's community."""
    if org.kind not in PARTY_KINDS:
        return org
    prefixes = [org.path[:i] for i in range(4, len(org.path), 4)]
    unit = (Organisation.objects.filter(path__in=prefixes).exclude(kind__in=PARTY_KINDS).order_by("-depth").first())
    return unit or org


def scope_roots(user: Any, action: str = "view") -> models.QuerySet:
    """The organisations at the top of `user`'s scope for `action` (the tree page starts from them): the roots of
    the tree for a superuser, none for a user with no such role."""
    paths = scope_paths(user, action)
    visible = Organisation.objects.restrict(user, action)
    return visible.filter(depth=1) if paths is None else visible.filter(path__in=paths)


def link_requests(user: Any, action: str = "view") -> models.QuerySet:
    """Link requests `user` may do `action` on (LinkRequest policy), with what their pages show."""
    from xianfeng.core.policy import visible

    qs = LinkRequest.objects.select_related("person", "org", "holder", "requested_by", "decided_by")
    return visible(qs, user, action)


# -- who counts where (一联双管): one definition for the tree, the organisation's page and the roster ---------------

# Above this many organisations of one level the prefix filter is done in Python rather than as an SQL IN list.
IN_LIST_LIMIT = 200


@dataclass(frozen=True)
class MemberCounts:
    """Members of an organisation's subtree, not counting those transferred out:

    own   — whose organisation (组织关系) lies in the subtree (the roster's `org=` filter);
    dual  — dual-managed into it (一联双管): managed by an organisation in the subtree while their own organisation
            lies outside it (the roster's `dual=` filter);
    total — both (the roster's `within=` filter with `current=1`).
    """

    own: int
    dual: int

    @property
    def total(self) -> int:
        return self.own + self.dual


def member_counts(orgs: Iterable[Organisation]) -> dict[int, MemberCounts]:
    """MemberCounts for each organisation, by id: one aggregate per tree level for `own`, one read of the
    dual-managed members under the organisations asked about for `dual`."""
    orgs = list(orgs)
    own = subtree_member_counts(orgs)
    dual = {org.pk: 0 for org in orgs}
    if orgs:
        common = os.path.commonprefix([org.path for org in orgs])
        common = common[: len(common) // SEGMENT * SEGMENT]
        pairs = Member.objects.active().filter(managing_org__isnull=False).order_by()
        if common:
            pairs = pairs.filter(subtree_q("managing_org__path", common))
        for org_path, managing_path in pairs.values_list("org__path", "managing_org__path").iterator(chunk_size=5000):
            for org in orgs:
                if managing_path.startswith(org.path) and not org_path.startswith(org.path):
                    dual[org.pk] += 1
    return {org.pk: MemberCounts(own[org.pk], dual[org.pk]) for org in orgs}


def subtree_member_counts(orgs: Iterable[Organisation]) -> dict[int, int]:
    """Members (all but those transferred out) whose organisation lies in each org's subtree, by org id.

    One aggregate query per path length — that is, per tree level — however many organisations are asked about:
    members are taken from the path range that covers all of them and grouped by the prefix of their organisation's
    path that has the organisations' length.
    """
    counts: dict[int, int] = {}
    by_length: dict[int, dict[str, int]] = defaultdict(dict)
    for org in orgs:
        counts[org.pk] = 0
        by_length[len(org.path)][org.path] = org.pk
    for length, ids_by_path in by_length.items():
        common = os.path.commonprefix(list(ids_by_path))
        common = common[: len(common) // SEGMENT * SEGMENT]
        qs = Member.objects.active().order_by()
        if common:
            qs = qs.filter(subtree_q("org__path", common))
        qs = qs.annotate(prefix=Substr("org__path", 1, length))
        if len(ids_by_path) <= IN_LIST_LIMIT:
            qs = qs.filter(prefix__in=list(ids_by_path))
        for row in qs.values("prefix").annotate(n=Count("id")):
            org_id = ids_by_path.get(row["prefix"])
            if org_id is not None:
                counts[org_id] = row["n"]
    return counts
