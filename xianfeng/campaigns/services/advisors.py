"""Enterprise advisors (红领): batches, placements, monthly logs and the yearly 双强 evaluation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.ids import normalise_text
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Organisation, OrgKind, Person

from ..models import (
    PARTY_CHECKLIST,
    Advisor,
    AdvisorBatch,
    AdvisorLog,
    DualBrandEvaluation,
)
from .common import _in_subtree, _require

DEVELOPMENT_GROWTH_MIN = Decimal("8.0")  # 发展强: output grew at least this much (%) and the enterprise paid tax

PARTY_CHECKLIST_MIN = 5  # 党建强: at least this many of the checklist's items met


@transaction.atomic
def advisor_batch_create(*, org: Organisation, name: str, start: dt.date, end: dt.date, actor: Any) -> AdvisorBatch:
    """A batch of advisors placed by `org` (the actor administers it), with their common term."""
    _require(actor, "admin", org)
    if end <= start:
        raise ValidationError({"end": ["任期结束须晚于开始"]})
    batch = AdvisorBatch(org=org, name=clean_text(name, "name", 100), start=start, end=end)
    batch.full_clean()
    batch.save()
    audit_record(by=actor, action="create", obj=batch, summary=f"红领批次 {batch.name}")
    return batch


@transaction.atomic
def advisor_place(*, batch: AdvisorBatch, person: Person, enterprise: Organisation, former_post: str = "",
                  actor: Any) -> Advisor:
    """Place `person` in `enterprise` (a non-public enterprise in the batch's subtree) for the batch's term.

    The actor administers the batch and the enterprise, and may change the person: a person whose organisation is
    outside the actor's scope is refused (PersonOutOfScope, on the ID number) before anything is written."""
    from xianfeng.orgs.services import PersonOutOfScope, person_holder

    from ..policies import may_place_person

    _require(actor, "admin", batch)
    _require(actor, "admin", enterprise)
    if not may_place_person(actor, person):
        holder, is_member = person_holder(person)
        raise PersonOutOfScope(person, holder, is_member=is_member)
    if enterprise.kind != OrgKind.ENTERPRISE or not _in_subtree(enterprise, batch.org):
        raise ValidationError({"enterprise": ["红领只能选派到本范围内的非公企业"]})
    if Advisor.objects.filter(batch=batch, enterprise=enterprise).exists():
        raise ValidationError({"enterprise": ["该企业本批次已有红领"]})
    advisor = Advisor(batch=batch, person=person, enterprise=enterprise, former_post=normalise_text(former_post)[:100])
    advisor.full_clean()
    advisor.save()
    audit_record(by=actor, action="create", obj=advisor, summary=f"选派红领 {person.name} → {enterprise.name}")
    return advisor


@transaction.atomic
def advisor_log_record(*, advisor: Advisor, month: dt.date, text: str, hours: int = 0, actor: Any) -> AdvisorLog:
    """The advisor's log for a month inside the term and not in the future; one per month (the actor may change the
    advisor's enterprise)."""
    _require(actor, "change", advisor)
    month = month.replace(day=1)
    batch = advisor.batch
    if month < batch.start.replace(day=1) or month > batch.end or month > timezone.localdate():
        raise ValidationError({"month": ["月份不在任期内或晚于本月"]})
    if AdvisorLog.objects.filter(advisor=advisor, month=month).exists():
        raise ValidationError({"month": ["该月已有工作记录"]})
    log = AdvisorLog(advisor=advisor, month=month, text=clean_text(text, "text", 4000, multiline=True), hours=hours)
    log.full_clean()
    log.save()
    audit_record(by=actor, action="create", obj=log, summary=f"红领工作记录 {advisor.person.name} {month:%Y-%m}")
    return log


def dual_brand_verdict(*, output_growth_pct: Decimal, tax_wan: Decimal, checklist: dict[str, bool]) -> tuple[bool, bool]:
    development = Decimal(output_growth_pct) >= DEVELOPMENT_GROWTH_MIN and Decimal(tax_wan) > 0
    party = sum(1 for code, _ in PARTY_CHECKLIST if checklist.get(code)) >= PARTY_CHECKLIST_MIN
    return development, party


@transaction.atomic
def dual_brand_evaluate(*, enterprise: Organisation, year: int, output_wan: Decimal, output_growth_pct: Decimal,
                        tax_wan: Decimal, employees: int, checklist: dict[str, bool],
                        actor: Any) -> DualBrandEvaluation:
    """The yearly 双强 evaluation: 发展强 and 党建强 decided by the rules above, from the figures and the checklist.

    A checklist with no item met is a valid evaluation (not 党建强); every item is stored as met or not. A year after
    the current one is refused. The actor administers the enterprise."""
    _require(actor, "admin", enterprise)
    unknown = set(checklist) - {code for code, _ in PARTY_CHECKLIST}
    if unknown:
        raise ValidationError({"checklist": [f"未知的清单项：{', '.join(sorted(unknown))}"]})
    if enterprise.kind != OrgKind.ENTERPRISE:
        raise ValidationError({"enterprise": ["只评价非公企业"]})
    this_year = timezone.localdate().year
    if not isinstance(year, int) or isinstance(year, bool) or year > this_year:
        raise ValidationError({"year": [f"不能考评未来的年度：今年是{this_year}年，年度须不晚于{this_year}"]})
    development, party = dual_brand_verdict(output_growth_pct=output_growth_pct, tax_wan=tax_wan, checklist=checklist)
    row = DualBrandEvaluation(enterprise=enterprise, year=year, output_wan=output_wan,
                              output_growth_pct=output_growth_pct, tax_wan=tax_wan, employees=employees,
                              checklist={code: bool(checklist.get(code)) for code, _ in PARTY_CHECKLIST},
                              development_strong=development, party_strong=party)
    row.full_clean()
    row.save()
    audit_record(by=actor, action="create", obj=row, summary=f"双强评价 {enterprise.name} {year}")
    return row
