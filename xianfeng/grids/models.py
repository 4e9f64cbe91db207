"""Grids, households, grid teams, visits, and residents' cases with deadlines, escalation and an event history."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q

from xianfeng.core.media import PrivateStorage
from xianfeng.core.models import AppendOnlyModel
from xianfeng.core.scoping import ScopedQuerySet
from xianfeng.orgs.models import Organisation, Person, Resident


class CasePhotoStorage(PrivateStorage):
    """Case photos, served only by the case_photo view to those who may see the case."""

    setting = "GRIDS_PHOTO_DIR"
    folder = "grids"


def case_photo_storage() -> CasePhotoStorage:
    return CasePhotoStorage()


class WorkCalendarDay(models.Model):
    """A day that breaks the Monday–Friday rule: a public holiday on a weekday, or a weekend made a working day (调休)."""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("上班", default=False)
    name = models.CharField("说明", max_length=50, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "节假日调整"
        verbose_name_plural = "节假日调整"

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '休息'} {self.name}"


class CaseCategory(models.Model):
    """One entry of the dispatch catalogue (派单目录): which unit handles it by default and in how long."""

    class Deadline(models.TextChoices):
        SAME_DAY = "same_day", "当日办结"
        HOURS = "hours", "小时"
        WORKING_DAYS = "working_days", "工作日"

    code = models.CharField("编码", max_length=20, unique=True)
    name = models.CharField("名称", max_length=60)
    group = models.CharField("大类", max_length=40, blank=True)
    description = models.CharField("说明", max_length=300, blank=True)
    keywords = models.CharField("关键词", max_length=200, blank=True)
    default_unit = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name="默认承办单位",
                                     help_text="空：由网格所在村（社区）承办")
    deadline_kind = models.CharField("时限类型", max_length=20, choices=Deadline.choices, default=Deadline.WORKING_DAYS)
    deadline_value = models.PositiveSmallIntegerField("时限", default=3)
    accept_hours = models.PositiveSmallIntegerField("签收时限（小时）", default=4)
    escalate_hours = models.PositiveSmallIntegerField("逐级上报间隔（小时）", default=24)
    duplicate_radius_m = models.PositiveIntegerField("重复判定距离（米）", default=200)
    place_private = models.BooleanField("公开时隐藏位置", default=False,
                                        help_text="如邻里纠纷：公开的诉求列表（Open311）不显示此类诉求的位置和街路")
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "事项类别"
        verbose_name_plural = "派单目录"
        constraints = [
            models.CheckConstraint(condition=~Q(code=""), name="case_category_code_not_empty"),
            models.CheckConstraint(condition=Q(deadline_kind="same_day") | Q(deadline_value__gte=1),
                                   name="case_category_deadline_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class GridQuerySet(ScopedQuerySet):
    pass


class Grid(models.Model):
    """An area of households in a village or community, served by one or more grid teams."""

    scope_org_fields = ("org",)

    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="grids", verbose_name="所属村社区")
    seq = models.PositiveSmallIntegerField("序号")
    code = models.CharField("网格编码", max_length=40, unique=True, help_text="所属村社区编码 + 序号")
    name = models.CharField("名称", max_length=60)
    is_default = models.BooleanField("默认网格", default=False, help_text="不在任何网格边界内的位置归入此网格")
    boundary = models.JSONField("边界（GeoJSON）", null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    min_lng = models.FloatField(null=True, blank=True, editable=False)
    max_lng = models.FloatField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = GridQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "网格"
        verbose_name_plural = "网格"
        constraints = [
            models.UniqueConstraint(fields=["org", "seq"], name="grid_seq_unique"),
            models.UniqueConstraint(fields=["org"], condition=Q(is_default=True), name="grid_one_default_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    """A household in a grid: its address, its people and the vulnerable situations the grid worker must know."""

    scope_org_fields = ("grid__org",)

    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="households", verbose_name="网格")
    number = models.CharField("户号", max_length=40)
    address = models.CharField("住址", max_length=200)
    head_name = models.CharField("户主", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    elderly_alone = models.BooleanField("独居老人", default=False)
    disabled = models.BooleanField("残疾人", default=False)
    hardship = models.BooleanField("困难家庭", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["grid", "number"]
        verbose_name = "户"
        verbose_name_plural = "户"
        constraints = [models.UniqueConstraint(fields=["grid", "number"], name="household_number_unique")]

    def __str__(self) -> str:
        return f"{self.number} {self.address}"

    @property
    def vulnerable(self) -> bool:
        return self.elderly_alone or self.disabled or self.hardship


class HouseholdMember(models.Model):
    """One person living in a household. Linked to a Resident (and so a Person with an ID number) only when one is
    registered; the grid register itself needs only a name."""

    scope_org_fields = ("household__grid__org",)

    class Relation(models.TextChoices):
        HEAD = "head", "户主"
        SPOUSE = "spouse", "配偶"
        CHILD = "child", "子女"
        PARENT = "parent", "父母"
        OTHER = "other", "其他"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="people")
    name = models.CharField("姓名", max_length=50)
    relation = models.CharField("与户主关系", max_length=10, choices=Relation.choices, default=Relation.OTHER)
    birth_year = models.PositiveSmallIntegerField("出生年份", null=True, blank=True)
    resident = models.OneToOneField(Resident, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="household_member")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "家庭成员"
        verbose_name_plural = "家庭成员"

    def __str__(self) -> str:
        return self.name


class GridTeam(models.Model):
    """A grid service team (组团): cadres who serve one or more grids."""

    scope_org_fields = ("org",)

    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="grid_teams", verbose_name="所属村社区")
    name = models.CharField("名称", max_length=80)
    grids = models.ManyToManyField(Grid, related_name="teams", verbose_name="服务网格")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["org", "name"]
        verbose_name = "网格服务团队"
        verbose_name_plural = "网格服务团队"

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    """A cadre's seat in a grid team; one person may sit in several teams (四区联动 pairs department cadres in)."""

    scope_org_fields = ("team__org",)

    class Role(models.TextChoices):
        LEADER = "leader", "组团长"
        GRID_WORKER = "grid_worker", "网格员"
        DEPARTMENT = "department", "部门联络干部"
        MEMBER = "member", "党员骨干"
        VOLUNTEER = "volunteer", "志愿者"

    team = models.ForeignKey(GridTeam, on_delete=models.CASCADE, related_name="seats")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="grid_seats")
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    department = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name="派出部门")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "组团成员"
        verbose_name_plural = "组团成员"
        constraints = [models.UniqueConstraint(fields=["team", "person"], name="team_member_unique")]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_role_display()}"


