"""Campaigns and recognition: campaigns with deliverables and plans, leading-group meetings and follow-ups, 1+9 award
rounds with public votes, enterprise advisors (红领), member ventures (创业扶助), the 100-day drive and bulletins."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from xianfeng.core.models import AppendOnlyModel
from xianfeng.core.scoping import ScopedQuerySet

ORG = "orgs.Organisation"


# ---- campaigns ------------------------------------------------------------------------------------------------------


class Campaign(models.Model):
    """A time-boxed drive (创先争优活动) over one subtree, with phases and the deliverables each organisation owes."""

    scope_org_fields = ("org",)

    class Phase(models.TextChoices):
        DEPLOY = "deploy", "动员部署"
        IMPLEMENT = "implement", "组织实施"
        EVALUATE = "evaluate", "总结评估"
        CLOSED = "closed", "已结束"

    name = models.CharField("名称", max_length=200)
    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="campaigns", verbose_name="目标范围",
                            help_text="the campaign covers this organisation's subtree")
    phase = models.CharField("阶段", max_length=12, choices=Phase.choices, default=Phase.DEPLOY)
    start = models.DateField("开始日期")
    implement_from = models.DateField("实施阶段开始")
    evaluate_from = models.DateField("评估阶段开始")
    end = models.DateField("结束日期")
    description = models.TextField("说明", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()  # seen from below its organisation too: policies.py

    class Meta:
        verbose_name = "活动"
        verbose_name_plural = "活动"
        ordering = ["-start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(implement_from__gte=F("start")) & Q(evaluate_from__gte=F("implement_from"))
                & Q(end__gte=F("evaluate_from")),
                name="campaign_phases_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Deliverable(models.Model):
    """One thing every organisation of the listed kinds in the campaign's subtree must produce (plan, pledges, …)."""

    PLAN = "plan"  # the code of the deliverable that is the organisation's CampaignPlan

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliverables")
    code = models.SlugField("代码", max_length=40)
    name = models.CharField("名称", max_length=100)
    org_kinds = models.JSONField("适用组织类型", default=list)
    due = models.DateField("截止日期")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "code"], name="deliverable_code_unique")]

    def __str__(self) -> str:
        return self.name


class DeliverableRecord(models.Model):
    """That one organisation delivered one deliverable (the plan's state is on CampaignPlan instead)."""

    scope_org_fields = ("org",)

    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="records")
    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+")
    done_on = models.DateField("完成日期")
    note = models.CharField("说明", max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deliverable", "org"], name="deliverable_record_unique")]

    def __str__(self) -> str:
        return f"{self.org_id}: {self.deliverable}"


class CampaignPlan(models.Model):
    """An organisation's plan (活动方案) for a campaign: drafted, submitted, then returned or accepted."""

    scope_org_fields = ("org",)

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SUBMITTED = "submitted", "已报送"
        RETURNED = "returned", "已退回"
        ACCEPTED = "accepted", "已审定"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="plans")
    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="campaign_plans")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField("标题", max_length=200)
    text = models.TextField("方案内容", blank=True)
    file = models.FileField("方案文件", upload_to="campaigns/plans/%Y/%m/", blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField("审核意见", max_length=500, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "活动方案"
        verbose_name_plural = "活动方案"
        constraints = [models.UniqueConstraint(fields=["campaign", "org"], name="one_plan_per_org")]
        indexes = [models.Index(fields=["campaign", "status"])]

    def __str__(self) -> str:
        return self.title


class PlanEvent(AppendOnlyModel):
    """One step of a plan's history: who submitted, returned or accepted it, when, and why."""

    plan = models.ForeignKey(CampaignPlan, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=10, choices=CampaignPlan.Status.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.status}"


# ---- meetings and follow-ups ----------------------------------------------------------------------------------------


class Meeting(models.Model):
    """A meeting of the leading group (领导小组) or the standing committee on the campaign, with its decisions."""

    scope_org_fields = ("org",)

    class Kind(models.TextChoices):
        LEADING_GROUP = "leading_group", "领导小组会议"
        STANDING_COMMITTEE = "standing_committee", "常委会议"

    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="campaign_meetings")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings")
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    date = models.DateField("日期")
    title = models.CharField("议题", max_length=200)
    chair = models.CharField("主持人", max_length=50, blank=True)
    attendees = models.TextField("出席人员", blank=True)
    minutes = models.TextField("纪要", blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "会议"
        verbose_name_plural = "会议"
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.date} {self.title}"


class FollowUp(models.Model):
    """A task arising from a meeting decision or a guidance visit, owned by one organisation until done."""

    scope_org_fields = ("org",)

    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.CASCADE, related_name="follow_ups")
    visit = models.ForeignKey("orgs.GuidanceVisit", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="follow_up_tasks")
    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name="责任单位")
    text = models.CharField("事项", max_length=500)
    due = models.DateField("完成时限")
    done_on = models.DateField("完成日期", null=True, blank=True)
    done_note = models.CharField("落实情况", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["due", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(meeting__isnull=False) | Q(visit__isnull=False),
                                   name="follow_up_has_source"),
        ]

    def __str__(self) -> str:
        return self.text


