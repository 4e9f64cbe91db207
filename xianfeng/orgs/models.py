from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q

from xianfeng.core.ids import mask_id_number, mask_phone
from xianfeng.core.scoping import ScopedQuerySet, subtree_q


class OrgKind(models.TextChoices):
    COUNTY = "county", "县"
    TOWN = "town", "镇"
    STREET = "street", "街道"
    VILLAGE = "village", "村"
    COMMUNITY = "community", "社区"
    DEPARTMENT = "department", "部门"
    ENTERPRISE = "enterprise", "非公企业"
    SOCIAL = "social", "社会组织"
    HOSPITAL = "hospital", "医院"
    SCHOOL = "school", "学校"
    COMMITTEE = "committee", "党委"
    GENERAL_BRANCH = "general_branch", "党总支"
    BRANCH = "branch", "党支部"


PARTY_KINDS = frozenset({OrgKind.COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH})
# The unit types an inspection draws from (the report's 15 villages/communities, 2 enterprises, ...).
UNIT_KINDS = frozenset(set(OrgKind) - PARTY_KINDS)


class OrganisationQuerySet(ScopedQuerySet):
    def party(self):
        return self.filter(kind__in=PARTY_KINDS)

    def units(self):
        return self.exclude(kind__in=PARTY_KINDS)

    def descendants_of(self, org: Organisation, include_self: bool = True):
        qs = self.filter(subtree_q("path", org.path))
        return qs if include_self else qs.exclude(pk=org.pk)

    def search(self, text: str):
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(name__icontains=text) | Q(code__istartswith=text) | Q(initials__istartswith=text.lower())
        )


class Organisation(models.Model):
    """A node of the organisation tree: a unit (county, town, village, department, enterprise, …) or a party organisation."""

    scope_org_fields = ("",)

    code = models.CharField("组织编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=OrgKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=252, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(editable=False, default=1)
    full_name = models.CharField("全称", max_length=500, db_index=True, editable=False)
    initials = models.CharField("拼音首字母", max_length=100, db_index=True, blank=True, editable=False)
    next_child = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField("有效", default=True)
    address = models.CharField("地址", max_length=200, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    system = models.CharField("所属系统", max_length=50, blank=True, help_text="e.g. 卫生系统, 教育系统")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = "组织"
        verbose_name_plural = "组织"
        indexes = [
            models.Index(fields=["kind", "path"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(code=""), name="org_code_not_empty"),
            models.CheckConstraint(
                condition=Q(parent__isnull=True, depth=1) | Q(parent__isnull=False, depth__gt=1),
                name="org_depth_matches_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_party(self) -> bool:
        return self.kind in PARTY_KINDS

    def ancestors(self):
        prefixes = [self.path[:i] for i in range(4, len(self.path), 4)]
        return Organisation.objects.filter(path__in=prefixes).order_by("path")

    def is_in_subtree_of(self, other: Organisation) -> bool:
        return self.path.startswith(other.path)


class Person(models.Model):
    """A natural person. ID number and phone are personal data: shown masked unless the viewer may unmask."""

    class Gender(models.TextChoices):
        MALE = "M", "男"
        FEMALE = "F", "女"

    name = models.CharField("姓名", max_length=50)
    initials = models.CharField(max_length=30, blank=True, db_index=True)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices)
    ethnicity = models.CharField("民族", max_length=20, default="汉族")
    birth_date = models.DateField("出生日期", null=True, blank=True)
    id_number = models.CharField("身份证号", max_length=18, unique=True, null=True, blank=True)
    phone = models.CharField("手机号", max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "人员"
        verbose_name_plural = "人员"
        constraints = [
            models.CheckConstraint(condition=Q(id_number__isnull=True) | Q(id_number__regex=r"^[0-9]{17}[0-9X]$"),
                                   name="person_id_number_shape"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number or "")

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class MemberQuerySet(ScopedQuerySet):
    def active(self):
        return self.exclude(status=Member.Status.LEFT)


class Member(models.Model):
    """A party member: a Person with member facts, belonging to a primary organisation (and, 一联双管, a managing one)."""

    scope_org_fields = ("org", "managing_org")

    class Category(models.TextChoices):
        PROBATIONARY = "probationary", "预备党员"
        FULL = "full", "正式党员"

    class Status(models.TextChoices):
        ACTIVE = "active", "在册"
        RETIRED = "retired", "离退休"
        FLOWING = "flowing", "流动党员"
        LIMITED = "limited_mobility", "行动不便"
        LEFT = "left", "已转出"

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="member")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="members", verbose_name="所在党组织")
    managing_org = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="managed_members",
        verbose_name="双管组织",
    )
    category = models.CharField("人员类别", max_length=20, choices=Category.choices, default=Category.FULL)
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.ACTIVE)
    join_date = models.DateField("入党日期")
    full_date = models.DateField("转正日期", null=True, blank=True)
    education = models.CharField("学历", max_length=20, blank=True)
    occupation = models.CharField("职业", max_length=50, blank=True)
    on_the_job = models.BooleanField("在职", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = "党员"
        verbose_name_plural = "党员"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(full_date__isnull=True) | Q(full_date__gte=F("join_date")),
                                   name="member_full_after_join"),
            models.CheckConstraint(condition=~Q(managing_org=F("org")), name="member_managing_differs"),
        ]
        indexes = [models.Index(fields=["org", "status"]), models.Index(fields=["join_date"])]

    def __str__(self) -> str:
        return self.person.name


class Membership(models.Model):
    """One period of a member's organisation relationship (组织关系): transfers are a closed row and a new one."""

    scope_org_fields = ("org",)

    class Kind(models.TextChoices):
        PRIMARY = "primary", "组织关系所在"
        MANAGING = "managing", "双管（一联双管）"

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="memberships")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PRIMARY)
    start = models.DateField("转入日期")
    end = models.DateField("转出日期", null=True, blank=True)
    reason_in = models.CharField(max_length=100, blank=True)
    reason_out = models.CharField(max_length=100, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "kind"], condition=Q(end__isnull=True),
                                    name="one_open_membership_per_kind"),
            models.CheckConstraint(condition=Q(end__isnull=True) | Q(end__gte=F("start")), name="membership_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.member} @ {self.org} {self.start}–{self.end or ''}"


class Resident(models.Model):
    """A resident (群众) of a village or community: who has needs, reports problems and evaluates."""

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="resident")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="residents", verbose_name="所在村社区")
    household = models.CharField("户号", max_length=40, blank=True)
    address = models.CharField("住址", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "居民"
        verbose_name_plural = "居民"

    def __str__(self) -> str:
        return self.person.name


class User(AbstractUser):
    """A login. Linked to the Person it belongs to; its rights are its Roles."""

    person = models.OneToOneField(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="user")

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"


class Role(models.Model):
    """A right of a user over an organisation's subtree."""

    scope_org_fields = ("org",)

    class Kind(models.TextChoices):
        COUNTY_ADMIN = "county_admin", "县级管理员"
        ORG_ADMIN = "org_admin", "组织管理员"
        SECRETARY = "secretary", "书记"
        GRID_WORKER = "grid_worker", "网格员"
        DUTY_OFFICER = "duty_officer", "值班员"
        INSPECTOR = "inspector", "督查员"
        MEMBER = "member", "党员"
        RESIDENT = "resident", "群众"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="roles")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "org"], name="role_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()} · {self.org}"


