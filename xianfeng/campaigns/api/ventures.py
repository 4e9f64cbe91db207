"""/api/v1/ member ventures, their figures and support."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action

from xianfeng.core.api import ScopedReadOnlyViewSet, StrictInputSerializer

from .. import services
from ..models import (
    Venture,
    VentureSupport,
)
from .common import NOT_FOUND, _created, _org


class VentureInput(StrictInputSerializer):
    org = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Venture.Kind.choices)
    founded = serializers.DateField()
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class FigureInput(StrictInputSerializer):
    date = serializers.DateField()
    members = serializers.IntegerField(min_value=0)
    area_mu = serializers.DecimalField(max_digits=10, decimal_places=1, min_value=0)
    households = serializers.IntegerField(min_value=0)
    income_per_household_yuan = serializers.IntegerField(min_value=0, default=0)


class SupportInput(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=VentureSupport.Kind.choices)
    date = serializers.DateField()
    title = serializers.CharField(max_length=200)
    amount_fen = serializers.IntegerField(min_value=0, default=0)
    fund_org = serializers.IntegerField(required=False, allow_null=True, default=None)
    key = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


def venture_create(view, request):
    data = VentureInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    values["org"] = _org(request, values["org"], "change")
    venture = services.venture_create(actor=request.user, **values)
    return _created({"id": venture.pk, "name": venture.name})


def venture_figures(view, request, pk):
    venture = view.get_object()
    data = FigureInput(data=request.data)
    data.is_valid(raise_exception=True)
    row = services.venture_figure_record(venture=venture, actor=request.user, **data.validated_data)
    return _created({"id": row.pk, "date": row.date})


def venture_supports(view, request, pk):
    venture = view.get_object()
    data = SupportInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    values["fund_org"] = _org(request, values["fund_org"]) if values["fund_org"] else None
    if values["key"]:
        values["key"] = f"venture_support:{venture.pk}:{values['key']}"
    support = services.venture_support_record(venture=venture, actor=request.user, **values)
    return _created({"id": support.pk, "amount_fen": support.amount_fen,
                     "ledger_transaction": support.ledger_transaction_id})


class VentureSerializer(serializers.ModelSerializer):
    figures = serializers.SerializerMethodField()

    class Meta:
        model = Venture
        fields = ["id", "org", "name", "kind", "founded", "description", "figures"]

    def get_figures(self, venture) -> list[dict]:
        return [{"date": f.date, "members": f.members, "area_mu": str(f.area_mu), "households": f.households,
                 "income_per_household_yuan": f.income_per_household_yuan} for f in venture.figures.all()]


class VentureViewSet(ScopedReadOnlyViewSet):
    """Ventures in scope; POST creates one, …/figures/ and …/supports/ record on one (change right; a grant also
    needs the admin right over the fund's organisation)."""

    queryset = Venture.objects.prefetch_related("figures")
    serializer_class = VentureSerializer
    scope_actions = {"figures": "change", "supports": "change"}

    @extend_schema(request=VentureInput, responses={
        201: inline_serializer("VentureCreated", {"id": serializers.IntegerField(), "name": serializers.CharField()}),
        400: OpenApiResponse(), 404: NOT_FOUND})
    def create(self, request):
        return venture_create(self, request)

    @extend_schema(request=FigureInput, responses={201: OpenApiResponse(), 400: OpenApiResponse(),
                                                            404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def figures(self, request, pk=None):
        return venture_figures(self, request, pk)

    @extend_schema(request=SupportInput, responses={201: OpenApiResponse(), 400: OpenApiResponse(),
                                                             404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def supports(self, request, pk=None):
        return venture_supports(self, request, pk)
