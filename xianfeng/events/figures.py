"""Figures over organisation subtrees: lessons and attendances, teams, activities, participants, lesson attendance
rates per organisation and per member. Every figure is counted from per-person rows, in a few aggregate queries
whatever the number of organisations asked about.

The lesson attendance rate of an organisation O over a period:
    n = Σ over lessons L held in the period for "members of the subtree": the active members in both O's subtree
        and L's organiser's subtree (those L was for, who are O's)
    x = the attendances among those (member, lesson) pairs — so 0 ≤ x ≤ n always.
Members are taken as they are now (a member who transferred counts where he or she is now).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, F, QuerySet
from django.db.models.functions import Substr

from xianfeng.core.scoping import SEGMENT, subtree_q
from xianfeng.orgs.models import Member, Organisation

from .models import Activity, Attendance, Audience, Team, TeamMember


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


def _expected_attendances(start: dt.date | None, end: dt.date | None) -> QuerySet:
    """Lesson attendances of present members who were in the lesson's audience (the rate's numerator rows)."""
    return (Attendance.objects.filter(activity__in=_held_lessons(start, end), member__isnull=False)
            .exclude(member__status=Member.Status.LEFT)
            .filter(member__org__path__startswith=F("activity__org__path")))


def lesson_attendance(orgs: Iterable[Organisation], *, start: dt.date | None = None,
                      end: dt.date | None = None) -> dict[int, tuple[int, int]]:
    """{org id: (attendances, expected attendances)} of each organisation's members at lessons in the period."""
    orgs = list(orgs)
    lesson_paths = Counter(_held_lessons(start, end).values_list("org__path", flat=True))
    members = subtree_sums(_active_members_by_path())
    attended = subtree_sums(dict(Counter(_expected_attendances(start, end).values_list("member__org__path", flat=True))))
    result = {}
    for org in orgs:
        n = 0
        for path, lessons in lesson_paths.items():
            if org.path.startswith(path):
                n += lessons * members.get(org.path, 0)
            elif path.startswith(org.path):
                n += lessons * members.get(path, 0)
        if n:
            result[org.pk] = (min(attended.get(org.path, 0), n), n)
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
    """The figures of each organisation's subtree over the period (activities by start date)."""
    orgs = list(orgs)
    lessons = _held_lessons(start, end)
    team_acts = Activity.objects.live().filter(team__isnull=False).between(start, end)
    counts = {
        "lessons": count_by_prefix(lessons, "org__path", orgs),
        "lesson_attendances": count_by_prefix(Attendance.objects.filter(activity__in=lessons), "activity__org__path",
                                              orgs),
        "teams": count_by_prefix(Team.objects.active(), "org__path", orgs),
        "team_members": count_by_prefix(TeamMember.objects.filter(status=TeamMember.Status.ACTIVE, team__is_active=True),
                                        "team__org__path", orgs, distinct="person"),
        "team_activities": count_by_prefix(team_acts, "org__path", orgs),
        "participants": count_by_prefix(Attendance.objects.filter(activity__in=team_acts), "activity__org__path", orgs,
                                        distinct="person"),
    }
    approved = Attendance.objects.filter(hours_status=Attendance.Hours.APPROVED, activity__in=team_acts)
    minutes = _sum_by_prefix(approved, "activity__org__path", orgs, "minutes")
    rates = lesson_attendance(orgs, start=start, end=end)
    out = []
    for org in orgs:
        _x, n = rates.get(org.pk, (0, 0))
        figures = Figures(org=org, lesson_expected=n, hours=round(minutes.get(org.pk, 0) / 60, 1))
        for name, values in counts.items():
            setattr(figures, name, values[org.pk])
        figures.lesson_expected_attended = _x
        out.append(figures)
    return out


def _sum_by_prefix(qs: QuerySet, path_field: str, orgs: Sequence[Organisation], field: str) -> dict[int, int]:
    from django.db.models import Sum

    result = {org.pk: 0 for org in orgs}
    paths = {org.path: org.pk for org in orgs}
    rows = qs.order_by().values(path_field).annotate(s=Sum(field))
    by_path = {row[path_field]: row["s"] or 0 for row in rows}
    sums = subtree_sums(by_path)
    for path, pk in paths.items():
        result[pk] = sums.get(path, 0)
    return result


@dataclass
class MemberLessons:
    member_id: int
    name: str
    org_name: str
    expected: int
    attended: int

    @property
    def missed(self) -> int:
        return self.expected - self.attended

    @property
    def rate(self) -> float | None:
        return None if not self.expected else self.attended / self.expected


def member_lessons(org: Organisation, *, start: dt.date | None = None, end: dt.date | None = None
                   ) -> list[MemberLessons]:
    """Each active member of `org`'s subtree: lessons held for them in the period, attended, missed — most missed
    first. Three queries."""
    lesson_paths = Counter(_held_lessons(start, end).values_list("org__path", flat=True))
    attended = Counter(_expected_attendances(start, end).filter(subtree_q("member__org__path", org.path))
                       .values_list("member_id", flat=True))
    rows = []
    for mid, name, org_path, org_name in (Member.objects.active().filter(subtree_q("org__path", org.path))
                                          .values_list("id", "person__name", "org__path", "org__name")):
        expected = sum(lesson_paths.get(p, 0) for p in _ancestors(org_path))
        rows.append(MemberLessons(mid, name, org_name, expected, min(attended.get(mid, 0), expected)))
    rows.sort(key=lambda r: (-r.missed, r.name, r.member_id))
    return rows
