"""Figures over organisation subtrees: lessons and attendances, teams, activities, participants, lesson attendance
rates per organisation and per member. Every figure is counted from per-person rows, in a few aggregate queries
whatever the number of organisations asked about.

The lesson attendance rate of an organisation O over a period:
    n = Σ over lessons L held in the period for "members of the subtree": the active members in both O's subtree
        and L's organiser's subtree (those L was for, who are O's)
    x = the attendances among those (member, lesson) pairs — so 0 ≤ x ≤ n always.
Members are taken as they are now (a member who transferred counts where he or she is now); an attendance counts
in x if the member was in the lesson's audience when checking in (Attendance.member_expected).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Least, Substr

from xianfeng.core.scoping import SEGMENT, subtree_q
from xianfeng.orgs.models import Member, Organisation

from .models import Activity, ActivityKind, Attendance, Audience, Team, TeamMember


def _ancestors(path: str) -> list[str]:
    return [path[:i] for i in range(SEGMENT, len(path) + 1, SEGMENT)]


def subtree_sums(counts_by_path: dict[str, int]) -> dict[str, int]:
    """{path: count at that organisation} → {path: count over its whole subtree} (for every ancestor too)."""
    sums: Counter = Counter()
    for path, n in counts_by_path.items():
        for prefix in _ancestors(path):
            sums[prefix] += n
    return sums


def count_by_prefix(qs: QuerySet, path_field: str, orgs: Sequence[Organisation], distinct: str | None = None
                    ) -> dict[int, int]:
    """{org id: rows of `qs` whose `path_field` lies in the org's subtree} — one grouped query per path length.
    With `distinct`, counts distinct values of that field instead of rows."""
    result = {org.pk: 0 for org in orgs}
    by_length: dict[int, dict[str, int]] = defaultdict(dict)
    for org in orgs:
        by_length[len(org.path)][org.path] = org.pk
    for length, ids in by_length.items():
        common = os.path.commonprefix(list(ids))
        common = common[: len(common) // SEGMENT * SEGMENT]
        sub = qs.order_by()
        if common:
            sub = sub.filter(subtree_q(path_field, common))
        sub = sub.annotate(_prefix=Substr(path_field, 1, length))
        if len(ids) <= 200:
            sub = sub.filter(_prefix__in=list(ids))
        counter = Count(distinct, distinct=True) if distinct else Count("pk")
        for row in sub.values("_prefix").annotate(n=counter):
            if row["_prefix"] in ids:
                result[ids[row["_prefix"]]] = row["n"]
    return result


def _held_lessons(start: dt.date | None, end: dt.date | None) -> QuerySet:
    return Activity.objects.live().lessons().filter(audience=Audience.SUBTREE).between(start, end)


def _active_members_by_path() -> dict[str, int]:
    rows = Member.objects.active().order_by().values("org__path").annotate(n=Count("id"))
    return {row["org__path"]: row["n"] for row in rows}


def _held_q(start: dt.date | None, end: dt.date | None, prefix: str = "activity__") -> Q:
    """_held_lessons as conditions on a related activity (a join, where `activity__in=<subquery>` inside a
    correlated subquery would be evaluated again for every outer row)."""
    q = Q(**{f"{prefix}kind": ActivityKind.LESSON, f"{prefix}audience": Audience.SUBTREE}) & ~Q(
        **{f"{prefix}status": Activity.Status.CANCELLED})
    if start is not None:
        q &= Q(**{f"{prefix}starts_at__date__gte": start})
    if end is not None:
        q &= Q(**{f"{prefix}starts_at__date__lte": end})
    return q


def _expected_attendances(start: dt.date | None, end: dt.date | None) -> QuerySet:
    """Lesson attendances by members who were in the lesson's audience when they checked in (the rate's numerator
    rows; `member_expected` is set by attendance_check_in, so no path comparison per row here)."""
    return Attendance.objects.filter(_held_q(start, end), member_expected=True)


def lesson_attendance(orgs: Iterable[Organisation], *, start: dt.date | None = None, end: dt.date | None = None,
                      lesson_paths: Counter | None = None, expected_at: Counter | None = None
                      ) -> dict[int, tuple[int, int]]:
    """{org id: (attendances, expected attendances)} of each organisation's members at lessons in the period.

    A few grouped queries however many organisations: lessons and their numerator rows per organiser (which the
    caller may pass: `lesson_paths`, `expected_at`), active members per organisation, and — only for lessons held
    strictly above an organisation asked about — their numerator rows per member organisation."""
    orgs = list(orgs)
    held = _held_lessons(start, end)
    if lesson_paths is None or expected_at is None:
        lesson_paths = Counter(held.values_list("org__path", flat=True))
        expected_at = Counter({row["activity__org__path"]: row["n"] for row in
                               _expected_attendances(start, end).order_by().values("activity__org__path")
                               .annotate(n=Count("id"))})
    members = subtree_sums(_active_members_by_path())
    # x(O) = attendances at lessons held in O's subtree (their expected attendees are O's members) + those of O's
    # members at lessons held above O
    within = subtree_sums(expected_at)
    strict_ancestors = {prefix for org in orgs for prefix in _ancestors(org.path)[:-1]}
    above_paths = [path for path in lesson_paths if path in strict_ancestors]
    above_rows = list(_expected_attendances(start, end).filter(activity__org__path__in=above_paths).order_by()
                      .values_list("activity__org__path", "member__org__path").annotate(n=Count("id"))
                      ) if above_paths else []
    # n(O) = members(O) × lessons held at O or above  +  Σ over organisations P below O: members(P) × lessons at P
    weighted = {path: lessons * members.get(path, 0) for path, lessons in lesson_paths.items()}
    below = subtree_sums(weighted)
    result = {}
    for org in orgs:
        above = sum(lesson_paths.get(prefix, 0) for prefix in _ancestors(org.path))
        n = members.get(org.path, 0) * above + below.get(org.path, 0) - weighted.get(org.path, 0)
        if n:
            x = within.get(org.path, 0) + sum(k for lesson_path, member_path, k in above_rows
                                              if len(lesson_path) < len(org.path) and org.path.startswith(lesson_path)
                                              and member_path.startswith(org.path))
            result[org.pk] = (min(x, n), n)
    return result


@dataclass
class Figures:
    org: Organisation
    lessons: int = 0
    lesson_attendances: int = 0
    lesson_expected: int = 0
    teams: int = 0
    team_members: int = 0
    team_activities: int = 0
    participants: int = 0
    hours: float = 0.0
    lesson_expected_attended: int = 0  # the rate's numerator: attendances by members the lessons were for

    @property
    def lesson_rate(self) -> float | None:
        return None if not self.lesson_expected else self.lesson_expected_attended / self.lesson_expected


def figures_for(orgs: Sequence[Organisation], *, start: dt.date | None = None, end: dt.date | None = None
                ) -> list[Figures]:
    """The figures of each organisation's subtree over the period (activities by start date).

    A fixed handful of grouped queries whatever the number of organisations: the period's activities (one row
    each, a few hundred a year for a county), attendance counts, lesson numerators and approved minutes per
    activity, active members and teams per organisation — summed over the subtrees asked about here —
    and the distinct-person counts (team members, participants), which cannot be summed, grouped in SQL by the
    path prefix of each length asked about."""
    orgs = list(orgs)
    live = Activity.objects.live().between(start, end)
    activities = list(live.order_by().values_list("id", "kind", "audience", "team_id", "org__path"))
    per_activity = {row["activity_id"]: row for row in (
        Attendance.objects.filter(activity__in=live).order_by().values("activity_id")
        .annotate(n=Count("id"), expected=Count("id", filter=Q(member_expected=True)),
                  approved=Sum("minutes", filter=Q(hours_status=Attendance.Hours.APPROVED))))}
    wanted = {org.path for org in orgs}
    sums: dict[str, Counter] = defaultdict(Counter)
    lesson_paths: Counter = Counter()
    expected_at: Counter = Counter()
    for pk, kind, audience, team_id, path in activities:
        agg = per_activity.get(pk, {})
        counter: Counter[str] = Counter()
        if kind == ActivityKind.LESSON and audience == Audience.SUBTREE:
            counter.update(lessons=1, lesson_attendances=agg.get("n", 0))
            lesson_paths[path] += 1
            expected_at[path] += agg.get("expected", 0)
        if team_id is not None:
            counter.update(team_activities=1, minutes=agg.get("approved") or 0)
        if counter:
            for prefix in _ancestors(path):
                if prefix in wanted:
                    sums[prefix].update(counter)
    teams = subtree_sums({row["org__path"]: row["n"] for row in
                          Team.objects.active().order_by().values("org__path").annotate(n=Count("id"))})
    team_acts = live.filter(team__isnull=False)
    team_members = count_by_prefix(TeamMember.objects.filter(status=TeamMember.Status.ACTIVE, team__is_active=True),
                                   "team__org__path", orgs, distinct="person")
    participants = count_by_prefix(Attendance.objects.filter(activity__in=team_acts), "activity__org__path", orgs,
                                   distinct="person")
    rates = lesson_attendance(orgs, start=start, end=end, lesson_paths=lesson_paths, expected_at=expected_at)
    out = []
    for org in orgs:
        total = sums.get(org.path, Counter())
        x, n = rates.get(org.pk, (0, 0))
        out.append(Figures(org=org, lessons=total["lessons"], lesson_attendances=total["lesson_attendances"],
                           lesson_expected=n, lesson_expected_attended=x, teams=teams.get(org.path, 0),
                           team_members=team_members[org.pk], team_activities=total["team_activities"],
                           participants=participants[org.pk], hours=round(total["minutes"] / 60, 1)))
    return out


def member_lessons(org: Organisation, *, start: dt.date | None = None, end: dt.date | None = None,
                   only_missed: bool = False) -> QuerySet:
    """Each active member of `org`'s subtree, annotated with `expected` (lessons held for them in the period),
    `attended` (of those) and `missed` — most missed first, ordered and paged by the database.

    `expected` depends only on the member's organisation (lessons at it and above), so it is a CASE over the few
    distinct values; `attended` is a correlated count on the (member, activity) index."""
    lesson_paths = Counter(_held_lessons(start, end).values_list("org__path", flat=True))
    by_value: dict[int, list[int]] = defaultdict(list)
    for oid, path in Organisation.objects.filter(subtree_q("path", org.path)).values_list("id", "path"):
        n = sum(lesson_paths.get(prefix, 0) for prefix in _ancestors(path))
        if n:
            by_value[n].append(oid)
    expected = Case(*(When(org_id__in=ids, then=Value(n)) for n, ids in sorted(by_value.items())),
                    default=Value(0), output_field=IntegerField()) if by_value else Value(0, IntegerField())
    attended = (_expected_attendances(start, end).filter(member_id=OuterRef("pk")).order_by()
                .values("member_id").annotate(c=Count("id")).values("c"))
    qs = (Member.objects.active().filter(subtree_q("org__path", org.path)).select_related("person", "org")
          .annotate(expected=expected, attended_all=Coalesce(Subquery(attended, output_field=IntegerField()), 0))
          .annotate(attended=Least(F("attended_all"), F("expected")))
          .annotate(missed=F("expected") - F("attended")))
    if only_missed:
        qs = qs.filter(missed__gt=0)
    return qs.order_by("-missed", "person__name", "id")