# ---- awards (1+9 先锋群评创) -------------------------------------------------------------------------------------------


class AwardRound(models.Model):
    """One award round: categories, nominations, a public vote window, committee scores, publicity, the final list."""

    scope_org_fields = ("org",)

    class Status(models.TextChoices):
        NOMINATING = "nominating", "推荐"
        VOTING = "voting", "群众评议"
        SCORING = "scoring", "评审"
        PUBLICITY = "publicity", "公示"
        PUBLISHED = "published", "已公布"

    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="award_rounds")
    name = models.CharField("名称", max_length=200)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.NOMINATING)
    vote_start = models.DateTimeField("评议开始")
    vote_end = models.DateTimeField("评议结束")
    publicity_days = models.PositiveSmallIntegerField("公示天数", default=7)
    publicity_start = models.DateTimeField("公示开始", null=True, blank=True)
    vote_weight = models.PositiveSmallIntegerField("群众评议权重%", default=40)
    # Generous: residents behind one carrier NAT or village Wi-Fi share an address; 0 turns the limit off.
    votes_per_ip_per_hour = models.PositiveIntegerField("每地址每小时票数上限", default=300)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()  # seen from below its organisation too: policies.py

    class Meta:
        verbose_name = "评创"
        verbose_name_plural = "评创"
        ordering = ["-vote_start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(vote_end__gt=F("vote_start")), name="award_vote_window"),
            models.CheckConstraint(condition=Q(vote_weight__lte=100), name="award_vote_weight_le_100"),
        ]

    def __str__(self) -> str:
        return self.name


class AwardCategory(models.Model):
    """One category of a round: the advanced grassroots organisation, or one of the pioneer (先锋) categories."""

    class NomineeKind(models.TextChoices):
        ORGANISATION = "organisation", "组织"
        MEMBER = "member", "党员"

    round = models.ForeignKey(AwardRound, on_delete=models.CASCADE, related_name="categories")
    code = models.SlugField(max_length=40)
    name = models.CharField("名称", max_length=100)
    nominee_kind = models.CharField(max_length=12, choices=NomineeKind.choices, default=NomineeKind.MEMBER)
    quota = models.PositiveSmallIntegerField("名额", default=10)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["round", "code"], name="award_category_code_unique")]

    def __str__(self) -> str:
        return self.name


class Nomination(models.Model):
    """An organisation's nomination of a unit or a member in one category, with figures taken from the platform."""

    scope_org_fields = ("nominated_by",)

    class Status(models.TextChoices):
        NOMINATED = "nominated", "已推荐"
        AWARDED = "awarded", "当选"
        NOT_AWARDED = "not_awarded", "未当选"
        DISQUALIFIED = "disqualified", "经核实取消"

    category = models.ForeignKey(AwardCategory, on_delete=models.CASCADE, related_name="nominations")
    nominated_by = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name="推荐单位")
    nominee_org = models.ForeignKey(ORG, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    nominee_member = models.ForeignKey("orgs.Member", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    display_name = models.CharField("名称", max_length=200)
    citation = models.TextField("事迹")
    evidence = models.JSONField("平台数据", default=dict, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.NOMINATED)
    committee_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    final_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["category__order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(nominee_org__isnull=False) | Q(nominee_member__isnull=False),
                                   name="nomination_has_nominee"),
        ]

    def __str__(self) -> str:
        return self.display_name


class Vote(models.Model):
    """A resident's one vote in one category of a round (the database refuses a second)."""

    # No index of its own on category: the unique indexes below lead with it (one index fewer to write per vote).
    category = models.ForeignKey(AwardCategory, on_delete=models.CASCADE, related_name="votes", db_index=False)
    nomination = models.ForeignKey(Nomination, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("orgs.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "voter"], name="one_vote_per_account_per_category"),
            models.UniqueConstraint(fields=["category", "person"], condition=Q(person__isnull=False),
                                    name="one_vote_per_person_per_category"),
        ]
        indexes = [models.Index(fields=["ip", "at"])]

    def __str__(self) -> str:
        return f"{self.voter_id} → {self.nomination_id}"


class CommitteeScore(models.Model):
    """One committee member's score (0–100) for one nomination."""

    nomination = models.ForeignKey(Nomination, on_delete=models.CASCADE, related_name="scores")
    scorer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["nomination", "scorer"], name="one_score_per_scorer"),
            models.CheckConstraint(condition=Q(score__lte=100), name="score_le_100"),
        ]

    def __str__(self) -> str:
        return f"{self.nomination_id}: {self.score}"


