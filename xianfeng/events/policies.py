"""Who may see and do what with volunteer teams, activities, attendance and certificates.

    Activity    view: staff in scope, anyone for a public activity, a member for an activity of an organisation at
                or above the member's own (audience "subtree"), a team's active people for the team's activities;
                every other action: the organisation tree (`change` over the organiser).
    Team        view: staff in scope, the team's own people, every open team for anyone signed in;
                `manage` (edit, invite, decide requests): staff with `change` over the sponsor, or the team's leader;
                `roster` (who is in it): its managers and staff with `view` over the sponsor;
                every other action: the organisation tree (stopping a team is `change`).
    TeamMember  `decide` a request (the team's managers), `answer` an invitation (the invitee), `leave` (the person,
                or the team's managers); whether the membership is in the state for it is the service's question.
    Registration `cancel`: the person signed up, or the organiser (`change` over the activity's organisation).
    Attendance  `check_out`: the attendee's own row, or any row the organiser may change.
    Certificate `download`: the person it is for, or staff with `view` over the issuing organisation.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, in_org_scope, register
from xianfeng.orgs.models import Member

from .models import Activity, Attendance, Audience, Certificate, Registration, Team, TeamMember


def _any(parts: list[Q]) -> Q:
    return functools.reduce(operator.or_, parts) if parts else NOTHING


def _person_id(user: Any) -> int | None:
    return getattr(user, "person_id", None)


class _ViewOwnPolicy(OrgPolicy):
    """An organisation-tree policy whose `view` reaches further than the tree: other actions need no query."""

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "view":
            return super().allows(user, action, obj)
        return in_org_scope(user, action, self.orgs_of(obj))


@register(Activity)
class ActivityPolicy(_ViewOwnPolicy):
    detail_page = "events:activity_detail"
    detail_api = "/api/v1/events/activities/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        staff = super().scope(user, action)
        if action != "view" or staff is None:
            return staff
        parts = [Q(audience=Audience.PUBLIC)]
        if staff != NOTHING:
            parts.append(staff)
        person_id = _person_id(user)
        if person_id:
            member = Member.objects.filter(person_id=person_id).select_related("org").first()
            if member is not None and member.status != Member.Status.LEFT:
                ancestors = [member.org.path[:i] for i in range(4, len(member.org.path) + 1, 4)]
                parts.append(Q(audience=Audience.SUBTREE, org__path__in=ancestors))
            team_ids = TeamMember.objects.filter(person_id=person_id, status=TeamMember.Status.ACTIVE).values("team_id")
            parts.append(Q(team_id__in=team_ids))
        return _any(parts)


@register(Team)
class TeamPolicy(_ViewOwnPolicy):
    detail_page = "events:team_detail"
    detail_api = "/api/v1/events/teams/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        if action == "manage":
            staff = super().scope(user, "change")
            if staff is None:
                return None
            parts = [] if staff == NOTHING else [staff]
            if _person_id(user):
                parts.append(Q(leader_id=_person_id(user)))
            return _any(parts)
        staff = super().scope(user, action)
        if action != "view" or staff is None:
            return staff
        parts = [Q(is_active=True, open_to_requests=True)]
        person_id = _person_id(user)
        if person_id:
            parts.append(Q(pk__in=TeamMember.objects.filter(person_id=person_id).values("team_id")))
        if staff != NOTHING:
            parts.append(staff)
        return _any(parts)

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "manage":
            return in_org_scope(user, "change", [obj.org]) or (
                obj.leader_id is not None and obj.leader_id == _person_id(user))
        if action == "roster":  # who is in the team: its managers and staff with `view` over the sponsor
            return self.allows(user, "manage", obj) or in_org_scope(user, "view", [obj.org])
        return super().allows(user, action, obj)


@register(TeamMember)
class TeamMemberPolicy(OrgPolicy):
    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "decide":
            return TeamPolicy.allows(_TEAMS, user, "manage", obj.team)
        if action == "answer":
            return obj.person_id == _person_id(user)
        if action == "leave":
            return obj.person_id == _person_id(user) or TeamPolicy.allows(_TEAMS, user, "manage", obj.team)
        return super().allows(user, action, obj)


_TEAMS = TeamPolicy(Team)


@register(Attendance)
class AttendancePolicy(OrgPolicy):
    detail_api = "/api/v1/events/attendance/{pk}/"

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "check_out":
            return obj.person_id == _person_id(user) or in_org_scope(user, "change", [obj.activity.org])
        return super().allows(user, action, obj)


@register(Registration)
class RegistrationPolicy(OrgPolicy):
    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "cancel":  # the person signed up, or the organiser
            return obj.person_id == _person_id(user) or in_org_scope(user, "change", [obj.activity.org])
        return super().allows(user, action, obj)


@register(Certificate)
class CertificatePolicy(OrgPolicy):
    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "download":
            return obj.person_id == _person_id(user) or in_org_scope(user, "view", [obj.org])
        return super().allows(user, action, obj)
