"""Pioneer pledges (先锋承诺): the pledge cycle 承诺 → 示诺 → 践诺 → 评诺 → 奖诺, its public supervision and the
formulaic-pledge detector's results.

Every write is a service in services.py; the lifecycle is a status column moved by conditional UPDATEs, and every
move leaves a PledgeEvent row (who, when, why). Milestones, events and moderation actions are append-only.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from xianfeng.core.models import AppendOnlyModel
from xianfeng.core.scoping import ScopedQuerySet
from xianfeng.orgs.models import Member, Organisation


class PledgeRound(models.Model):
    """A campaign's or a year's round of pledges (承诺批次), with its evaluation weights and detector settings."""

    scope_org_fields = ("org",)

    name = models.CharField("名称", max_length=100)
    year = models.PositiveSmallIntegerField("年度")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="pledge_rounds", verbose_name="发起组织")
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")
    weight_residents = models.PositiveSmallIntegerField("群众评权重（%）", default=40)
    weight_peers = models.PositiveSmallIntegerField("党员评权重（%）", default=30)
    weight_org = models.PositiveSmallIntegerField("组织评权重（%）", default=30)
    template_min_members = models.PositiveSmallIntegerField(
        "模板判定人数", default=5, help_text="a near-duplicate cluster used by at least this many members is a template")
    specificity_threshold = models.FloatField("具体度下限", default=0.4,
                                              help_text="an item scoring below this is unspecific")
    is_open = models.BooleanField("接受承诺", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "-id"]
        verbose_name = "承诺批次"
        verbose_name_plural = "承诺批次"
        constraints = [
            models.CheckConstraint(condition=Q(weight_residents__lte=100, weight_peers__lte=100, weight_org__lte=100),
                                   name="pledge_round_weights_percent"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="pledge_round_end_after_start"),
            models.CheckConstraint(condition=Q(template_min_members__gte=2), name="pledge_round_k_at_least_2"),
        ]

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审定"
    RETURNED = "returned", "已退回"
    APPROVED = "approved", "已审定"
    PUBLISHED = "published", "已公示"
    IN_PROGRESS = "in_progress", "践诺中"
    CLAIMED = "claimed", "待确认履诺"
    FULFILLED = "fulfilled", "已践诺"
    NOT_FULFILLED = "not_fulfilled", "未践诺"
    EVALUATED = "evaluated", "已评诺"
    RECOGNISED = "recognised", "已奖诺"
    CLOSED = "closed", "已结束"


PUBLIC_STATES = (Status.PUBLISHED, Status.IN_PROGRESS, Status.CLAIMED, Status.FULFILLED, Status.NOT_FULFILLED,
                 Status.EVALUATED, Status.RECOGNISED, Status.CLOSED)
OPEN_STATES = (Status.PUBLISHED, Status.IN_PROGRESS, Status.CLAIMED)  # published and not yet carried out
FULFILLED_STATES = (Status.FULFILLED, Status.EVALUATED, Status.RECOGNISED, Status.CLOSED)  # see Pledge.fulfilled


class PledgeQuerySet(ScopedQuerySet):
    def public(self):
        return self.filter(status__in=PUBLIC_STATES)

    def fulfilled(self):
        return self.filter(fulfilled_on__isnull=False)

    def overdue(self, today: dt.date):
        return self.filter(status__in=OPEN_STATES, due_date__lt=today)

    def owned_by(self, user):
        """Pledges the user makes as a member (their own), whatever their roles."""
        person_id = getattr(user, "person_id", None)
        if not person_id:
            return self.none()
        return self.filter(member__person_id=person_id)

    def search(self, text: str):
        text = (text or "").strip()[:50]
        if not text:
            return self
        return self.filter(Q(member__person__name__contains=text) | Q(items__text__contains=text)
                           | Q(title__contains=text)).distinct()


class Pledge(models.Model):
    """A member's (or, 组织承诺, an organisation's) pledge for a round, with 1..n items."""

    scope_org_fields = ("org",)
    Status = Status

    round = models.ForeignKey(PledgeRound, on_delete=models.PROTECT, related_name="pledges", verbose_name="承诺批次")
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT, related_name="pledges",
                               verbose_name="党员")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="pledges", verbose_name="所在党组织")
    title = models.CharField("标题", max_length=100, blank=True)
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    return_reason = models.CharField("退回原因", max_length=500, blank=True)
    due_date = models.DateField("最迟完成日期", null=True, blank=True, help_text="the latest item due date")
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    published_on = models.DateField("公示日期", null=True, blank=True)
    evidence = models.TextField("履诺情况", blank=True)
    fulfilled_on = models.DateField("践诺日期", null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name="确认人")
    explanation = models.TextField("未践诺说明", blank=True, help_text="shown on the public board")
    score_residents = models.FloatField("群众评", null=True, blank=True)
    score_peers = models.FloatField("党员评", null=True, blank=True)
    score_org = models.FloatField("组织评", null=True, blank=True)
    score_total = models.FloatField("综合得分", null=True, blank=True)
    rank_in_branch = models.PositiveIntegerField("支部排名", null=True, blank=True)
    specificity = models.FloatField("具体度", null=True, blank=True)
    formulaic = models.BooleanField("程式化", default=False, db_index=True)
    formulaic_reason = models.CharField("程式化原因", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PledgeQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "先锋承诺"
        verbose_name_plural = "先锋承诺"
        indexes = [models.Index(fields=["round", "org", "status"]), models.Index(fields=["status", "due_date"])]
        constraints = [
            models.UniqueConstraint(fields=["round", "member"], condition=Q(member__isnull=False),
                                    name="one_pledge_per_member_per_round"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="pledge_progress_percent"),
            models.CheckConstraint(
                condition=Q(fulfilled_on__isnull=True) | Q(status__in=[Status.FULFILLED, Status.EVALUATED,
                                                                       Status.RECOGNISED, Status.CLOSED]),
                name="pledge_fulfilled_only_when_done"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_name}：{self.title or self.round.name}"

    @property
    def is_org_pledge(self) -> bool:
        return self.member_id is None

    @property
    def owner_name(self) -> str:
        member = self.member if self.member_id is not None else None
        return self.org.name if member is None else member.person.name

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATES

    def owner_key(self) -> str:
        """Who wrote it, for the template rule ("used by ≥ K members"): a member, or an organisation."""
        return f"m{self.member_id}" if self.member_id else f"o{self.org_id}"


class PledgeItem(models.Model):
    """One commitment inside a pledge: its kind, text, optional measurable target and due date."""

    class Kind(models.TextChoices):
        VANGUARD = "vanguard", "先锋承诺"
        POST = "post", "岗位承诺"
        SERVICE = "service", "实事承诺"

    class Review(models.TextChoices):
        PENDING = "pending", "待审"
        OK = "ok", "通过"
        RETURNED = "returned", "退回"

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField("类别", max_length=10, choices=Kind.choices)
    text = models.CharField("承诺内容", max_length=300)
    target_value = models.DecimalField("目标数", max_digits=12, decimal_places=2, null=True, blank=True)
    target_unit = models.CharField("单位", max_length=10, blank=True)
    due_date = models.DateField("完成期限")
    review = models.CharField("审定", max_length=10, choices=Review.choices, default=Review.PENDING)
    review_note = models.CharField("审定意见", max_length=300, blank=True)
    specificity = models.FloatField("具体度", null=True, blank=True)
    template = models.ForeignKey("TemplateCluster", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="items", verbose_name="雷同模板")

    class Meta:
        ordering = ["pledge_id", "position", "id"]
        verbose_name = "承诺事项"
        verbose_name_plural = "承诺事项"
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="pledge_item_text_not_empty"),
            models.CheckConstraint(condition=Q(target_value__isnull=True) | Q(target_value__gt=0),
                                   name="pledge_item_target_positive"),
        ]

    def __str__(self) -> str:
        return self.text


class PledgeEvent(AppendOnlyModel):
    """One transition of a pledge: from which state to which, by whom, when, why."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField("操作", max_length=20)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    reason = models.CharField("说明", max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.pledge_id} {self.from_status}→{self.to_status}"


