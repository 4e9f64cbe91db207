"""/api/v1/ endpoints: grids (read), cases (read, open, and every transition through one action endpoint).

Reads go through `restrict(user, "view")` (a resident also sees his or her own reports); writes call the services
through the same `perform` the pages use. Out of scope answers 404 exactly like missing.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core.api import Pagination, ScopedReadOnlyViewSet, StrictInputSerializer
from xianfeng.orgs.models import Organisation, Role

from . import services
from .models import Case, CaseCategory, Grid
from .policies import ALL_ACTIONS
from .selectors import visible_case
from .views import perform

NOT_FOUND = OpenApiResponse(description="missing, or outside the caller's scope (the same answer)")


class GridSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name", read_only=True)

    class Meta:
        model = Grid
        fields = ["id", "code", "name", "org", "org_name", "is_default", "boundary"]


class CaseSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Case
        fields = ["id", "number", "org", "grid", "outside_grids", "category", "category_code", "description",
                  "address", "latitude", "longitude", "source", "status", "status_display", "handling_unit",
                  "due_at", "escalation_level", "outcome", "outcome_note", "transferred_to", "merged_into",
                  "rating", "created_at", "updated_at", "closed_at", "closed_on_time"]


class CaseOpenInput(StrictInputSerializer):
    category = serializers.SlugRelatedField(slug_field="code", queryset=CaseCategory.objects.filter(is_active=True))
    description = serializers.CharField(max_length=2000)
    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)
    address = serializers.CharField(required=False, allow_blank=True, max_length=200)
    org = serializers.IntegerField(required=False)
    reporter_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    reporter_phone = serializers.CharField(required=False, allow_blank=True, max_length=20)


class TransitionInput(StrictInputSerializer):
    action = serializers.ChoiceField(choices=sorted(ALL_ACTIONS))
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    unit = serializers.IntegerField(required=False)
    outcome = serializers.ChoiceField(choices=Case.Outcome.choices, required=False)
    transferred_to = serializers.IntegerField(required=False)
    into = serializers.CharField(required=False, max_length=20)
    rating = serializers.ChoiceField(choices=Case.Rating.choices, required=False)


class GridViewSet(ScopedReadOnlyViewSet):
    queryset = Grid.objects.select_related("org").order_by("code")
    serializer_class = GridSerializer


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CaseSerializer
    pagination_class = Pagination

    def get_queryset(self):
        return Case.objects.restrict(self.request.user, "view").select_related("category").order_by("-created_at",
                                                                                                    "-id")

    def get_object(self):
        return visible_case(self.request.user, self.kwargs["pk"])

    @extend_schema(summary="Open a case (a resident for himself, or staff for a resident)", request=CaseOpenInput,
                   responses={201: CaseSerializer, 400: OpenApiResponse(description="field errors")})
    def create(self, request):
        data = CaseOpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        org = None
        if d.get("org") is not None:
            org = Organisation.objects.restrict(request.user, "view").filter(pk=d["org"]).first()
            if org is None:
                raise ValidationError({"org": ["没有该组织或无权限"]})
        staff = org is not None
        if not staff:
            org = Organisation.objects.filter(roles__user=request.user, roles__kind=Role.Kind.RESIDENT).first()
        case = services.case_open(
            category=d["category"], description=d["description"], actor=request.user,
            source=Case.Source.STAFF if staff else Case.Source.PORTAL, org=org, lat=d.get("latitude"),
            lng=d.get("longitude"), address=d.get("address", ""), reporter=None if staff else request.user,
            reporter_name=d.get("reporter_name", ""), reporter_phone=d.get("reporter_phone", ""))
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="One step of the case's lifecycle", request=TransitionInput,
                   responses={200: CaseSerializer, 400: OpenApiResponse(description="out of order, with the reason"),
                              404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        case = self.get_object()
        data = TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = dict(data.validated_data)
        perform(case, request.user, d.pop("action"), {k: v for k, v in d.items()})
        return Response(CaseSerializer(Case.objects.get(pk=case.pk)).data)


def register(router) -> None:
    router.register("grids", GridViewSet, basename="grid")
    router.register("cases", CaseViewSet, basename="case")