class Objection(models.Model):
    """An objection lodged against a nomination during publicity (公示), and its answer."""

    nomination = models.ForeignKey(Nomination, on_delete=models.CASCADE, related_name="objections")
    name = models.CharField("姓名", max_length=50)
    contact = models.CharField("联系电话", max_length=20)
    text = models.TextField("异议内容")
    lodged_at = models.DateTimeField(auto_now_add=True)
    answer = models.TextField("答复", blank=True)
    upheld = models.BooleanField("异议成立", null=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["lodged_at", "id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.text[:30]}"


# ---- enterprise advisors (红领) -------------------------------------------------------------------------------------


class AdvisorBatch(models.Model):
    """A batch of advisors placed at one time, with their common term."""

    scope_org_fields = ("org",)

    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="advisor_batches")
    name = models.CharField("批次", max_length=100)
    start = models.DateField("任期开始")
    end = models.DateField("任期结束")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="advisor_batch_term")]

    def __str__(self) -> str:
        return self.name


class Advisor(models.Model):
    """A retired cadre (红领) placed in an enterprise as party-affairs advisor for the batch's term."""

    scope_org_fields = ("enterprise",)

    batch = models.ForeignKey(AdvisorBatch, on_delete=models.PROTECT, related_name="advisors")
    person = models.ForeignKey("orgs.Person", on_delete=models.PROTECT, related_name="advisor_posts")
    enterprise = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="advisors")
    former_post = models.CharField("原任职务", max_length=100, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "id"]
        constraints = [models.UniqueConstraint(fields=["batch", "enterprise"], name="one_advisor_per_enterprise_batch")]

    def __str__(self) -> str:
        return f"{self.person} @ {self.enterprise}"


class AdvisorLog(models.Model):
    """An advisor's work log for one month."""

    scope_org_fields = ("advisor__enterprise",)

    advisor = models.ForeignKey(Advisor, on_delete=models.CASCADE, related_name="logs")
    month = models.DateField("月份")  # the first day of the month
    text = models.TextField("工作内容")
    hours = models.PositiveSmallIntegerField("工作时长（小时）", default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "id"]
        constraints = [
            models.UniqueConstraint(fields=["advisor", "month"], name="one_log_per_advisor_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="advisor_log_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.advisor_id} {self.month:%Y-%m}"


PARTY_CHECKLIST = (
    ("organisation", "党组织设置规范"),
    ("activities", "组织生活正常"),
    ("carrier", "活动载体有特色"),
    ("records", "台账资料齐全"),
    ("position", "活动阵地达标"),
    ("pioneers", "党员先锋作用明显"),
)


class DualBrandEvaluation(models.Model):
    """A yearly 双强 evaluation of an enterprise: 发展强 from its figures, 党建强 from the checklist."""

    scope_org_fields = ("enterprise",)

    enterprise = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="dual_brand_evaluations")
    year = models.PositiveSmallIntegerField("年度")
    output_wan = models.DecimalField("产值（万元）", max_digits=12, decimal_places=1)
    output_growth_pct = models.DecimalField("产值增长%", max_digits=6, decimal_places=1)
    tax_wan = models.DecimalField("税收（万元）", max_digits=12, decimal_places=1)
    employees = models.PositiveIntegerField("职工数")
    checklist = models.JSONField("党建清单", default=dict)
    development_strong = models.BooleanField("发展强")
    party_strong = models.BooleanField("党建强")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enterprise", "year"], name="one_evaluation_per_year")]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.year}"


# ---- ventures (创业扶助) --------------------------------------------------------------------------------------------


