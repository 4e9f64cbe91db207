from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from xianfeng.core.models import AppendOnlyModel
from xianfeng.core.scoping import ScopedQuerySet
from xianfeng.orgs.models import Organisation

from .draw import DEFAULT_QUOTAS, STRATUM_LABELS


def default_quotas() -> dict:
    return dict(DEFAULT_QUOTAS)


AGENDA = [
    ("hear_report", "听取工作汇报"),
    ("review_records", "查阅台账资料"),
    ("spot_checks", "实地抽查"),
    ("seminars", "召开座谈会"),
    ("random_inspections", "随机检查"),
    ("door_to_door", "入户调查"),
    ("street_interviews", "街头随访"),
]


def default_agenda() -> list:
    return [key for key, _ in AGENDA]


class Inspection(models.Model):
    """An inspection group's visit to a subtree (现场点评 / 督查): its plan, fieldwork, figures and report."""

    scope_org_fields = ("org",)

    class Status(models.TextChoices):
        PLANNING = "planning", "计划中"
        FIELDWORK = "fieldwork", "现场点评中"
        REPORTING = "reporting", "撰写报告"
        CLOSED = "closed", "已完成"

    class SatisfactionMode(models.TextChoices):
        SHARE = "share", "满意+基本满意占比"
        WEIGHTED = "weighted", "加权得分"

    class IntervalMethod(models.TextChoices):
        WILSON = "wilson", "Wilson"
        CLOPPER_PEARSON = "clopper_pearson", "Clopper–Pearson（精确）"

    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="inspections",
                            verbose_name="被检查单位")
    name = models.CharField("名称", max_length=200)
    group_name = models.CharField("点评组", max_length=100)
    authority = models.CharField("部署机关", max_length=100, blank=True, default="省委创先争优活动领导小组")
    campaign = models.CharField("活动名称", max_length=100, default="创先争优活动")
    reported_by = models.CharField("听取汇报单位", max_length=100, blank=True)
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.PLANNING)
    agenda = models.JSONField("议程", default=default_agenda)
    quotas = models.JSONField("随机检查数", default=default_quotas)
    exclude_months = models.PositiveSmallIntegerField("排除近几个月检查过的单位", default=0)
    questionnaires_issued = models.PositiveIntegerField("发放问卷数", default=0)
    satisfaction_mode = models.CharField("满意度口径", max_length=20, choices=SatisfactionMode.choices,
                                         default=SatisfactionMode.SHARE)
    interval_method = models.CharField("置信区间方法", max_length=20, choices=IntervalMethod.choices,
                                       default=IntervalMethod.WILSON)
    strata_population = models.JSONField("分层总体规模", default=dict, blank=True,
                                         help_text="{层: 总体人数}，各层抽样比例不同时用于加权")
    report_sections = models.JSONField("报告正文（已编辑）", default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-start", "-id"]
        verbose_name = "现场点评"
        verbose_name_plural = "现场点评"
        constraints = [models.CheckConstraint(condition=Q(end__gte=F("start")), name="inspection_end_after_start")]

    def __str__(self) -> str:
        return self.name


class InspectionMember(models.Model):
    """A person in the inspection group: the leader or a member (the inspector pool the draw assigns from)."""

    scope_org_fields = ("inspection__org",)

    class Role(models.TextChoices):
        LEADER = "leader", "组长"
        MEMBER = "member", "成员"

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="group")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inspection_groups")
    role = models.CharField("分工", max_length=10, choices=Role.choices, default=Role.MEMBER)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["role", "id"]
        constraints = [models.UniqueConstraint(fields=["inspection", "user"], name="inspection_member_unique")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class SpotCheck(models.Model):
    """A unit the group chose to check on site (实地抽查), as opposed to one drawn at random."""

    scope_org_fields = ("inspection__org",)

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="spot_checks")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="单位")
    date = models.DateField("日期")
    notes = models.TextField("情况", blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]
        constraints = [models.UniqueConstraint(fields=["inspection", "org"], name="spot_check_unique")]

    def __str__(self) -> str:
        return f"{self.org} {self.date}"


