"""/api/v1/ endpoints of the point-to-point service: demands (with claim / assign / close), claims, service records
(with confirm), pairings. Same services and the same visibility as the pages (xianfeng.demands.policies): a demand
the caller may not see answers 404 like a missing one; below "claimer" level no resident's name, phone or address
is ever in a response. Conflicts (already claimed, closed, confirmed twice) answer 409 (core.api's exception handler).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import F
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core.api import Pagination, StrictInputSerializer
from xianfeng.core.audit import audit_record
from xianfeng.core.policy import allows, ensure, get_or_404, get_visible
from xianfeng.orgs.models import Member, Organisation, Role
from xianfeng.orgs.selectors import member_of

from . import services
from .categories import category_list
from .filters import filter_board
from .forms import FilterForm
from .models import Claim, Demand, Pairing, ServiceRecord
from .policies import demand_policy
from .selectors import board_queryset, claims_for, community_paths, distance_km, pairings_for, records_for, with_distance

NOT_FOUND = OpenApiResponse(description="missing, or not visible to the caller (the same answer)")
CONFLICT = OpenApiResponse(description="the demand or record's state forbids it (already claimed, closed, confirmed)")


class DemandPublicSerializer(serializers.ModelSerializer):
    """What anyone of the community sees: category, area, urgency, time — nothing personal."""

    org_name = serializers.CharField(source="org.name", read_only=True)
    area = serializers.CharField(source="public_place", read_only=True)

    class Meta:
        model = Demand
        fields = ["id", "org", "org_name", "category", "area", "urgency", "recurring", "preferred_times", "capacity",
                  "claimed_count", "status", "source", "created_at", "first_claimed_at", "done_at"]


class DemandDetailSerializer(DemandPublicSerializer):
    class Meta(DemandPublicSerializer.Meta):
        fields = DemandPublicSerializer.Meta.fields + ["description"]


class DemandFullSerializer(DemandDetailSerializer):
    """For staff, the resident who posted it, and a member who claimed it."""

    resident_name = serializers.SerializerMethodField()
    resident_phone = serializers.SerializerMethodField()

    class Meta(DemandDetailSerializer.Meta):
        fields = DemandDetailSerializer.Meta.fields + ["resident", "resident_name", "resident_phone", "household",
                                                       "address", "grid", "expires_on"]

    def get_resident_name(self, obj) -> str:
        return obj.resident.person.name if obj.resident_id else ""

    def get_resident_phone(self, obj) -> str:
        if not obj.resident_id:
            return ""
        return obj.resident.person.phone if self.context.get("unmasked") else obj.resident.person.phone_masked


class DemandInput(StrictInputSerializer):
    org = serializers.IntegerField(required=False)
    category = serializers.CharField(max_length=20, help_text="one of the categories the community offers")
    description = serializers.CharField(max_length=2000)
    household = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    area = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    grid = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    urgency = serializers.ChoiceField(choices=Demand.Urgency.choices, default="normal")
    recurring = serializers.BooleanField(default=False)
    preferred_times = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    capacity = serializers.IntegerField(min_value=1, max_value=50, default=1)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)


class ClaimSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.person.name", read_only=True)

    class Meta:
        model = Claim
        fields = ["id", "demand", "member", "member_name", "status", "claimed_at", "started_at", "ended_at",
                  "assigned_by"]


class RecordSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.person.name", read_only=True)

    class Meta:
        model = ServiceRecord
        fields = ["id", "org", "demand", "pairing", "member", "member_name", "category", "served_on", "minutes",
                  "notes", "status", "rating", "comment", "on_behalf", "confirmed_at", "points", "created_at"]


class RecordInput(StrictInputSerializer):
    demand = serializers.IntegerField(required=False)
    pairing = serializers.IntegerField(required=False)
    served_on = serializers.DateField()
    minutes = serializers.IntegerField()
    notes = serializers.CharField(max_length=2000)


class ConfirmInput(StrictInputSerializer):
    rating = serializers.ChoiceField(choices=ServiceRecord.Rating.choices)
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AssignInput(StrictInputSerializer):
    member = serializers.IntegerField()


class CloseInput(StrictInputSerializer):
    reason = serializers.CharField(max_length=200)


class PairingSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.person.name", read_only=True)

    class Meta:
        model = Pairing
        fields = ["id", "org", "member", "member_name", "household", "start", "end", "notes"]


def _parse(serializer_class, request) -> dict:
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


def _visible_demand(request, pk) -> tuple[Demand, str]:
    return demand_policy().read(request.user, pk, Demand.objects.select_related("org", "resident__person"))


class DemandViewSet(viewsets.ViewSet):
    """Demands on the caller's board (community and staff scope); ?status= ?category= ?urgency= ?org=."""

    pagination_class = Pagination
    lookup_value_regex = r"[0-9]+"

    @extend_schema(responses=DemandPublicSerializer(many=True), parameters=[
        # every filter is optional and an empty value means "not filtered", as in the board's form
        OpenApiParameter(name, {"anyOf": [schema, {"type": "string", "enum": [""]}]}, description=text)
        for name, schema, text in (
            ("status", {"type": "string", "enum": Demand.Status.values}, "empty: open demands"),
            ("category", {"type": "string", "maxLength": 20}, "a category name (one no community offers matches nothing)"),
            ("urgency", {"type": "string", "enum": Demand.Urgency.values}, ""),
            ("days", {"type": "integer", "minimum": 1, "maximum": 3650}, "posted within this many days"),
            ("when", {"type": "string", "maxLength": 20}, "preferred time contains"),
            ("org", {"type": "integer", "minimum": 1}, "only this organisation's subtree"),
            ("lat", {"type": "number", "minimum": -90, "maximum": 90}, "position for distances, with lng"),
            ("lng", {"type": "number", "minimum": -180, "maximum": 180}, "position for distances, with lat"),
            ("km", {"type": "number", "minimum": 0.1, "maximum": 100}, "within this distance of lat/lng"),
            ("sort", {"type": "string", "enum": ["new", "near"]}, "near: nearest first (needs lat/lng)"),
        )
    ])
    def list(self, request):
        """?status= ?category= ?urgency= ?days= ?when= ?org=, and ?lat=&lng= (with ?km= and ?sort=near) for
        distance: each result then carries `distance_km` (rounded to 0.1 km; never the demand's coordinates)."""
        params = request.query_params
        # Any category name is a valid filter here (one no community offers matches nothing).
        form = FilterForm(params, categories=[params["category"][:20]] if params.get("category") else ())
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        org_param = params.get("org", "")
        if org_param and not (org_param.isascii() and org_param.isdigit() and len(org_param) <= 18
                              and int(org_param) >= 1):
            raise ValidationError({"org": ["须为组织的编号（正整数）"]})
        qs = filter_board(board_queryset(request.user), form)
        if org_param:
            org = Organisation.objects.filter(pk=int(params["org"])).first()
            qs = qs.in_subtree(org) if org else qs.none()
        data = form.cleaned_data
        origin = (data["lat"], data["lng"]) if data.get("lat") is not None and data.get("lng") is not None else None
        order = ["-created_at", "-id"]
        if origin is not None:
            qs = with_distance(qs, origin[0], origin[1], data.get("km"))
            if data.get("sort") == "near":
                order = [F("dist2").asc(nulls_last=True), *order]
        qs = qs.select_related("org").order_by(*order)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        rows = DemandPublicSerializer(page, many=True).data
        if origin is not None:
            for row, demand in zip(rows, page, strict=True):
                row["distance_km"] = (round(distance_km(origin[0], origin[1], demand.latitude, demand.longitude), 1)
                                      if demand.latitude is not None and demand.longitude is not None else None)
        return paginator.get_paginated_response(rows)

    @extend_schema(parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)], responses={
        200: OpenApiResponse(DemandDetailSerializer, description="staff, the resident who posted it and a member who "
                             "claimed it also get resident, resident_name, resident_phone, household, address, grid "
                             "and expires_on (as in DemandFull)"),
        404: NOT_FOUND})
    def retrieve(self, request, pk=None):
        demand, level = _visible_demand(request, pk)
        if level == "public":
            return Response(DemandDetailSerializer(demand).data)
        unmasked = level in ("claimer", "owner")
        if level == "claimer" and demand.resident_id:
            audit_record(by=request.user, action="unmask", obj=demand, summary="认领党员查看居民联系方式（API）")
        return Response(DemandFullSerializer(demand, context={"unmasked": unmasked}).data)

    @extend_schema(request=DemandInput, responses={201: DemandFullSerializer, 400: OpenApiResponse(), 404: NOT_FOUND})
    def create(self, request):
        data = _parse(DemandInput, request)
        org_id = data.pop("org", None)
        source, resident = "staff", None
        if org_id is not None:
            org = get_visible(Organisation, request.user, "change", pk=org_id)
        else:
            role = Role.objects.filter(user=request.user, kind=Role.Kind.RESIDENT).select_related("org").first()
            if role is None:
                raise ValidationError({"org": ["请选择村社区"]})
            org, source = role.org, "resident"
            resident = getattr(getattr(request.user, "person", None), "resident", None)
            data.pop("capacity", None)
        demand = services.demand_create(org=org, source=source, resident=resident, actor=request.user, **data)
        return Response(DemandFullSerializer(demand, context={"unmasked": source == "resident"}).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: ClaimSerializer, 404: NOT_FOUND, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        demand, _level = _visible_demand(request, pk)
        member = member_of(request.user)
        if member is None:
            raise ValidationError({"member": ["只有党员可以认领"]})
        claim = services.demand_claim(demand=demand, member=member, actor=request.user)
        return Response(ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ClaimSerializer, 404: NOT_FOUND, 409: CONFLICT},
                   summary="Give up the caller's active claim: the resident's details are no longer shown")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        demand, _level = _visible_demand(request, pk)
        member = member_of(request.user)
        claim = get_or_404(Claim.objects.filter(demand=demand, member=member, status__in=Claim.ACTIVE)
                           if member is not None else Claim.objects.none())
        claim = services.claim_withdraw(claim=claim, actor=request.user)
        return Response(ClaimSerializer(claim).data)

    @extend_schema(request=AssignInput, responses={201: ClaimSerializer, 404: NOT_FOUND, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        demand, _level = _visible_demand(request, pk)
        ensure(allows(request.user, "change", demand))
        data = _parse(AssignInput, request)
        member = Member.objects.select_related("org", "managing_org").filter(pk=data["member"]).first()
        if member is None:
            raise ValidationError({"member": ["党员不存在"]})
        claim = services.demand_claim(demand=demand, member=member, actor=request.user, assigned=True)
        return Response(ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CloseInput, responses={200: DemandPublicSerializer, 404: NOT_FOUND, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        demand, _level = _visible_demand(request, pk)
        ensure(allows(request.user, "change", demand))
        data = _parse(CloseInput, request)
        demand = services.demand_close(demand=demand, reason=data["reason"], actor=request.user)
        return Response(DemandPublicSerializer(demand).data)


class ClaimViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own claims, and the claims on demands in the caller's staff scope; ?status=withdrawn lists the
    claims given up (what the secretary watches for repeated claim-and-withdraw)."""

    serializer_class = ClaimSerializer

    def get_queryset(self):
        qs = claims_for(self.request.user).select_related("member__person")
        status_ = self.request.query_params.get("status", "")
        if status_ in Claim.Status.values:
            qs = qs.filter(status=status_)
        return qs.order_by("-claimed_at", "-id")


class RecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Service records: the caller's own, those awaiting the caller's confirmation, those in the staff scope."""

    serializer_class = RecordSerializer
    queryset = ServiceRecord.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        return records_for(self.request.user).select_related("member__person").order_by("-served_on", "-id")

    @extend_schema(request=RecordInput, responses={201: RecordSerializer, 400: OpenApiResponse(), 409: CONFLICT})
    def create(self, request):
        data = _parse(RecordInput, request)
        member = member_of(request.user)
        if member is None:
            raise ValidationError({"member": ["只有党员可以记录服务"]})
        demand = pairing = None
        if data.get("demand") is not None:
            demand, _level = _visible_demand(request, data["demand"])
        if data.get("pairing") is not None:
            pairing = get_or_404(Pairing.objects.filter(member=member), pk=data["pairing"])
        record = services.service_record(member=member, demand=demand, pairing=pairing,
                                         served_on=data["served_on"], minutes=data["minutes"],
                                         notes=data["notes"], actor=request.user)
        return Response(RecordSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConfirmInput, responses={200: RecordSerializer, 404: NOT_FOUND, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        record = get_or_404(ServiceRecord.objects.select_related("demand", "pairing", "org"), pk=pk)
        ensure(allows(request.user, "confirm", record))
        data = _parse(ConfirmInput, request)
        record = services.service_confirm(record=record, actor=request.user, **data)
        return Response(RecordSerializer(record).data)


class PairingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = PairingSerializer

    def get_queryset(self):
        return pairings_for(self.request.user).select_related("member__person").order_by("-start", "-id")


class CategoryViewSet(viewsets.ViewSet):
    """GET /api/v1/demand-categories/?org=: the categories an organisation offers (what a new demand may take);
    without ?org=, the caller's own community. An organisation outside the caller's scope and communities: 404."""

    @extend_schema(responses={200: OpenApiResponse(description="{org, categories, list_of}"), 404: NOT_FOUND})
    def list(self, request):
        org_id = str(request.query_params.get("org", ""))
        communities = community_paths(request.user)
        if org_id.isdigit():
            org = get_or_404(Organisation, pk=int(org_id))
            ensure(allows(request.user, "view", org) or org.path in communities)
        else:
            ensure(bool(communities))
            org = Organisation.objects.get(path=communities[0])
        current = category_list(org)
        return Response({"org": org.pk, "categories": list(current.names), "list_of": current.owner_id})


def register(router) -> None:
    router.register("demands", DemandViewSet, basename="demand")
    router.register("demand-claims", ClaimViewSet, basename="demand-claim")
    router.register("service-records", RecordViewSet, basename="service-record")
    router.register("pairings", PairingViewSet, basename="pairing")
    router.register("demand-categories", CategoryViewSet, basename="demand-category")
