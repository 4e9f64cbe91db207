"""FilterSets shared by the HTML lists and the API."""

import datetime as dt

import django_filters
from django.db.models import Q

from xianfeng.core.scoping import subtree_q

from .models import Member, Organisation, OrgKind


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
    within = django_filters.NumberFilter(method="filter_within", label="所属组织（含下级）")
    status = django_filters.ChoiceFilter(choices=Member.Status.choices, label="状态")
    category = django_filters.ChoiceFilter(choices=Member.Category.choices, label="人员类别")
    age_min = django_filters.NumberFilter(method="filter_age_min", label="年龄不小于")
    age_max = django_filters.NumberFilter(method="filter_age_max", label="年龄不大于")
    join_year = django_filters.NumberFilter(field_name="join_date", lookup_expr="year", label="入党年份")
    gender = django_filters.ChoiceFilter(field_name="person__gender", choices=[("M", "男"), ("F", "女")], label="性别")

    class Meta:
        model = Member
        fields = ["q", "within", "status", "category", "age_min", "age_max", "join_year", "gender"]

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
