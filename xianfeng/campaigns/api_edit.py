"""/api/v1/ endpoints that create: campaigns (with deliverables), meetings (with follow-ups), award rounds (with
categories) and nominations, advisor batches, placements, monthly logs and 双强 evaluations, ventures with figures and
support, drives with targets and progress.

Each names the organisation it acts for by id; one outside the caller's scope for the needed action answers 404 like a
missing one. The services decide the rules; their ValidationErrors are 400 with field errors.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core.api import ScopedViewSetMixin, StrictInputSerializer
from xianfeng.core.ids import parse_id_number
from xianfeng.core.policy import get_visible, visible
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Member, Organisation, OrgKind, Person

from . import services
from .models import (
    PARTY_CHECKLIST,
    Advisor,
    AdvisorBatch,
    AwardCategory,
    Drive,
    DriveTarget,
    Meeting,
    Venture,
    VentureSupport,
)

NOT_FOUND = OpenApiResponse(description="missing, or outside the caller's scope (the same answer)")
BAD = OpenApiResponse(description="field errors")


def _org(request: Any, pk: Any, action: str = "admin") -> Organisation:
    """The organisation `pk` if the caller may do `action` on it; NotFound (404) as for a missing one if not."""
    return get_visible(Organisation, request.user, action, pk=pk)


def _created(data) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)


# ---- campaigns ------------------------------------------------------------------------------------------------------


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


# ---- meetings -------------------------------------------------------------------------------------------------------


class FollowUpInput(StrictInputSerializer):
    org = serializers.IntegerField()
    text = serializers.CharField(max_length=500)
    due = serializers.DateField()


class MeetingInput(StrictInputSerializer):
    org = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Meeting.Kind.choices)
    date = serializers.DateField()
    title = serializers.CharField(max_length=200)
    chair = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    attendees = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    minutes = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")
    follow_ups = FollowUpInput(many=True, required=False, default=list)


class FollowUpSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    org = serializers.IntegerField(source="org_id")
    text = serializers.CharField()
    due = serializers.DateField()
    done_on = serializers.DateField(allow_null=True)


class MeetingSerializer(serializers.ModelSerializer):
    follow_ups = FollowUpSerializer(many=True, read_only=True)

    class Meta:
        model = Meeting
        fields = ["id", "org", "campaign", "kind", "date", "title", "chair", "attendees", "minutes", "follow_ups"]


class MeetingViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Leading-group and standing-committee meetings in scope; POST records one with its follow-ups (admin right)."""

    queryset = Meeting.objects.prefetch_related("follow_ups").order_by("date", "id")
    serializer_class = MeetingSerializer

    @extend_schema(request=MeetingInput, responses={201: MeetingSerializer, 400: BAD, 404: NOT_FOUND})
    def create(self, request):
        data = MeetingInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        with transaction.atomic():
            values["org"] = _org(request, values["org"])
            values["follow_ups"] = [dict(f, org=_org(request, f["org"])) for f in values["follow_ups"]]
            meeting = services.meeting_record(actor=request.user, **values)
        return _created(MeetingSerializer(meeting).data)


# ---- award rounds and nominations -----------------------------------------------------------------------------------


class CategoryInput(StrictInputSerializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=100)
    nominee_kind = serializers.ChoiceField(choices=AwardCategory.NomineeKind.choices)
    quota = serializers.IntegerField(min_value=1, max_value=1000)


class AwardRoundInput(StrictInputSerializer):
    org = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    vote_start = serializers.DateTimeField()
    vote_end = serializers.DateTimeField()
    vote_weight = serializers.IntegerField(min_value=0, max_value=100, default=40)
    publicity_days = serializers.IntegerField(min_value=1, max_value=60, default=7)
    votes_per_ip_per_hour = serializers.IntegerField(min_value=0, default=300)
    categories = CategoryInput(many=True, required=False)


class NominationInput(StrictInputSerializer):
    category = serializers.IntegerField()
    nominated_by = serializers.IntegerField()
    nominee_org = serializers.IntegerField(required=False, allow_null=True, default=None)
    nominee_id_number = serializers.CharField(required=False, allow_blank=True, max_length=18, default="")
    citation = serializers.CharField(max_length=5000)


def award_round_create(view, request):
    data = AwardRoundInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    values["org"] = _org(request, values["org"])
    if "categories" in values:
        values["categories"] = [(c["code"], c["name"], c["nominee_kind"], c["quota"]) for c in values["categories"]]
    award = services.award_round_create(actor=request.user, **values)
    return _created({"id": award.pk, "categories": list(award.categories.values_list("code", flat=True))})