class Draw(models.Model):
    """The inspection's random draw (双随机、一公开): frozen frame, announced seed, published result and hashes."""

    scope_org_fields = ("inspection__org",)

    class Status(models.TextChoices):
        FROZEN = "frozen", "名录已冻结"
        PUBLISHED = "published", "已公布"

    inspection = models.OneToOneField(Inspection, on_delete=models.CASCADE, related_name="draw")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FROZEN)
    frame = models.JSONField(default=list)  # [[code, stratum], …] sorted by code
    frame_sha256 = models.CharField(max_length=64)
    quotas = models.JSONField(default=dict)
    excluded = models.JSONField(default=list)  # codes left out: inspected within exclude_months
    inspectors = models.JSONField(default=list)  # [[user id, [conflicting frame codes]], …]
    seed = models.CharField("随机种子", max_length=200, blank=True)
    seed_source = models.CharField("种子来源", max_length=200, blank=True)
    result = models.JSONField(default=dict)
    record = models.JSONField(default=dict)  # the published record: inputs, hashes, result
    result_sha256 = models.CharField(max_length=64, blank=True)
    frozen_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = ScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.inspection} · {self.get_status_display()}"


class DrawUnit(models.Model):
    """One unit the published draw selected, with its stratum, order and assigned inspector."""

    scope_org_fields = ("draw__inspection__org",)

    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="units")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    stratum = models.CharField(max_length=30)
    position = models.PositiveIntegerField()
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["stratum", "position"]
        constraints = [models.UniqueConstraint(fields=["draw", "org"], name="draw_unit_unique")]

    def __str__(self) -> str:
        return f"{self.stratum} #{self.position} {self.org}"

    @property
    def stratum_label(self) -> str:
        return STRATUM_LABELS.get(self.stratum, self.stratum)


class Questionnaire(models.Model):
    """A survey form (built in the UI or imported from an XLSForm) used in an inspection."""

    scope_org_fields = ("inspection__org",)

    class Source(models.TextChoices):
        UI = "ui", "在线编辑"
        XLSFORM = "xlsform", "XLSForm 导入"

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="questionnaires")
    title = models.CharField("标题", max_length=200)
    form = models.JSONField(default=dict)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UI)
    filename = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class RespondentType(models.TextChoices):
    MEMBER = "member", "党员"
    RESIDENT = "resident", "群众"


class Method(models.TextChoices):
    DOOR_TO_DOOR = "door_to_door", "入户调查"
    STREET = "street", "街头随访"
    SEMINAR = "seminar", "座谈会"


class Response(models.Model):
    """One filled questionnaire: who answered (type), how, in which unit and stratum, and the answers."""

    scope_org_fields = ("inspection__org",)

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="responses")
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="responses")
    unit = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name="单位")
    stratum = models.CharField("层", max_length=30, blank=True)
    respondent_type = models.CharField("对象", max_length=10, choices=RespondentType.choices)
    method = models.CharField("方式", max_length=20, choices=Method.choices)
    answers = models.JSONField(default=dict)
    client_key = models.CharField(max_length=64)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["questionnaire", "client_key"], name="response_key_unique")]
        indexes = [models.Index(fields=["inspection", "questionnaire"])]

    def __str__(self) -> str:
        return f"{self.questionnaire} #{self.pk}"


class Interview(models.Model):
    """A recorded conversation with one member or resident (door to door, in the street, at a seminar)."""

    scope_org_fields = ("inspection__org",)

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="interviews")
    unit = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name="单位")
    respondent_type = models.CharField("对象", max_length=10, choices=RespondentType.choices)
    method = models.CharField("方式", max_length=20, choices=Method.choices)
    who = models.CharField("受访者（可匿名描述）", max_length=100, blank=True)
    place = models.CharField("地点", max_length=200, blank=True)
    date = models.DateField("日期")
    notes = models.TextField("记录", blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.date}"


