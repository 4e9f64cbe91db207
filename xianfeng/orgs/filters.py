"""FilterSets shared by the HTML lists and the API."""

import datetime as dt

import django_filters
from django.db.models import Q

from xianfeng.core import indicators
from xianfeng.core.scoping import subtree_q

from .models import ContactPoint, GuidanceVisit, Member, Organisation, OrgKind

_MAX_ID = 2**63 - 1  # ids are bigint: a filter by id takes a whole number in this range (bounds below)


class OrganisationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="名称、编码或拼音首字母")
    kind = django_filters.ChoiceFilter(choices=OrgKind.choices, label="类型")
    parent = django_filters.NumberFilter(field_name="parent_id", label="上级组织ID")
    within = django_filters.NumberFilter(method="filter_within", label="所属组织（含下级）")

    class Meta:
        model = Organisation
        fields = ["q", "kind", "parent", "within"]

    def filter_q(self, queryset, name, value):
        return queryset.search(value)

    def filter_within(self, queryset, name, value):
        org = Organisation.objects.filter(pk=value).only("path").first()
        if org is None:
            return queryset.none()
        return queryset.filter(subtree_q("path", org.path))


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="姓名或拼音首字母")
    within = django_filters.NumberFilter(method="filter_within", label="所属组织（含下级，含双管）")
    dual = django_filters.NumberFilter(method="filter_dual", label="双管到该组织（含下级）的党员")
    status = django_filters.ChoiceFilter(choices=Member.Status.choices, label="状态")
    category = django_filters.ChoiceFilter(choices=Member.Category.choices, label="人员类别")
    age_min = django_filters.NumberFilter(method="filter_age_min", label="年龄不小于")
    age_max = django_filters.NumberFilter(method="filter_age_max", label="年龄不大于")
    join_year = django_filters.NumberFilter(field_name="join_date", lookup_expr="year", label="入党年份")
    gender = django_filters.ChoiceFilter(field_name="person__gender", choices=[("M", "男"), ("F", "女")], label="性别")
    # the figures' populations (xianfeng.core.indicators): members by the organisation they belong to (not the one
    # managing them), not transferred out, and those who have made a pledge
    org = django_filters.NumberFilter(method="filter_org", label="所在党组织（含下级，不含代管）")
    current = django_filters.ChoiceFilter(choices=[("1", "是"), ("0", "否")], method="filter_current",
                                          label="在册（不含已转出）")
    pledged = django_filters.ChoiceFilter(choices=[("1", "是"), ("0", "否")], method="filter_pledged",
                                          label="已作出承诺")

    class Meta:
        model = Member
        fields = ["q", "within", "status", "category", "age_min", "age_max", "join_year", "gender", "org", "current",
                  "pledged"]

    def filter_org(self, queryset, name, value):
        org = Organisation.objects.filter(pk=value).only("path").first()
        if org is None:
            return queryset.none()
        return queryset.filter(subtree_q("org__path", org.path))

    def filter_current(self, queryset, name, value):
        if value == "1":
            return queryset.exclude(status=Member.Status.LEFT)
        return queryset.filter(status=Member.Status.LEFT)

    def filter_pledged(self, queryset, name, value):
        """The members behind the figure "members who made a pledge" (the pledges app registers it)."""
        measure = indicators.get("pledges.members_pledged").numerator
        if measure is None:
            return queryset.none()
        pledged = measure.records().values("pk")
        return queryset.filter(pk__in=pledged) if value == "1" else queryset.exclude(pk__in=pledged)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(person__name__contains=value) | Q(person__initials__istartswith=value.lower()))

    def filter_within(self, queryset, name, value):
        org = Organisation.objects.filter(pk=value).only("path").first()
        if org is None:
            return queryset.none()
        return queryset.filter(subtree_q("org__path", org.path) | subtree_q("managing_org__path", org.path))

    def filter_dual(self, queryset, name, value):
        """Dual-managed into the subtree: managed there, their own organisation outside it (selectors.MemberCounts)."""
        org = Organisation.objects.filter(pk=value).only("path").first()
        if org is None:
            return queryset.none()
        return queryset.filter(subtree_q("managing_org__path", org.path)).exclude(subtree_q("org__path", org.path))

    @staticmethod
    def _born_before(years: int) -> dt.date:
        today = dt.date.today()
        try:
            return today.replace(year=today.year - years)
        except ValueError:
            return today.replace(year=today.year - years, day=28)

    def filter_age_min(self, queryset, name, value):
        return queryset.filter(person__birth_date__lte=self._born_before(int(value)))

    def filter_age_max(self, queryset, name, value):
        return queryset.filter(person__birth_date__gt=self._born_before(int(value) + 1))


# Bounds on the numeric filters, so a query string like ?age_min=5000 or ?within=1e30 is a form error (400 in the
# API, ignored on the pages) instead of a date or integer overflow.
for _filters, _bounds in (
    (OrganisationFilter.base_filters, {"parent": (1, _MAX_ID), "within": (1, _MAX_ID)}),
    (MemberFilter.base_filters, {"within": (1, _MAX_ID), "dual": (1, _MAX_ID), "org": (1, _MAX_ID),
                                 "age_min": (0, 150), "age_max": (0, 150), "join_year": (1900, 2100)}),
):
    for _name, (_low, _high) in _bounds.items():
        _filters[_name].extra.update(min_value=_low, max_value=_high, decimal_places=0)


def _within_org(field: str, value):
    """Q for rows whose `field` (a path column) lies in the subtree of organisation `value`; None if it is missing."""
    org = Organisation.objects.filter(pk=value).only("path").first()
    return None if org is None else subtree_q(field, org.path)


class ContactPointFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="联系领导或联系单位名称")
    within = django_filters.NumberFilter(method="filter_within", label="所属组织（含下级）", min_value=1,
                                         max_value=_MAX_ID, decimal_places=0)
    kind = django_filters.ChoiceFilter(choices=ContactPoint.Kind.choices, label="类型")
    leader = django_filters.NumberFilter(field_name="leader_id", label="联系领导（人员ID）", min_value=1,
                                         max_value=_MAX_ID, decimal_places=0)
    open = django_filters.BooleanFilter(field_name="end", lookup_expr="isnull", label="仍在联系")

    class Meta:
        model = ContactPoint
        fields = ["q", "within", "kind", "leader", "open"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(leader__name__contains=value) | Q(org__name__contains=value))

    def filter_within(self, queryset, name, value):
        q = _within_org("org__path", value)
        return queryset.none() if q is None else queryset.filter(q)


class GuidanceVisitFilter(django_filters.FilterSet):
    contact_point = django_filters.NumberFilter(field_name="contact_point_id", label="联系点ID", min_value=1,
                                                max_value=_MAX_ID, decimal_places=0)
    within = django_filters.NumberFilter(method="filter_within", label="所属组织（含下级）", min_value=1,
                                         max_value=_MAX_ID, decimal_places=0)
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label="日期不早于")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="日期不晚于")
    follow_ups_done = django_filters.BooleanFilter(label="后续事项已落实")

    class Meta:
        model = GuidanceVisit
        fields = ["contact_point", "within", "date_from", "date_to", "follow_ups_done"]

    def filter_within(self, queryset, name, value):
        q = _within_org("contact_point__org__path", value)
        return queryset.none() if q is None else queryset.filter(q)
