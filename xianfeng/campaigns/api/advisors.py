"""/api/v1/ advisor batches, placements, monthly logs and 双强 evaluations."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from xianfeng.core.api import ScopedViewSetMixin, StrictInputSerializer
from xianfeng.core.ids import parse_id_number
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Person

from .. import services
from ..models import (
    PARTY_CHECKLIST,
    Advisor,
    AdvisorBatch,
)
from .common import BAD, NOT_FOUND, _created, _org


class BatchInput(StrictInputSerializer):
    org = serializers.IntegerField()
    name = serializers.CharField(max_length=100)
    start = serializers.DateField()
    end = serializers.DateField()


class PlaceInput(StrictInputSerializer):
    enterprise = serializers.IntegerField()
    name = serializers.CharField(max_length=50)
    id_number = serializers.CharField(max_length=18)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    former_post = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class LogInput(StrictInputSerializer):
    month = serializers.DateField()
    text = serializers.CharField(max_length=4000)
    hours = serializers.IntegerField(min_value=0, max_value=744, default=0)


class EvaluationInput(StrictInputSerializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    output_wan = serializers.DecimalField(max_digits=12, decimal_places=1, min_value=0)
    output_growth_pct = serializers.DecimalField(max_digits=6, decimal_places=1)
    tax_wan = serializers.DecimalField(max_digits=12, decimal_places=1, min_value=0)
    employees = serializers.IntegerField(min_value=0)
    checklist = serializers.DictField(child=serializers.BooleanField())

    def validate_checklist(self, value):
        unknown = set(value) - {code for code, _ in PARTY_CHECKLIST}
        if unknown:
            raise serializers.ValidationError(f"未知的清单项：{', '.join(sorted(unknown))}")
        return value


class AdvisorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="person.name", read_only=True)

    class Meta:
        model = Advisor
        fields = ["id", "batch", "name", "enterprise", "former_post"]


class AdvisorBatchViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Batches in scope; POST creates one (admin right); POST …/place/ places an advisor in an enterprise."""

    class BatchSerializer(serializers.ModelSerializer):
        class Meta:
            model = AdvisorBatch
            fields = ["id", "org", "name", "start", "end"]

    queryset = AdvisorBatch.objects.order_by("start", "id")
    serializer_class = BatchSerializer
    scope_actions = {"place": "admin"}

    @extend_schema(request=BatchInput, responses={201: BatchSerializer, 400: BAD, 404: NOT_FOUND})
    def create(self, request):
        data = BatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["org"] = _org(request, values["org"])
        return _created(self.BatchSerializer(services.advisor_batch_create(actor=request.user, **values)).data)

    @extend_schema(request=PlaceInput, responses={201: AdvisorSerializer, 400: BAD, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def place(self, request, pk=None):
        batch = self.get_object()
        data = PlaceInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        enterprise = _org(request, values["enterprise"])
        with transaction.atomic():
            number = parse_id_number(values["id_number"]).number
            person = Person.objects.filter(id_number=number).first() or org_services.person_upsert(
                name=values["name"], id_number=number, phone=values["phone"], actor=request.user)
            advisor = services.advisor_place(batch=batch, person=person, enterprise=enterprise,
                                             former_post=values["former_post"], actor=request.user)
        return _created(AdvisorSerializer(advisor).data)


class AdvisorViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Advisors in scope (by their enterprise); POST …/logs/ (change right) and …/evaluations/ (admin right)."""

    queryset = Advisor.objects.select_related("person").order_by("batch_id", "id")
    serializer_class = AdvisorSerializer
    scope_actions = {"logs": "change", "evaluations": "admin"}

    @extend_schema(request=LogInput, responses={201: OpenApiResponse(), 400: BAD, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def logs(self, request, pk=None):
        advisor = self.get_object()
        data = LogInput(data=request.data)
        data.is_valid(raise_exception=True)
        log = services.advisor_log_record(advisor=advisor, actor=request.user, **data.validated_data)
        return _created({"id": log.pk, "month": log.month})

    @extend_schema(request=EvaluationInput, responses={201: OpenApiResponse(), 400: BAD, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def evaluations(self, request, pk=None):
        advisor = self.get_object()
        data = EvaluationInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.dual_brand_evaluate(enterprise=advisor.enterprise, actor=request.user, **data.validated_data)
        return _created({"id": row.pk, "year": row.year, "development_strong": row.development_strong,
                         "party_strong": row.party_strong})