# Records (台账) to check, per unit type.
CHECKLISTS: dict[str, list[tuple[str, str]]] = {
    "default": [("plan", "活动方案或计划"), ("minutes", "会议记录"), ("pledges", "党员公开承诺台账"),
                ("fulfilment", "践诺记录"), ("lessons", "党课记录"), ("publicity", "宣传资料")],
    "village": [("plan", "活动方案或计划"), ("pledges", "党员公开承诺台账"), ("fulfilment", "践诺记录"),
                ("demands", "群众服务需求档案"), ("grids", "网格服务记录"), ("lessons", "党课记录")],
    "enterprise": [("plan", "活动方案或计划"), ("advisor", "党务红领工作记录"), ("pledges", "党员公开承诺台账"),
                   ("lessons", "党课记录")],
}
CHECKLISTS["community"] = CHECKLISTS["village"]


def checklist_for(kind: str) -> list[tuple[str, str]]:
    return CHECKLISTS.get(kind, CHECKLISTS["default"])


class RecordReview(models.Model):
    """A review of a unit's records (查阅台账): the checklist for its type, what was found, the evidence seen."""

    scope_org_fields = ("inspection__org",)

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="record_reviews")
    unit = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="单位")
    checklist = models.JSONField(default=dict)  # {item key: true/false}
    evidence = models.TextField("查阅的材料", blank=True)
    notes = models.TextField("意见", blank=True)
    date = models.DateField("日期")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.unit} {self.date}"


class Seminar(models.Model):
    """A members' and residents' seminar (党员群众座谈会) held by the group, with its attendance."""

    scope_org_fields = ("inspection__org",)

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="seminars")
    title = models.CharField("主题", max_length=200)
    unit = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name="地点单位")
    date = models.DateField("日期")
    members = models.PositiveIntegerField("党员人数", default=0)
    residents = models.PositiveIntegerField("群众人数", default=0)
    attendance = models.TextField("参会人员", blank=True)
    notes = models.TextField("座谈记录", blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return self.title


class Finding(models.Model):
    """A problem the inspection names (drafted from the data, then edited, accepted or dropped by the inspector)."""

    scope_org_fields = ("inspection__org",)

    class Kind(models.TextChoices):
        UNEVEN_PROGRESS = "uneven_progress", "进展不够平衡"
        FORMULAIC_PLEDGES = "formulaic_pledges", "公开承诺程式化"
        AWARENESS_GAP = "awareness_gap", "知晓率与认同感不一致"
        OPEN_RECTIFICATIONS = "open_rectifications", "整改未落实事项"
        OTHER = "other", "其他"

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        ACCEPTED = "accepted", "采纳"
        DROPPED = "dropped", "舍弃"

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField("类别", max_length=30, choices=Kind.choices)
    title = models.CharField("问题", max_length=200)
    text = models.TextField("说明")
    recommendation = models.TextField("建议", blank=True)
    evidence = models.JSONField(default=list, blank=True)  # [{"label": …, "url": …}]
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    position = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class RectificationQuerySet(ScopedQuerySet):
    def open(self):
        return self.exclude(status=Rectification.Status.CLOSED)

    def overdue(self, today):
        return self.open().filter(deadline__lt=today)


class Rectification(models.Model):
    """A task on the rectification list (整改清单): an organisation must act on a finding by a deadline."""

    scope_org_fields = ("org",)

    class Status(models.TextChoices):
        OPEN = "open", "整改中"
        REPORTED = "reported", "已报告待核查"
        CLOSED = "closed", "已销号"

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="rectifications")
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="rectifications")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="rectifications",
                            verbose_name="责任单位")
    task = models.TextField("整改任务")
    deadline = models.DateField("整改时限")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    report = models.TextField("整改情况", blank=True)
    evidence = models.TextField("佐证材料", blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RectificationQuerySet.as_manager()

    class Meta:
        ordering = ["deadline", "id"]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.org} · {self.task[:30]}"


class RectificationEvent(AppendOnlyModel):
    """One step in a rectification task's history: created, reported, returned, closed, escalated."""

    class Action(models.TextChoices):
        CREATED = "created", "下达"
        REPORTED = "reported", "报告整改情况"
        RETURNED = "returned", "退回"
        CLOSED = "closed", "核查销号"
        ESCALATED = "escalated", "逾期督办"

    rectification = models.ForeignKey(Rectification, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
