"""Volunteer teams, activities (party lessons, volunteer service, theme days, meetings), sign-ups, per-person
attendance with volunteer hours, and certificates of hours.

Who was there is one Attendance row per person and activity, never a head count.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from xianfeng.core.models import AppendOnlyModel
from xianfeng.core.scoping import ScopedQuerySet
from xianfeng.orgs.models import Member, Organisation, Person


class TeamQuerySet(ScopedQuerySet):
    def active(self):
        return self.filter(is_active=True)


class Team(models.Model):
    """A volunteer service team (服务团 / 志愿服务队) sponsored by a unit, usually a department."""

    scope_org_fields = ("org",)

    name = models.CharField("名称", max_length=100)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="volunteer_teams", verbose_name="组建单位")
    leader = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="led_volunteer_teams",
                               verbose_name="团长")
    skills = models.CharField("服务专长", max_length=300, blank=True, help_text="以逗号分隔，如：义诊,法律咨询")
    description = models.TextField("简介", blank=True)
    open_to_requests = models.BooleanField("接受入团申请", default=True)
    is_active = models.BooleanField("有效", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = "服务团"
        verbose_name_plural = "服务团"
        ordering = ["org__path", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="events_team_name_unique_in_org"),
            models.CheckConstraint(condition=~Q(name=""), name="events_team_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def skill_list(self) -> list[str]:
        return [s for s in (part.strip() for part in self.skills.replace("，", ",").split(",")) if s]


class TeamMember(models.Model):
    """One person's place in a team: requested → active (approved) or declined; invited → active or declined; left."""

    scope_org_fields = ("team__org",)

    class Status(models.TextChoices):
        REQUESTED = "requested", "申请中"
        INVITED = "invited", "已邀请"
        ACTIVE = "active", "在团"
        DECLINED = "declined", "未通过"
        LEFT = "left", "已退出"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="volunteer_team_memberships")
    status = models.CharField("状态", max_length=12, choices=Status.choices)
    is_leader = models.BooleanField("团长", default=False)
    joined_at = models.DateTimeField("入团时间", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "团员"
        verbose_name_plural = "团员"
        ordering = ["team", "-is_leader", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "person"], name="events_team_member_unique")]
        indexes = [models.Index(fields=["person", "status"])]

    def __str__(self) -> str:
        return f"{self.person} @ {self.team}"


class ActivityKind(models.TextChoices):
    LESSON = "lesson", "党课"
    SERVICE = "service", "志愿服务"
    THEME_DAY = "theme_day", "主题党日"
    MEETING = "meeting", "会议"


class Audience(models.TextChoices):
    SUBTREE = "subtree", "本组织及下级党员"
    TEAM = "team", "服务团成员"
    PUBLIC = "public", "公开"


class ActivityQuerySet(ScopedQuerySet):
    def live(self):
        return self.exclude(status=Activity.Status.CANCELLED)

    def lessons(self):
        return self.filter(kind=ActivityKind.LESSON)

    def between(self, start=None, end=None):
        """Activities starting on a local date within [start, end] (either may be None)."""
        qs = self
        if start is not None:
            qs = qs.filter(starts_at__date__gte=start)
        if end is not None:
            qs = qs.filter(starts_at__date__lte=end)
        return qs


class Activity(models.Model):
    """One event: a party lesson, a volunteer service activity, a theme day or a meeting, at a time and place."""

    scope_org_fields = ("org",)

    class Status(models.TextChoices):
        PLANNED = "planned", "计划"
        CANCELLED = "cancelled", "已取消"

    kind = models.CharField("类型", max_length=12, choices=ActivityKind.choices)
    title = models.CharField("名称", max_length=200)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="event_activities",
                            verbose_name="组织单位")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="activities",
                             verbose_name="服务团")
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    place = models.CharField("地点", max_length=200, blank=True)
    capacity = models.PositiveIntegerField("名额", null=True, blank=True, help_text="留空表示不限")
    audience = models.CharField("参加对象", max_length=10, choices=Audience.choices, default=Audience.SUBTREE)
    lecturer = models.CharField("主讲人", max_length=100, blank=True)
    topic = models.CharField("主题", max_length=200, blank=True)
    materials = models.TextField("学习材料", blank=True)
    description = models.TextField("说明", blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PLANNED)
    # Sign-ups holding a place (not the waiting list): the capacity check is a conditional UPDATE on this counter.
    registered_count = models.PositiveIntegerField(default=0, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = "活动"
        verbose_name_plural = "活动"
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["kind", "starts_at"]), models.Index(fields=["org", "starts_at"]),
                   models.Index(fields=["starts_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="events_activity_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__isnull=True) | Q(registered_count__lte=F("capacity")),
                                   name="events_activity_within_capacity"),
            models.CheckConstraint(condition=~Q(audience="team") | Q(team__isnull=False),
                                   name="events_activity_team_audience_has_team"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def earns_hours(self) -> bool:
        return self.kind == ActivityKind.SERVICE

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.registered_count)


