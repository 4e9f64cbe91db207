"""/api/v1/ endpoints for campaigns, plans, the progress matrix, award rounds and votes, bulletins and ventures.

Reads go through the policies (policies.py); writes call services.py. Out of scope
answers 404 exactly like missing. A vote outside the window answers 403 with the window, a second vote 409.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core.api import Conflict, ScopedReadOnlyViewSet, StrictInputSerializer
from xianfeng.core.policy import get_or_404, visible
from xianfeng.core.throttle import client_ip

from . import api_edit, services
from .models import AwardCategory, AwardRound, Bulletin, Campaign, CampaignPlan, Deliverable, Nomination, Venture
from .policies import covering_rounds, rows_in_scope

NOT_FOUND = OpenApiResponse(description="missing, or outside the caller's scope (the same answer)")


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

    @extend_schema(request=api_edit.CampaignInput, responses={
        201: inline_serializer("CampaignCreated", {"id": serializers.IntegerField(),
                                                   "deliverables": serializers.ListField(child=serializers.CharField())}),
        400: OpenApiResponse(), 404: NOT_FOUND})
    def create(self, request):
        """A campaign over a subtree the caller administers, with its deliverables."""
        return api_edit.campaign_create(self, request)

    @extend_schema(summary="The progress matrix (organisations × deliverables) of the caller's part of the campaign",
                   responses={200: MatrixSerializer, 404: NOT_FOUND},
                   parameters=[OpenApiParameter("laggards", str, enum=["0", "1"],
                                                description="1: only the organisations lagging behind")])
    @action(detail=True, methods=["get"], pagination_class=None)
    def matrix(self, request, pk=None):
        if request.query_params.get("laggards", "0") not in ("0", "1"):
            raise exceptions.ValidationError({"laggards": ["须为 0 或 1"]})
        campaign = self.get_object()
        matrix = services.progress_matrix(campaign)
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

    @extend_schema(request=api_edit.AwardRoundInput, responses={
        201: inline_serializer("AwardRoundCreated", {"id": serializers.IntegerField(),
                                                     "categories": serializers.ListField(child=serializers.CharField())}),
        400: OpenApiResponse(), 404: NOT_FOUND})
    def create(self, request):
        return api_edit.award_round_create(self, request)

    @extend_schema(request=api_edit.NominationInput, responses={201: OpenApiResponse(), 400: OpenApiResponse(),
                                                                404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def nominate(self, request, pk=None):
        return api_edit.award_round_nominate(self, request, pk)

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


class BulletinSerializer(serializers.ModelSerializer):
    class Meta:
        model = Bulletin
        fields = ["id", "org", "kind", "issue", "title", "body", "image", "published_at"]


class BulletinViewSet(ScopedReadOnlyViewSet):
    queryset = Bulletin.objects.all()
    serializer_class = BulletinSerializer


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

    @extend_schema(request=api_edit.VentureInput, responses={
        201: inline_serializer("VentureCreated", {"id": serializers.IntegerField(), "name": serializers.CharField()}),
        400: OpenApiResponse(), 404: NOT_FOUND})
    def create(self, request):
        return api_edit.venture_create(self, request)

    @extend_schema(request=api_edit.FigureInput, responses={201: OpenApiResponse(), 400: OpenApiResponse(),
                                                            404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def figures(self, request, pk=None):
        return api_edit.venture_figures(self, request, pk)

    @extend_schema(request=api_edit.SupportInput, responses={201: OpenApiResponse(), 400: OpenApiResponse(),
                                                             404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def supports(self, request, pk=None):
        return api_edit.venture_supports(self, request, pk)


def register(router) -> None:
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("campaign-plans", PlanViewSet, basename="campaign-plan")
    router.register("award-rounds", AwardRoundViewSet, basename="award-round")
    router.register("votes", VoteViewSet, basename="vote")
    router.register("bulletins", BulletinViewSet, basename="bulletin")
    router.register("ventures", VentureViewSet, basename="venture")
    api_edit.register(router)

