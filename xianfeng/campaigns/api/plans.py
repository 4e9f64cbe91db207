"""/api/v1/ campaigns (with deliverables), the progress matrix and the organisations' plans."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core.api import ScopedReadOnlyViewSet, StrictInputSerializer
from xianfeng.core.policy import visible
from xianfeng.orgs.models import OrgKind

from .. import selectors, services
from ..models import (
    Campaign,
    CampaignPlan,
    Deliverable,
)
from ..policies import rows_in_scope
from .common import NOT_FOUND, _created, _org


class DeliverableInput(StrictInputSerializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=100)
    org_kinds = serializers.ListField(child=serializers.ChoiceField(choices=OrgKind.choices), min_length=1)
    due = serializers.DateField()


class CampaignInput(StrictInputSerializer):
    org = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    start = serializers.DateField()
    implement_from = serializers.DateField()
    evaluate_from = serializers.DateField()
    end = serializers.DateField()
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    deliverables = DeliverableInput(many=True, required=False, default=list)


def campaign_create(view, request):
    data = CampaignInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    values["org"] = _org(request, values["org"])
    values["deliverables"] = [dict(d) for d in values["deliverables"]]
    campaign = services.campaign_create(actor=request.user, **values)
    return _created({"id": campaign.pk, "deliverables": list(campaign.deliverables.values_list("code", flat=True))})


class DeliverableSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deliverable
        fields = ["id", "code", "name", "org_kinds", "due"]


class CampaignSerializer(serializers.ModelSerializer):
    deliverables = DeliverableSerializer(many=True, read_only=True)
    org_name = serializers.CharField(source="org.name", read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "org", "org_name", "phase", "start", "implement_from", "evaluate_from", "end",
                  "deliverables"]


class MatrixRowSerializer(serializers.Serializer):
    org_id = serializers.IntegerField()
    name = serializers.CharField()
    full_name = serializers.CharField()
    cells = serializers.ListField(child=serializers.CharField())
    n_required = serializers.IntegerField(source="required")
    n_done = serializers.IntegerField(source="done")
    n_overdue = serializers.IntegerField(source="overdue")
    laggard = serializers.BooleanField()


class MatrixSerializer(serializers.Serializer):
    deliverables = serializers.ListField(child=serializers.CharField(), help_text="deliverable codes, the columns")
    rows = MatrixRowSerializer(many=True)


class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CampaignSerializer

    def get_queryset(self):
        return visible(Campaign, self.request.user).select_related("org").prefetch_related("deliverables")

    @extend_schema(request=CampaignInput, responses={
        201: inline_serializer("CampaignCreated", {"id": serializers.IntegerField(),
                                                   "deliverables": serializers.ListField(child=serializers.CharField())}),
        400: OpenApiResponse(), 404: NOT_FOUND})
    def create(self, request):
        """A campaign over a subtree the caller administers, with its deliverables."""
        return campaign_create(self, request)

    @extend_schema(summary="The progress matrix (organisations × deliverables) of the caller's part of the campaign",
                   responses={200: MatrixSerializer, 404: NOT_FOUND},
                   parameters=[OpenApiParameter("laggards", str, enum=["0", "1"],
                                                description="1: only the organisations lagging behind")])
    @action(detail=True, methods=["get"], pagination_class=None)
    def matrix(self, request, pk=None):
        if request.query_params.get("laggards", "0") not in ("0", "1"):
            raise exceptions.ValidationError({"laggards": ["须为 0 或 1"]})
        campaign = self.get_object()
        matrix = selectors.progress_matrix(campaign)
        rows = rows_in_scope(matrix.rows, request.user)
        if request.query_params.get("laggards") == "1":
            rows = [r for r in rows if r.laggard]
        return Response({"deliverables": [d.code for d in matrix.deliverables],
                         "rows": MatrixRowSerializer(rows, many=True).data})


class PlanSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name", read_only=True)

    class Meta:
        model = CampaignPlan
        fields = ["id", "campaign", "org", "org_name", "status", "title", "text", "file", "submitted_at",
                  "reviewed_at", "review_note"]


class ReviewInput(StrictInputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class PlanViewSet(ScopedReadOnlyViewSet):
    """Plans in scope; `submit` needs the change right over the organisation, `return`/`accept` the admin right."""

    queryset = CampaignPlan.objects.select_related("org")
    serializer_class = PlanSerializer
    scope_actions = {"submit": "change", "return_plan": "admin", "accept": "admin"}

    @extend_schema(request=None, responses={200: PlanSerializer, 400: OpenApiResponse(), 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return Response(PlanSerializer(services.plan_submit(plan=self.get_object(), actor=request.user)).data)

    @extend_schema(request=ReviewInput, responses={200: PlanSerializer, 400: OpenApiResponse(), 404: NOT_FOUND})
    @action(detail=True, methods=["post"], url_path="return")
    def return_plan(self, request, pk=None):
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.plan_return(plan=self.get_object(), note=data.validated_data.get("note", ""), actor=request.user)
        return Response(PlanSerializer(plan).data)

    @extend_schema(request=ReviewInput, responses={200: PlanSerializer, 400: OpenApiResponse(), 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.plan_accept(plan=self.get_object(), note=data.validated_data.get("note", ""), actor=request.user)
        return Response(PlanSerializer(plan).data)
