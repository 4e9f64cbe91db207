"""Who may see and do what on the supervision side (xianfeng.core.policy).

An inspection's records (the inspection itself, its group, draw, questionnaires and responses, interviews, record
reviews, seminars, findings, spot checks) are the inspectors': seeing one needs the `inspect` action at the
inspected organisation or above, like every change to them. A rectification task is shared: the inspectors verify
it, and the staff of the organisation that must act on it (`change` there) report on it; both may see it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, in_org_scope, register
from xianfeng.core.scoping import scope_paths, scope_q

from .models import (
    Draw,
    DrawUnit,
    Finding,
    Inspection,
    InspectionMember,
    Interview,
    Questionnaire,
    RecordReview,
    Rectification,
    Response,
    Seminar,
    SpotCheck,
)


class InspectorsPolicy(OrgPolicy):
    """The inspection's records: reading them is inspecting (`view` means `inspect`)."""

    def scope(self, user: Any, action: str) -> Q | None:
        return super().scope(user, "inspect" if action == "view" else action)

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        return in_org_scope(user, "inspect" if action == "view" else action, self.orgs_of(obj))


@register(Inspection)
class InspectionPolicy(InspectorsPolicy):
    detail_page = "inspections:detail"
    detail_api = "/api/v1/inspections/{pk}/"


@register(Response)
class ResponsePolicy(InspectorsPolicy):
    detail_api = "/api/v1/inspection-responses/{pk}/"


for _model in (Questionnaire, Draw, DrawUnit, Finding, InspectionMember, Interview, RecordReview, Seminar, SpotCheck):
    register(_model)(type(f"{_model.__name__}Policy", (InspectorsPolicy,), {}))


def _paths_q(user: Any, action: str, field: str) -> Q | None:
    paths = scope_paths(user, action)
    if paths is None:
        return None
    return scope_q([field], paths) if paths else NOTHING


@register(Rectification)
class RectificationPolicy(OrgPolicy):
    """`verify`: the inspectors of the task's inspection; `report`: the staff of the organisation that must act;
    `view`: either. Other actions are the organisation's (`my_rectifications` lists `change`)."""

    detail_page = "inspections:rectification_detail"
    actions = OrgPolicy.actions | {"verify", "report"}

    def scope(self, user: Any, action: str) -> Q | None:
        if action == "verify":
            return _paths_q(user, "inspect", "inspection__org__path")
        if action == "report":
            return _paths_q(user, "change", "org__path")
        if action != "view":
            return super().scope(user, action)
        inspects = _paths_q(user, "inspect", "inspection__org__path")
        answers = _paths_q(user, "change", "org__path")
        if inspects is None or answers is None:
            return None
        if inspects == NOTHING:
            return answers
        if answers == NOTHING:
            return inspects
        return inspects | answers

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action not in ("verify", "report", "view"):
            return in_org_scope(user, action, [obj.org])
        inspects = action != "report" and in_org_scope(user, "inspect", [obj.inspection.org])
        answers = action != "verify" and in_org_scope(user, "change", [obj.org])
        return inspects or answers
