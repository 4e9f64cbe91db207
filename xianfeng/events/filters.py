"""FilterSets shared by the API (and usable by the pages)."""

import django_filters

from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import Organisation

from .models import Activity, ActivityKind, Attendance

_MAX_ID = 2**63 - 1


def _within(field: str, value):
    org = Organisation.objects.filter(pk=value).only("path").first()
    return None if org is None else subtree_q(field, org.path)


class ActivityFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ActivityKind.choices, label="类型")
    within = django_filters.NumberFilter(method="filter_within", label="组织单位（含下级）", min_value=1,
                                         max_value=_MAX_ID, decimal_places=0)
    team = django_filters.NumberFilter(field_name="team_id", label="服务团ID", min_value=1, max_value=_MAX_ID,
                                       decimal_places=0)
    start = django_filters.DateFilter(field_name="starts_at__date", lookup_expr="gte", label="开始日期不早于")
    end = django_filters.DateFilter(field_name="starts_at__date", lookup_expr="lte", label="开始日期不晚于")
    status = django_filters.ChoiceFilter(choices=Activity.Status.choices, label="状态")

    class Meta:
        model = Activity
        fields = ["kind", "within", "team", "start", "end", "status"]

    def filter_within(self, queryset, name, value):
        q = _within("org__path", value)
        return queryset.none() if q is None else queryset.filter(q)


class AttendanceFilter(django_filters.FilterSet):
    activity = django_filters.NumberFilter(field_name="activity_id", label="活动ID", min_value=1, max_value=_MAX_ID,
                                           decimal_places=0)
    within = django_filters.NumberFilter(method="filter_within", label="活动组织单位（含下级）", min_value=1,
                                         max_value=_MAX_ID, decimal_places=0)
    hours_status = django_filters.ChoiceFilter(choices=Attendance.Hours.choices, label="时长状态")
    kind = django_filters.ChoiceFilter(field_name="activity__kind", choices=ActivityKind.choices, label="活动类型")
    start = django_filters.DateFilter(field_name="check_in_at__date", lookup_expr="gte", label="签到日期不早于")
    end = django_filters.DateFilter(field_name="check_in_at__date", lookup_expr="lte", label="签到日期不晚于")

    class Meta:
        model = Attendance
        fields = ["activity", "within", "hours_status", "kind", "start", "end"]

    def filter_within(self, queryset, name, value):
        q = _within("activity__org__path", value)
        return queryset.none() if q is None else queryset.filter(q)
