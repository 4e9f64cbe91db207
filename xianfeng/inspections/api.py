"""/api/v1/inspections/: inspections in the caller's inspect scope, their rates, and response submission.

`GET /api/v1/inspections/{id}/rates/` answers each rate as {name, x, n, estimate, ci_low, ci_high, method,
response_rate} (plus the distribution and warnings). `POST /api/v1/inspection-responses/` is what the phone page
sends (and resends after a dropped connection): the client's key makes a replay return the first response with 200.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response as ApiResponse

from xianfeng.core import policy
from xianfeng.core.api import ScopedViewSetMixin, StrictInputSerializer
from xianfeng.orgs.models import Organisation

from . import analysis, services
from .models import Inspection, Method, Questionnaire, RespondentType, Response

NOT_FOUND = OpenApiResponse(description="missing, or outside the caller's scope (the same answer)")


class InspectionSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name", read_only=True)

    class Meta:
        model = Inspection
        fields = ["id", "name", "group_name", "org", "org_name", "start", "end", "status", "quotas",
                  "questionnaires_issued", "satisfaction_mode", "interval_method"]


class RateSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    x = serializers.FloatField()
    n = serializers.IntegerField()
    estimate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    method = serializers.CharField()
    response_rate = serializers.FloatField(allow_null=True)
    item_response_rate = serializers.FloatField(allow_null=True)
    questionnaire = serializers.IntegerField()
    distribution = serializers.ListField(child=serializers.DictField())
    warnings = serializers.ListField(child=serializers.CharField())


@extend_schema_view(
    list=extend_schema(summary="Inspections in the caller's inspect scope"),
    retrieve=extend_schema(summary="One inspection", responses={200: InspectionSerializer, 404: NOT_FOUND}),
)
class InspectionViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    queryset = Inspection.objects.select_related("org").order_by("-start", "-id")
    serializer_class = InspectionSerializer
    scope_action = "inspect"

    @extend_schema(summary="Survey rates with n, 95 % interval, method and response rate",
                   responses={200: RateSerializer(many=True), 404: NOT_FOUND})
    @action(detail=True, methods=["get"], pagination_class=None)
    def rates(self, request, pk=None):
        inspection = self.get_object()
        data = [dict(r) for r in analysis.survey_rates(inspection)]
        return ApiResponse(RateSerializer(data, many=True).data)


class ResponseInput(StrictInputSerializer):
    questionnaire = serializers.IntegerField()
    client_key = serializers.CharField(max_length=64)
    respondent_type = serializers.ChoiceField(choices=RespondentType.choices)
    method = serializers.ChoiceField(choices=Method.choices)
    unit = serializers.IntegerField(required=False, allow_null=True)
    answers = serializers.DictField()
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    lang = serializers.ChoiceField(choices=[("zh", "zh"), ("en", "en")], required=False, default="zh")


class ResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Response
        fields = ["id", "questionnaire", "inspection", "unit", "stratum", "respondent_type", "method", "answers",
                  "client_key", "submitted_at"]


class ResponseViewSet(ScopedViewSetMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    queryset = Response.objects.select_related("questionnaire")
    serializer_class = ResponseSerializer
    scope_action = "inspect"

    @extend_schema(summary="Submit a filled questionnaire (idempotent by client_key)", request=ResponseInput,
                   responses={201: ResponseSerializer, 200: ResponseSerializer, 400: OpenApiResponse(
                       description="{question: [reason]}: nothing was stored"), 404: NOT_FOUND})
    def create(self, request, *args, **kwargs):
        serializer = ResponseInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        questionnaire = policy.get_visible(Questionnaire.objects.select_related("inspection__org"), request.user,
                                           "inspect", pk=data.pop("questionnaire"))
        unit = None
        if data.get("unit") is not None:
            unit = Organisation.objects.filter(pk=data["unit"]).first()
            if unit is None:
                raise ValidationError({"unit": ["单位不存在"]})
        data.pop("unit", None)
        response, created = services.response_submit(questionnaire=questionnaire, unit=unit, actor=request.user, **data)
        return ApiResponse(ResponseSerializer(response).data,
                           status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def register(router) -> None:
    router.register("inspections", InspectionViewSet, basename="inspections-inspection")
    router.register("inspection-responses", ResponseViewSet, basename="inspections-response")