class ContactPoint(models.Model):
    """A leader's link to a unit he or she guides (联系点: 联村、联企、联部门、联下属单位)."""

    scope_org_fields = ("org",)

    class Kind(models.TextChoices):
        VILLAGE = "village", "联村（社区）"
        ENTERPRISE = "enterprise", "联企"
        DEPARTMENT = "department", "联部门"
        TOWN = "town", "联镇"
        SUBORDINATE = "subordinate", "联下属单位"

    leader = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="contact_points", verbose_name="联系领导")
    leader_title = models.CharField("职务", max_length=60, blank=True)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="contact_points", verbose_name="联系单位")
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    start = models.DateField("起始日期")
    end = models.DateField("结束日期", null=True, blank=True)
    notes = models.TextField("备注", blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "联系点"
        verbose_name_plural = "联系点"
        constraints = [
            models.UniqueConstraint(fields=["leader", "org"], condition=Q(end__isnull=True), name="contact_point_open_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.leader} → {self.org}"


class GuidanceVisit(models.Model):
    """One guidance visit a leader made to a contact point, with its follow-ups."""

    scope_org_fields = ("contact_point__org",)

    contact_point = models.ForeignKey(ContactPoint, on_delete=models.PROTECT, related_name="visits")
    date = models.DateField("日期")
    notes = models.TextField("指导内容")
    follow_ups = models.TextField("后续事项", blank=True)
    follow_ups_done = models.BooleanField("已落实", default=False)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.contact_point} {self.date}"


class GuidanceGroup(models.Model):
    """A guidance group (指导组) guiding the grassroots units of one system."""

    scope_org_fields = ("org",)

    name = models.CharField("名称", max_length=100)
    system = models.CharField("系统", max_length=50)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="guidance_groups",
                            verbose_name="组建单位")
    leader = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    people = models.ManyToManyField(Person, blank=True, related_name="guidance_groups")
    units = models.ManyToManyField(Organisation, blank=True, related_name="guiding_groups")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "指导组"
        verbose_name_plural = "指导组"

    def __str__(self) -> str:
        return self.name


class LinkRequest(models.Model):
    """A request to make a person outside the requester's scope a member of one of the requester's organisations
    (关联申请). The person's current organisation (`holder`; for a person with none, the county or the person
    themself) accepts or declines; until it is accepted nothing about the person changes."""

    scope_org_fields = ("org",)

    class Status(models.TextChoices):
        PENDING = "pending", "待同意"
        ACCEPTED = "accepted", "已同意"
        DECLINED = "declined", "已拒绝"
        CANCELLED = "cancelled", "已撤回"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="link_requests")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="link_requests_in",
                            verbose_name="申请加入的组织")
    holder = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="link_requests_out", verbose_name="此人现属组织")
    member_fields = models.JSONField("党员信息", default=dict,
                                     help_text="join_date, full_date, category, status, education, occupation, on_the_job")
    note = models.CharField("说明", max_length=200, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField("处理意见", max_length=200, blank=True)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "关联申请"
        verbose_name_plural = "关联申请"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "org"], condition=Q(status="pending"),
                                    name="link_request_one_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.person} → {self.org}"
