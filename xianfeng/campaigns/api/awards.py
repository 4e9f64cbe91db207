"""/api/v1/ award rounds, nominations and residents' votes."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core.api import Conflict, ScopedReadOnlyViewSet, StrictInputSerializer
from xianfeng.core.ids import parse_id_number
from xianfeng.core.policy import get_or_404
from xianfeng.core.throttle import client_ip
from xianfeng.orgs.models import Member

from .. import services
from ..models import (
    AwardCategory,
    AwardRound,
    Nomination,
)
from ..policies import covering_rounds
from .common import NOT_FOUND, _created, _org


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


class NominationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Nomination
        fields = ["id", "category", "display_name", "citation", "evidence", "status"]


class CategorySerializer(serializers.ModelSerializer):
    nominations = NominationSerializer(many=True, read_only=True)

    class Meta:
        model = AwardCategory
        fields = ["id", "code", "name", "nominee_kind", "quota", "nominations"]


class AwardRoundSerializer(serializers.ModelSerializer):
    categories = CategorySerializer(many=True, read_only=True)

    class Meta:
        model = AwardRound
        fields = ["id", "name", "status", "vote_start", "vote_end", "vote_weight", "publicity_start",
                  "publicity_days", "published_at", "categories"]


class AwardRoundViewSet(ScopedReadOnlyViewSet):
    """Rounds in scope; POST creates one (admin right); POST …/nominate/ nominates for a round covering the caller's
    organisations (change right over the nominating organisation)."""

    queryset = AwardRound.objects.prefetch_related("categories__nominations")
    serializer_class = AwardRoundSerializer

    def get_queryset(self):
        if self.action == "nominate":
            return covering_rounds(self.request.user).select_related("org")
        return super().get_queryset()

    @extend_schema(request=AwardRoundInput, responses={
        201: inline_serializer("AwardRoundCreated", {"id": serializers.IntegerField(),
                                                     "categories": serializers.ListField(child=serializers.CharField())}),
        400: OpenApiResponse(), 404: NOT_FOUND})
    def create(self, request):
        return award_round_create(self, request)

    @extend_schema(request=NominationInput, responses={201: OpenApiResponse(), 400: OpenApiResponse(),
                                                                404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def nominate(self, request, pk=None):
        return award_round_nominate(self, request, pk)

    @extend_schema(summary="Votes and scores per category; 403 until the voting window closes",
                   responses={200: OpenApiResponse(), 403: OpenApiResponse(), 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        award = self.get_object()
        try:
            results = services.round_results(award)
        except services.ResultsHidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        return Response({str(cid): [{"nomination": r.nomination.pk, "name": r.nomination.display_name,
                                     "votes": r.votes, "vote_score": str(r.vote_score),
                                     "committee": None if r.committee is None else str(r.committee),
                                     "final": str(r.final)} for r in rows] for cid, rows in results.items()})


class VoteInput(StrictInputSerializer):
    nomination = serializers.IntegerField()


class VoteViewSet(viewsets.ViewSet):
    """POST a resident's vote: 201, or 403 with the window, 409 for a second vote in the category, 429 rate-limited."""

    @extend_schema(request=VoteInput, responses={
        201: inline_serializer("VoteCast", {"id": serializers.IntegerField(), "category": serializers.IntegerField(),
                                            "nomination": serializers.IntegerField()}),
        403: OpenApiResponse(), 404: NOT_FOUND, 409: OpenApiResponse(), 429: OpenApiResponse()})
    def create(self, request):
        data = VoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        nomination = get_or_404(Nomination.objects.select_related("category__round").filter(
            category__round__status__in=[s for s in AwardRound.Status.values if s != "nominating"]),
            pk=data.validated_data["nomination"])
        award = nomination.category.round
        try:
            vote = services.vote_cast(nomination=nomination, user=request.user, ip=client_ip(request))
        except services.VoteRefused as exc:
            return Response({"detail": exc.message, "vote_start": award.vote_start, "vote_end": award.vote_end},
                            status=status.HTTP_403_FORBIDDEN)
        except services.AlreadyVoted:
            raise Conflict("已在该类别投过票，每人每类一票") from None
        except services.RateLimited:
            raise exceptions.Throttled(detail="该网络投票过于频繁，请稍后再试") from None
        return Response({"id": vote.pk, "category": vote.category_id, "nomination": vote.nomination_id},
                        status=status.HTTP_201_CREATED)