class Visit(models.Model):
    """A household visit by a grid worker: what was discussed, and the demand or case it gave rise to."""

    scope_org_fields = ("grid__org",)

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="visits")
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="visits")
    date = models.DateField("走访日期", db_index=True)
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    visitor_name = models.CharField("走访人", max_length=50)
    notes = models.TextField("走访内容")
    demand_id = models.BigIntegerField("转需求", null=True, blank=True)
    case = models.ForeignKey("Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = "走访"
        verbose_name_plural = "走访"
        indexes = [models.Index(fields=["grid", "date"]), models.Index(fields=["household", "date"])]

    def __str__(self) -> str:
        return f"{self.household} {self.date}"


class Status(models.TextChoices):
    OPENED = "opened", "已立案"
    DISPATCHED = "dispatched", "已派遣"
    ACCEPTED = "accepted", "已签收"
    HANDLING = "handling", "处置中"
    REPORTED = "reported", "已反馈"
    VERIFIED = "verified", "已核查"
    CLOSED = "closed", "已结案"
    RETURNED = "returned", "退回待重派"
    SUSPENDED = "suspended", "缓办"
    MERGED = "merged", "已合并"
    REOPENED = "reopened", "已重开"


CLOSED_STATES = frozenset({Status.CLOSED, Status.MERGED})
# The same states as a sorted tuple: queries must spell `status NOT IN (...)` identically every time, so that the
# partial index on open cases (whose condition is written the same way) matches on SQLite.
CLOSED_LIST = ("closed", "merged")
UNACCEPTED_STATES = frozenset({Status.OPENED, Status.DISPATCHED, Status.RETURNED, Status.REOPENED})
# States whose clock runs (reminders and escalation apply); a suspended case has its clock stopped.
CLOCK_STATES = frozenset(set(Status) - CLOSED_STATES - {Status.SUSPENDED})


def unit_exists(org_q: Q) -> Exists:
    """A case whose village/community or handling unit is an organisation matching `org_q` (checked per row)."""
    return Exists(Organisation.objects.filter(org_q).filter(Q(pk=OuterRef("org_id"))
                                                            | Q(pk=OuterRef("handling_unit_id"))))


class CaseQuerySet(ScopedQuerySet):
    """`restrict()` is the Case policy's (grids/policies.py); `within(org, per_row=…)` spells a subtree the same two
    ways the policy spells a scope."""

    def within(self, org: Organisation, *, per_row: bool = False):
        """Cases of `org`'s subtree, or dispatched to a unit in it."""
        from xianfeng.core.scoping import subtree_q

        if per_row:
            return self.filter(unit_exists(subtree_q("path", org.path)))
        orgs = Organisation.objects.in_subtree(org).values("pk")
        return self.filter(Q(org_id__in=orgs) | Q(handling_unit_id__in=orgs))

    def open(self):
        return self.exclude(status__in=CLOSED_LIST)

    def overdue(self, now: dt.datetime):
        return self.filter(status__in=CLOCK_STATES, due_at__lt=now)


class Case(models.Model):
    """A resident's problem (诉求/事件), routed to a handling unit and tracked to closure against a deadline."""

    scope_org_fields = ("org", "handling_unit")
    Status = Status

    class Source(models.TextChoices):
        PORTAL = "portal", "群众上报"
        STAFF = "staff", "网格员代报"
        VISIT = "visit", "走访发现"
        OPEN311 = "open311", "Open311接口"

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "已解决"
        EXPLAINED = "explained", "已解释（无法解决）"
        NOT_OURS = "not_ours", "非本单位职责（已转办）"

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", "满意"
        BASIC = "basic", "基本满意"
        UNSATISFIED = "unsatisfied", "不满意"

    number = models.CharField("编号", max_length=20, unique=True)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="cases", verbose_name="所属村社区")
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    outside_grids = models.BooleanField("位置不在任何网格内", default=False)
    category = models.ForeignKey(CaseCategory, on_delete=models.PROTECT, related_name="cases", verbose_name="类别")
    description = models.TextField("问题描述")
    address = models.CharField("地址", max_length=200, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    photo = models.ImageField("照片", upload_to="cases/%Y/%m/", storage=case_photo_storage, blank=True)
    media_url = models.URLField("图片链接", max_length=500, blank=True)
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="reported_cases")
    reporter_name = models.CharField("反映人", max_length=50, blank=True)
    reporter_phone = models.CharField("联系电话", max_length=20, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.OPENED)
    handling_unit = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="handled_cases", verbose_name="承办单位")
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="handled_cases", verbose_name="承办人")
    dispatched_at = models.DateTimeField(null=True, blank=True)
    accept_due_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField("办结时限", null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField("督办层级", default=0)
    suspended_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_on_time = models.BooleanField(null=True, blank=True)
    outcome = models.CharField("办结结果", max_length=10, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField("办结说明", blank=True)
    transferred_to = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name="转办单位")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates")
    reopen_count = models.PositiveSmallIntegerField(default=0)
    rating = models.CharField("评价", max_length=12, choices=Rating.choices, blank=True)
    rating_note = models.CharField("评价意见", max_length=300, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "诉求"
        verbose_name_plural = "诉求"
        # Few indexes on purpose: every one is rewritten when the sweep moves a case's timers.
        indexes = [
            # the case lists: newest open cases first, read in index order and cut by a keyset (no sort, no scan)
            models.Index(F("created_at").desc(), F("id").desc(), condition=~Q(status__in=CLOSED_LIST),
                         name="case_open_recent"),
            models.Index(fields=["escalate_at"], condition=Q(escalate_at__isnull=False), name="case_escalate_due"),
            models.Index(fields=["remind_at"], condition=Q(remind_at__isnull=False), name="case_remind_due"),
            models.Index(fields=["category", "latitude"], condition=~Q(status__in=CLOSED_LIST),
                         name="case_open_category_place"),
            models.Index(fields=["due_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(status="closed") | ~Q(outcome=""), name="case_closed_has_outcome"),
            models.CheckConstraint(condition=~Q(outcome="not_ours") | Q(transferred_to__isnull=False),
                                   name="case_not_ours_names_unit"),
            models.CheckConstraint(condition=~Q(status="merged") | Q(merged_into__isnull=False),
                                   name="case_merged_names_original"),
            models.CheckConstraint(condition=~Q(merged_into=F("id")), name="case_not_merged_into_itself"),
            models.CheckConstraint(condition=Q(rating="") | Q(status="closed"), name="case_rated_only_closed"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.category}"

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATES

    def is_overdue(self, now: dt.datetime) -> bool:
        return self.status in CLOCK_STATES and self.due_at is not None and self.due_at < now


class CaseEvent(AppendOnlyModel):
    """One step of a case's history: a transition, a reminder, an escalation, a rating — who, when, why."""

    scope_org_fields = ("case__org", "case__handling_unit")

    class Kind(models.TextChoices):
        OPEN = "open", "立案"
        DISPATCH = "dispatch", "派遣"
        ACCEPT = "accept", "签收"
        START = "start", "开始处置"
        REPORT = "report", "反馈"
        VERIFY = "verify", "核查通过"
        REJECT = "reject", "核查不通过"
        CLOSE = "close", "结案"
        RETURN = "return", "退回"
        SUSPEND = "suspend", "缓办"
        RESUME = "resume", "恢复办理"
        MERGE = "merge", "合并"
        REOPEN = "reopen", "重开"
        RATE = "rate", "评价"
        REMIND = "remind", "到期提醒"
        ESCALATE = "escalate", "逐级督办"
        DUPLICATE = "duplicate", "重复件并入"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    note = models.TextField(blank=True)
    unit = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"]), models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class Open311Client(models.Model):
    """An outside system allowed to POST requests through Open311 (its api_key); reports land in `org`'s grids."""

    name = models.CharField("名称", max_length=80)
    api_key = models.CharField(max_length=64, unique=True)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="受理范围")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Open311 接入方"
        verbose_name_plural = "Open311 接入方"

    def __str__(self) -> str:
        return self.name