def award_round_nominate(view, request, pk):
    award = view.get_object()
    data = NominationInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    category = award.categories.filter(pk=values["category"]).first()
    if category is None:
        raise serializers.ValidationError({"category": ["不是本评创的类别"]})
    nominated_by = _org(request, values["nominated_by"], "change")
    nominee_org = _org(request, values["nominee_org"], "change") if values["nominee_org"] else None
    member = None
    if values["nominee_id_number"]:
        try:
            number = parse_id_number(values["nominee_id_number"]).number
        except Exception as exc:  # ValidationError from the parser: a field error
            raise serializers.ValidationError({"nominee_id_number": list(getattr(exc, "messages", [str(exc)]))}) \
                from None
        member = Member.objects.filter(person__id_number=number).select_related("person", "org").first()
        if member is None:
            raise serializers.ValidationError({"nominee_id_number": ["没有此身份证号的党员"]})
    nomination = services.nomination_create(category=category, nominated_by=nominated_by, nominee_org=nominee_org,
                                            nominee_member=member, citation=values["citation"], actor=request.user)
    return _created({"id": nomination.pk, "display_name": nomination.display_name,
                     "evidence": nomination.evidence})


# ---- advisors -------------------------------------------------------------------------------------------------------


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


# ---- ventures -------------------------------------------------------------------------------------------------------


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


# ---- drives ---------------------------------------------------------------------------------------------------------


class TargetInput(StrictInputSerializer):
    org = serializers.IntegerField()
    metric = serializers.ChoiceField(choices=DriveTarget.Metric.choices)
    target = serializers.IntegerField(min_value=1)


class DriveInput(StrictInputSerializer):
    org = serializers.IntegerField()
    name = serializers.CharField(max_length=200)
    start = serializers.DateField()
    end = serializers.DateField()
    targets = TargetInput(many=True, required=False, default=list)


@extend_schema_serializer(component_name="DriveProgressInput")  # pledges has a ProgressInput of its own
class ProgressInput(StrictInputSerializer):
    target = serializers.IntegerField()
    date = serializers.DateField()
    achieved = serializers.IntegerField(min_value=0)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="",
                                   help_text="required when the report corrects the latest one (same date or lower)")


class DriveViewSet(viewsets.ReadOnlyModelViewSet):
    """Drives over or inside the caller's scope with each target's latest figure; POST creates one (admin right);
    POST …/progress/ reports on a target the caller may change."""

    class DriveSerializer(serializers.ModelSerializer):
        targets = serializers.SerializerMethodField()

        class Meta:
            model = Drive
            fields = ["id", "org", "name", "start", "end", "targets"]

        def get_targets(self, drive) -> list[dict]:
            user = self.context["request"].user
            rows = services.drive_progress(drive, visible(DriveTarget.objects.filter(drive=drive), user))
            return [{"id": r.target.pk, "org": r.target.org_id, "metric": r.target.metric,
                     "target": r.target.target, "achieved": r.achieved, "as_of": r.as_of,
                     "history": [{"id": h.pk, "date": h.date, "achieved": h.achieved, "note": h.note,
                                  "corrects": h.corrects_id, "reason": h.reason, "at": h.at} for h in r.history]}
                    for r in rows]

    serializer_class = DriveSerializer

    def get_queryset(self):
        return visible(Drive, self.request.user).order_by("-start", "id")

    @extend_schema(request=DriveInput, responses={201: DriveSerializer, 400: BAD, 404: NOT_FOUND})
    def create(self, request):
        data = DriveInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        with transaction.atomic():
            values["org"] = _org(request, values["org"])
            values["targets"] = [(_org(request, t["org"]), t["metric"], t["target"]) for t in values["targets"]]
            drive = services.drive_create(actor=request.user, **values)
        return _created(self.DriveSerializer(drive, context={"request": request}).data)

    @extend_schema(request=ProgressInput, responses={201: OpenApiResponse(), 400: BAD, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        drive = self.get_object()
        data = ProgressInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        target = get_visible(DriveTarget.objects.filter(drive=drive), request.user, "change", pk=values.pop("target"))
        row = services.drive_progress_report(target=target, actor=request.user, **values)
        return _created({"id": row.pk, "achieved": row.achieved})


def register(router) -> None:
    router.register("campaign-meetings", MeetingViewSet, basename="campaign-meeting")
    router.register("advisor-batches", AdvisorBatchViewSet, basename="advisor-batch")
    router.register("advisors", AdvisorViewSet, basename="advisor")
    router.register("drives", DriveViewSet, basename="drive")