class Registration(models.Model):
    """One person's sign-up for an activity: holding a place, on the waiting list, or cancelled."""

    scope_org_fields = ("activity__org",)

    class Status(models.TextChoices):
        REGISTERED = "registered", "已报名"
        WAITLISTED = "waitlisted", "候补"
        CANCELLED = "cancelled", "已取消"

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="registrations")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="activity_registrations")
    status = models.CharField("状态", max_length=12, choices=Status.choices)
    # Order on the waiting list: the time the person (re-)joined it.
    queued_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "报名"
        verbose_name_plural = "报名"
        ordering = ["queued_at", "id"]
        constraints = [models.UniqueConstraint(fields=["activity", "person"], name="events_registration_unique")]
        indexes = [models.Index(fields=["activity", "status", "queued_at"])]

    def __str__(self) -> str:
        return f"{self.person} → {self.activity}"


class Attendance(models.Model):
    """One person at one activity: when they checked in (and out), how it was recorded, and the volunteer hours."""

    scope_org_fields = ("activity__org",)

    class Method(models.TextChoices):
        ROTATING_QR = "rotating_qr", "扫活动码"
        PERSONAL_QR = "personal_qr", "扫个人码"
        MANUAL = "manual", "组织者补录"

    class Hours(models.TextChoices):
        NONE = "none", "不计时长"
        OPEN = "open", "未签退"
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已认定"
        DECLINED = "declined", "未认定"

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="attendances")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="activity_attendances")
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT, related_name="activity_attendances")
    # Whether the member was in the activity's audience when checking in (the lesson-rate numerator counts these).
    member_expected = models.BooleanField(default=False)
    method = models.CharField("签到方式", max_length=12, choices=Method.choices)
    check_in_at = models.DateTimeField("签到时间")
    check_out_at = models.DateTimeField("签退时间", null=True, blank=True)
    minutes = models.PositiveIntegerField("认定分钟", default=0)
    hours_status = models.CharField("时长状态", max_length=10, choices=Hours.choices, default=Hours.NONE)
    auto_closed = models.BooleanField("系统补签退", default=False)
    review_note = models.CharField("审核说明", max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "签到"
        verbose_name_plural = "签到"
        ordering = ["check_in_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "person"], name="events_attendance_once_per_person"),
            models.CheckConstraint(condition=Q(check_out_at__isnull=True) | Q(check_out_at__gte=F("check_in_at")),
                                   name="events_attendance_out_after_in"),
        ]
        indexes = [models.Index(fields=["hours_status", "activity"]), models.Index(fields=["person", "check_in_at"]),
                   models.Index(fields=["member", "activity"])]

    def __str__(self) -> str:
        return f"{self.person} @ {self.activity}"

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)


class Certificate(AppendOnlyModel):
    """A 志愿服务记录证明: a person's approved volunteer hours over a period, certified by an organisation.

    Its rows are what it certifies (`entries`), frozen when issued; anyone can check it by its `code`."""

    scope_org_fields = ("org",)

    code = models.CharField("验证码", max_length=16, unique=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="hours_certificates")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="hours_certificates",
                            verbose_name="出具单位")
    start = models.DateField("起始日期")
    end = models.DateField("截止日期")
    minutes = models.PositiveIntegerField("认定分钟")
    activity_count = models.PositiveIntegerField("活动次数")
    entries = models.JSONField(default=list)  # [[attendance id, date, activity title, minutes], ...]
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "志愿服务记录证明"
        verbose_name_plural = "志愿服务记录证明"
        ordering = ["-issued_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(end__gte=F("start")), name="events_certificate_end_after_start")]

    def __str__(self) -> str:
        return f"{self.person} {self.start}–{self.end}"

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)