class Venture(models.Model):
    """A member's enterprise or cooperative receiving support, with its figures over time."""

    scope_org_fields = ("org",)

    class Kind(models.TextChoices):
        COOPERATIVE = "cooperative", "专业合作社"
        ENTERPRISE = "enterprise", "企业"
        FAMILY_FARM = "family_farm", "家庭农场"

    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="ventures", verbose_name="所在村社区")
    name = models.CharField("名称", max_length=200)
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    founded = models.DateField("创办日期")
    founders = models.ManyToManyField("orgs.Member", blank=True, related_name="ventures")
    description = models.TextField("简介", blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "创业项目"
        verbose_name_plural = "创业项目"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class VentureFigure(models.Model):
    """A venture's figures on one date: members involved, area, households, extra income per household."""

    venture = models.ForeignKey(Venture, on_delete=models.CASCADE, related_name="figures")
    date = models.DateField("日期")
    members = models.PositiveIntegerField("带动党员数")
    area_mu = models.DecimalField("面积（亩）", max_digits=10, decimal_places=1)
    households = models.PositiveIntegerField("带动农户数")
    income_per_household_yuan = models.PositiveIntegerField("户均增收（元）", default=0)

    class Meta:
        ordering = ["date", "id"]
        constraints = [models.UniqueConstraint(fields=["venture", "date"], name="one_figure_per_venture_date")]

    def __str__(self) -> str:
        return f"{self.venture_id} {self.date}"


class VentureSupport(models.Model):
    """Support given to a venture: a grant (posted on the ledger), a project fair or a training."""

    class Kind(models.TextChoices):
        GRANT = "grant", "扶助资金"
        FAIR = "fair", "项目推介会"
        TRAINING = "training", "创业培训"

    venture = models.ForeignKey(Venture, on_delete=models.CASCADE, related_name="supports")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    date = models.DateField("日期")
    title = models.CharField("事项", max_length=200)
    amount_fen = models.BigIntegerField("金额（分）", default=0)
    ledger_transaction = models.ForeignKey("ledger.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+")

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="grant") | Q(amount_fen__gt=0, ledger_transaction__isnull=False),
                                   name="grant_is_on_the_ledger"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def amount_yuan(self) -> str:
        return f"{self.amount_fen / 100:,.2f}"


# ---- the 100-day drive (百日双提升) ---------------------------------------------------------------------------------


class Drive(models.Model):
    """A time-boxed drive (百日双提升) with targets for unions, youth leagues and women's federations."""

    scope_org_fields = ("org",)

    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="drives")
    name = models.CharField("名称", max_length=200)
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")

    objects = ScopedQuerySet.as_manager()  # seen from below its organisation too: policies.py

    class Meta:
        ordering = ["-start", "id"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="drive_window")]

    def __str__(self) -> str:
        return self.name


class DriveTarget(models.Model):
    """One target of a drive for one organisation's subtree: how many bodies of a kind to set up."""

    scope_org_fields = ("org",)

    class Metric(models.TextChoices):
        UNION = "union", "新建工会"
        YOUTH_LEAGUE = "youth_league", "新建团组织"
        WOMEN = "women", "新建妇联组织"
        PARTY = "party", "新建党组织"

    drive = models.ForeignKey(Drive, on_delete=models.CASCADE, related_name="targets")
    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+")
    metric = models.CharField("指标", max_length=14, choices=Metric.choices)
    target = models.PositiveIntegerField("目标数")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["org__path", "metric"]
        constraints = [models.UniqueConstraint(fields=["drive", "org", "metric"], name="drive_target_unique")]

    def __str__(self) -> str:
        return f"{self.org_id} {self.metric} {self.target}"


class DriveProgress(AppendOnlyModel):
    """A progress report on a target: the number achieved so far, as of a date (the latest row counts). A report
    that restates the latest one (the same date, or a lower number) is a correction: it names the row it corrects
    and says why; the corrected row stays as it was."""

    target = models.ForeignKey(DriveTarget, on_delete=models.CASCADE, related_name="reports")
    date = models.DateField("日期")
    achieved = models.PositiveIntegerField("已完成数")
    note = models.CharField("说明", max_length=300, blank=True)
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections",
                                 verbose_name="更正的报告")
    reason = models.CharField("更正原因", max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.target_id} {self.date}: {self.achieved}"


# ---- bulletins --------------------------------------------------------------------------------------------------


class Bulletin(models.Model):
    """A piece of news or a briefing (简报) an organisation publishes to the public."""

    scope_org_fields = ("org",)

    class Kind(models.TextChoices):
        NEWS = "news", "新闻"
        BRIEFING = "briefing", "简报"

    org = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="bulletins")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices, default=Kind.NEWS)
    issue = models.PositiveIntegerField("期号", null=True, blank=True)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("正文")
    image = models.ImageField("图片", upload_to="campaigns/bulletins/%Y/%m/", blank=True)
    published_at = models.DateTimeField("发布时间", null=True, blank=True, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "简报"
        verbose_name_plural = "简报"
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "kind", "issue"], condition=Q(issue__isnull=False),
                                    name="bulletin_issue_unique"),
        ]

    def __str__(self) -> str:
        return self.title
