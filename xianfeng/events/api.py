"""/api/v1/ endpoints for activities, attendance and teams.

Reads go through the policies (xianfeng.events.policies: `visible(Model, user, action)`); writes call services.py. An object
outside the caller's scope for the action answers 404 exactly like a missing one.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core.api import ScopedViewSetMixin, StrictFieldsMixin, StrictInputSerializer, scoped_get
from xianfeng.core.policy import allows, ensure, get_or_404, visible
from xianfeng.orgs.models import Member, Organisation, Person

from . import services
from .filters import ActivityFilter, AttendanceFilter
from .models import Activity, Attendance, Audience, Registration, Team

NOT_FOUND = OpenApiResponse(description="missing, or outside the caller's scope for this action (the same answer)")
BAD_INPUT = OpenApiResponse(description="bad input: {field: [reasons]}; nothing was written")
MAX_ID = 2**63 - 1


class ActivitySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    org = serializers.IntegerField(source="org_id", min_value=1, max_value=MAX_ID)
    team = serializers.IntegerField(source="team_id", min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    capacity = serializers.IntegerField(min_value=1, max_value=100000, required=False, allow_null=True)

    class Meta:
        model = Activity
        fields = ["id", "kind", "kind_display", "title", "org", "org_name", "team", "starts_at", "ends_at", "place",
                  "capacity", "audience", "lecturer", "topic", "materials", "description", "status",
                  "registered_count"]
        read_only_fields = ["status", "registered_count"]


class ActivityUpdateInput(StrictInputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    team = serializers.IntegerField(source="team_id", min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    capacity = serializers.IntegerField(min_value=1, max_value=100000, required=False, allow_null=True)
    audience = serializers.ChoiceField(choices=Audience.choices, required=False)
    lecturer = serializers.CharField(max_length=100, required=False, allow_blank=True)
    topic = serializers.CharField(max_length=200, required=False, allow_blank=True)
    materials = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class RegistrationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Registration
        fields = ["id", "activity", "person", "status", "queued_at"]


class AttendanceSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    hours = serializers.FloatField(read_only=True)

    class Meta:
        model = Attendance
        fields = ["id", "activity", "person", "person_name", "member", "member_expected", "method", "check_in_at",
                  "check_out_at", "minutes", "hours", "hours_status", "auto_closed", "review_note", "decided_at"]


class TeamSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name", read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "org", "org_name", "leader", "skills", "description", "open_to_requests", "is_active"]


class CheckInInput(StrictInputSerializer):
    token = serializers.CharField(max_length=300, help_text="the rotating code from the organiser's screen")


@extend_schema_serializer(component_name="AttendanceRecordInput")
class RecordInput(StrictInputSerializer):
    person_code = serializers.CharField(max_length=300, required=False,
                                        help_text="an attendee's personal code (organiser's scan)")
    member = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                      help_text="a member recorded by hand (audited)")
    check_in_at = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if bool(attrs.get("person_code")) == bool(attrs.get("member")):
            raise serializers.ValidationError({"non_field_errors": ["请给出 person_code 或 member 之一"]})
        return attrs


class CheckOutInput(StrictInputSerializer):
    check_out_at = serializers.DateTimeField(required=False)


class ApproveInput(StrictInputSerializer):
    minutes = serializers.IntegerField(min_value=0, max_value=24 * 60, required=False)


class DeclineInput(StrictInputSerializer):
    reason = serializers.CharField(max_length=300)


def parse(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _person(request) -> Person:
    person = getattr(request.user, "person", None)
    if person is None:
        raise ValidationError({"non_field_errors": ["账号未关联人员"]})
    return person


@extend_schema_view(
    list=extend_schema(summary="Activities the caller may see (scope, audience, teams, public)"),
    retrieve=extend_schema(summary="One activity", responses={200: ActivitySerializer, 404: NOT_FOUND}),
)
class ActivityViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Activity.objects.select_related("org").order_by("-starts_at", "-id")
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    scope_actions = {"cancel": "change", "attendance": "change", "record": "change", "partial_update": "change"}
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return visible(self.queryset, self.request.user, self.get_scope_action())

    @extend_schema(summary="Plan an activity of an organisation the caller may change",
                   responses={201: ActivitySerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    def create(self, request):
        data = parse(ActivitySerializer, request)
        org = scoped_get(Organisation.objects, request.user, "change", data.pop("org_id"))
        team_id = data.pop("team_id", None)
        team = scoped_get(Team.objects, request.user, "view", team_id) if team_id else None
        activity = services.activity_create(org=org, team=team, actor=request.user, **data)
        return Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a planned activity (kind and organiser stay; those signed up hear of a new time "
                           "or place)", request=ActivityUpdateInput,
                   responses={200: ActivitySerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    def partial_update(self, request, pk=None):
        activity = self.get_object()
        data = parse(ActivityUpdateInput, request)
        if "team_id" in data:
            team_id = data.pop("team_id")
            data["team"] = scoped_get(Team.objects, request.user, "view", team_id) if team_id else None
        activity = services.activity_update(activity=activity, actor=request.user, **data)
        return Response(ActivitySerializer(activity).data)

    @extend_schema(summary="Cancel the activity (those signed up are told)", request=None,
                   responses={200: ActivitySerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        activity = services.activity_cancel(activity=self.get_object(), actor=request.user)
        return Response(ActivitySerializer(activity).data)

    @extend_schema(summary="Sign the caller up (a place, or the waiting list when full)", request=None,
                   responses={200: RegistrationSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def signup(self, request, pk=None):
        reg = services.activity_signup(activity=self.get_object(), person=_person(request), actor=request.user)
        return Response(RegistrationSerializer(reg).data)

    @extend_schema(summary="Withdraw the caller's sign-up", request=None,
                   responses={200: RegistrationSerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["post"], url_path="signup/cancel")
    def signup_cancel(self, request, pk=None):
        reg = get_or_404(Registration.objects.filter(activity=self.get_object()), person=_person(request))
        return Response(RegistrationSerializer(services.registration_cancel(registration=reg, actor=request.user)).data)

    @extend_schema(summary="Check the caller in with the rotating code (idempotent: once per person)",
                   request=CheckInInput, responses={200: AttendanceSerializer, 201: AttendanceSerializer,
                                                    400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def checkin(self, request, pk=None):
        activity = self.get_object()
        data = parse(CheckInInput, request)
        try:
            activity_id = services.checkin_token_read(data["token"])
        except services.TokenError as exc:
            raise ValidationError({"token": exc.messages}) from None
        if activity_id != activity.pk:
            raise ValidationError({"token": ["签到码不属于该活动"]})
        att, created = services.attendance_check_in(activity=activity, person=_person(request),
                                                    method=Attendance.Method.ROTATING_QR, actor=request.user)
        return Response(AttendanceSerializer(att).data, status=status.HTTP_201_CREATED if created else 200)

    @extend_schema(summary="The organiser records an attendee: a scanned personal code, or a member by hand",
                   request=RecordInput, responses={200: AttendanceSerializer, 201: AttendanceSerializer,
                                                   400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        activity = self.get_object()
        data = parse(RecordInput, request)
        if data.get("person_code"):
            try:
                person = Person.objects.get(pk=services.personal_code_read(data["person_code"]))
            except services.TokenError as exc:
                raise ValidationError({"person_code": exc.messages}) from None
            method, at = Attendance.Method.PERSONAL_QR, None
        else:
            person = scoped_get(Member.objects.select_related("person"), request.user, "view", data["member"]).person
            method, at = Attendance.Method.MANUAL, data.get("check_in_at")
        att, created = services.attendance_check_in(activity=activity, person=person, method=method, at=at,
                                                    actor=request.user)
        return Response(AttendanceSerializer(att).data, status=status.HTTP_201_CREATED if created else 200)

    @extend_schema(summary="Everyone who attended (the organiser's sheet)", filters=False,
                   responses={200: AttendanceSerializer(many=True), 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def attendance(self, request, pk=None):
        activity = self.get_object()
        qs = activity.attendances.select_related("person").order_by("check_in_at", "id")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(AttendanceSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Attendance rows of activities in the caller's scope"),
    retrieve=extend_schema(summary="One attendance row", responses={200: AttendanceSerializer, 404: NOT_FOUND}),
)
class AttendanceViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    queryset = Attendance.objects.select_related("person", "activity").order_by("-check_in_at", "-id")
    serializer_class = AttendanceSerializer
    filterset_class = AttendanceFilter
    scope_actions = {"approve": "change", "decline": "change"}

    def get_object(self):
        if self.action == "check_out":  # the attendee's own row, or any row the caller may change
            att = get_or_404(Attendance.objects.select_related("activity__org"), pk=self.kwargs["pk"])
            ensure(allows(self.request.user, "check_out", att))
            return att
        return super().get_object()

    @extend_schema(summary="Check out of a volunteer activity (the hours then wait for review)",
                   request=CheckOutInput, responses={200: AttendanceSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request, pk=None):
        att = self.get_object()
        data = parse(CheckOutInput, request)
        at = data.get("check_out_at") if allows(request.user, "change", att) else None
        return Response(AttendanceSerializer(services.attendance_check_out(attendance=att, at=at, actor=request.user)).data)

    @extend_schema(summary="Approve pending hours (optionally fewer minutes); members earn points once",
                   request=ApproveInput, responses={200: AttendanceSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = parse(ApproveInput, request)
        att = services.hours_approve(attendance=self.get_object(), minutes=data.get("minutes"), actor=request.user)
        return Response(AttendanceSerializer(att).data)

    @extend_schema(summary="Decline pending hours with a reason (the row stays)", request=DeclineInput,
                   responses={200: AttendanceSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        data = parse(DeclineInput, request)
        att = services.hours_decline(attendance=self.get_object(), reason=data["reason"], actor=request.user)
        return Response(AttendanceSerializer(att).data)


@extend_schema_view(
    list=extend_schema(summary="Volunteer teams the caller may see"),
    retrieve=extend_schema(summary="One team", responses={200: TeamSerializer, 404: NOT_FOUND}),
)
class TeamViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Team.objects.select_related("org").order_by("org__path", "name", "id")
    serializer_class = TeamSerializer

    def get_queryset(self):
        return visible(self.queryset, self.request.user, self.get_scope_action())


def register(router) -> None:
    router.register("events/activities", ActivityViewSet, basename="events-activity")
    router.register("events/attendance", AttendanceViewSet, basename="events-attendance")
    router.register("events/teams", TeamViewSet, basename="events-team")