class Milestone(AppendOnlyModel):
    """A dated progress update on a pledge (践诺台账): what was done, the percentage reached, evidence."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="milestones")
    item = models.ForeignKey(PledgeItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="milestones")
    date = models.DateField("日期")
    percent = models.PositiveSmallIntegerField("进度（%）")
    text = models.CharField("进展情况", max_length=500)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [models.CheckConstraint(condition=Q(percent__lte=100), name="milestone_percent")]

    def __str__(self) -> str:
        return f"{self.date} {self.percent}%"


class Photo(AppendOnlyModel):
    """A photo kept as evidence of a milestone or of the fulfilment."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="photos")
    milestone = models.ForeignKey(Milestone, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="pledges/%Y/%m/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.image.name


class Rating(models.Model):
    """A resident's satisfaction with a pledge (群众评): one per resident per pledge."""

    class Value(models.TextChoices):
        SATISFIED = "satisfied", "满意"
        BASIC = "basic", "基本满意"
        UNSATISFIED = "unsatisfied", "不满意"

    SCORES = {Value.SATISFIED: 100, Value.BASIC: 75, Value.UNSATISFIED: 55}  # the weighted-score practice (NOTES)

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pledge_ratings")
    value = models.CharField("评价", max_length=12, choices=Value.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pledge", "user"], name="one_rating_per_resident_per_pledge")]

    def __str__(self) -> str:
        return f"{self.pledge_id} {self.get_value_display()}"


class PeerRating(models.Model):
    """A fellow member's score (0–100) for a pledge of the same branch (党员评): one per member per pledge."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="peer_ratings")
    rater = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField("评分")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pledge", "rater"], name="one_peer_rating_per_member_per_pledge"),
            models.CheckConstraint(condition=Q(score__lte=100), name="peer_rating_score_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.pledge_id} {self.score}"


class Comment(models.Model):
    """A resident's comment on a published pledge; shown as plain text, hidden or restored by moderators."""

    class State(models.TextChoices):
        VISIBLE = "visible", "显示"
        HIDDEN = "hidden", "已隐藏"

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pledge_comments")
    text = models.CharField("评论", max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.VISIBLE, db_index=True)
    reports = models.PositiveIntegerField("被举报次数", default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:30]


class CommentReport(models.Model):
    """A user's report of a comment (the report button): one per user per comment."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="report_rows")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["comment", "reporter"], name="one_report_per_user_per_comment")]

    def __str__(self) -> str:
        return f"{self.comment_id} {self.reason}"


class ModerationAction(AppendOnlyModel):
    """A moderator hid or restored a comment, with the reason."""

    class Action(models.TextChoices):
        HIDE = "hide", "隐藏"
        RESTORE = "restore", "恢复"

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="moderation")
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField("原因", max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class SensitiveWord(models.Model):
    """A word a comment may not contain (the configurable list moderators keep)."""

    word = models.CharField("敏感词", max_length=30, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["word"]
        verbose_name = "敏感词"
        verbose_name_plural = "敏感词"

    def __str__(self) -> str:
        return self.word


class TemplateCluster(models.Model):
    """A near-duplicate pledge text used by at least K members of a round (程式化模板), from the last detection run."""

    round = models.ForeignKey(PledgeRound, on_delete=models.CASCADE, related_name="templates")
    text = models.CharField("模板文本", max_length=300)
    members = models.PositiveIntegerField("使用人数")
    item_count = models.PositiveIntegerField("事项数")
    signature = models.BinaryField("MinHash 签名", editable=False)
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-members", "id"]
        verbose_name = "程式化模板"
        verbose_name_plural = "程式化模板"

    def __str__(self) -> str:
        return self.text[:40]


class SignupCode(models.Model):
    """An SMS code sent to a phone for resident sign-up; checked once, within its lifetime and attempt limit."""

    phone = models.CharField(max_length=20, db_index=True)
    code_hash = models.CharField(max_length=128)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.phone[:3]}**** {self.created_at:%Y-%m-%d %H:%M}"


class BoardStamp(models.Model):
    """How many times the published pledges of one organisation (its own, not its subtree's) changed. A public
    board's version is the sum of these counters over its subtree: every pledge write bumps its organisation's row in
    the same transaction, so a board page cached under a version is never served after a change."""

    org = models.OneToOneField(Organisation, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.org_id}@{self.version}"
