"""/api/v1/pledges/: pledges the caller may read (own, or in view scope) and one endpoint per action.

Every action calls the service the pages call; a forbidden move answers 400 with the reason and changes nothing, a
second rating 409, a pledge out of scope 404 exactly like a missing one. Residents rate public pledges through
/api/v1/pledges/{id}/rate/.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core.api import Conflict, Pagination, StrictInputSerializer
from xianfeng.core.policy import get_or_404, get_visible, visible

from . import services
from .models import Pledge, PledgeItem, PledgeRound, Rating

NOT_FOUND = OpenApiResponse(description="missing, or outside the caller's scope (the same answer)")
BAD_INPUT = OpenApiResponse(description="bad input or a forbidden transition: {field: [reasons]}; nothing changed")


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = PledgeItem
        fields = ["id", "position", "kind", "text", "target_value", "target_unit", "due_date", "review", "review_note",
                  "specificity"]


class PledgeSerializer(serializers.ModelSerializer):
    owner_name = serializers.CharField(read_only=True)
    items = ItemSerializer(many=True, read_only=True)

    class Meta:
        model = Pledge
        fields = ["id", "round", "member", "org", "owner_name", "title", "status", "return_reason", "due_date",
                  "progress", "published_on", "evidence", "fulfilled_on", "explanation", "score_residents",
                  "score_peers", "score_org", "score_total", "rank_in_branch", "specificity", "formulaic",
                  "formulaic_reason", "items"]


class ItemInput(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=PledgeItem.Kind.choices)
    text = serializers.CharField(max_length=300)
    target_value = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    target_unit = serializers.CharField(max_length=10, required=False, allow_blank=True)
    due_date = serializers.DateField()


class PledgeInput(StrictInputSerializer):
    round = serializers.PrimaryKeyRelatedField(queryset=PledgeRound.objects.all())
    org = serializers.IntegerField(min_value=1, required=False,
                                   help_text="for an organisation's pledge (组织承诺): an organisation the caller may "
                                             "change; omitted: the caller's own pledge as a member")
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    items = ItemInput(many=True)


class ReasonInput(StrictInputSerializer):
    reason = serializers.CharField(max_length=2000)


class ProgressInput(StrictInputSerializer):
    percent = serializers.IntegerField(min_value=0, max_value=100)
    text = serializers.CharField(max_length=500)
    date = serializers.DateField(required=False)


class FulfilInput(StrictInputSerializer):
    evidence = serializers.CharField(max_length=2000)
    on = serializers.DateField(required=False)


class EvaluateInput(StrictInputSerializer):
    org_score = serializers.FloatField(min_value=0, max_value=100)


class RateInput(StrictInputSerializer):
    value = serializers.ChoiceField(choices=Rating.Value.choices)


class ItemReviewInput(StrictInputSerializer):
    item = serializers.IntegerField(min_value=1)
    ok = serializers.BooleanField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


def _parse(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _transition(summary: str, request=None):
    return extend_schema(summary=summary, request=request,
                         responses={200: PledgeSerializer, 400: BAD_INPUT, 404: NOT_FOUND})


@extend_schema_view(
    list=extend_schema(summary="Pledges the caller may read: their own and those in view scope"),
    retrieve=extend_schema(summary="One pledge", responses={200: PledgeSerializer, 404: NOT_FOUND}),
)
class PledgeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PledgeSerializer
    pagination_class = Pagination
    filterset_fields = ["round", "status", "formulaic", "org"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Pledge.objects.none()
        return (visible(Pledge, self.request.user, "view").select_related("org", "member__person", "round")
                .prefetch_related(Prefetch("items", queryset=PledgeItem.objects.order_by("position", "id")))
                .order_by("id"))

    def _done(self, pledge: Pledge) -> Response:
        return Response(PledgeSerializer(self.get_queryset().get(pk=pledge.pk)).data)

    @extend_schema(summary="Draft a pledge: the signed-in member's own, or an organisation's (组织承诺)",
                   request=PledgeInput, responses={201: PledgeSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    def create(self, request):
        data = _parse(PledgeInput, request)
        from xianfeng.orgs.models import Member, Organisation

        items = [dict(i) for i in data["items"]]
        if "org" in data:
            org = get_visible(Organisation, request.user, "change", pk=data["org"])
            pledge = services.pledge_create(round=data["round"], org=org, title=data.get("title", ""), items=items,
                                            actor=request.user)
        else:
            member = Member.objects.filter(person_id=request.user.person_id or 0).first()
            if member is None:
                raise services.PledgeError("只有党员可以作出承诺")
            pledge = services.pledge_create(round=data["round"], member=member, title=data.get("title", ""),
                                            items=items, actor=request.user)
        return Response(PledgeSerializer(self.get_queryset().get(pk=pledge.pk)).data, status=status.HTTP_201_CREATED)

    @_transition("Submit a draft or returned pledge for review")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._done(services.pledge_submit(pledge=self.get_object(), actor=request.user))

    @_transition("Review one item (ok, or returned with a note)", ItemReviewInput)
    @action(detail=True, methods=["post"], url_path="review-item")
    def review_item(self, request, pk=None):
        pledge = self.get_object()
        data = _parse(ItemReviewInput, request)
        item = get_or_404(pledge.items.all(), pk=data["item"])  # an item of a pledge the caller may read
        services.item_review(item=item, ok=data["ok"], note=data.get("note", ""), actor=request.user)
        return self._done(pledge)

    @_transition("Approve a submitted pledge (not one's own)")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._done(services.pledge_approve(pledge=self.get_object(), actor=request.user))

    @_transition("Return a submitted pledge with the reason", ReasonInput)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        data = _parse(ReasonInput, request)
        return self._done(services.pledge_return(pledge=self.get_object(), reason=data["reason"], actor=request.user))

    @_transition("Publish an approved pledge on the public board")
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._done(services.pledge_publish(pledge=self.get_object(), actor=request.user))

    @_transition("Record progress (milestone)", ProgressInput)
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        pledge = self.get_object()
        data = _parse(ProgressInput, request)
        services.milestone_record(pledge=pledge, actor=request.user, **data)
        return self._done(pledge)

    @_transition("Report the pledge fulfilled, with evidence (the member)", FulfilInput)
    @action(detail=True, methods=["post"])
    def fulfil(self, request, pk=None):
        data = _parse(FulfilInput, request)
        return self._done(services.pledge_claim(pledge=self.get_object(), actor=request.user, **data))

    @_transition("Confirm a reported fulfilment (the secretary)")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._done(services.pledge_confirm(pledge=self.get_object(), actor=request.user))

    @_transition("Send a reported fulfilment back with the reason (the secretary)", ReasonInput)
    @action(detail=True, methods=["post"], url_path="reject-claim")
    def reject_claim(self, request, pk=None):
        data = _parse(ReasonInput, request)
        return self._done(services.pledge_reject_claim(pledge=self.get_object(), reason=data["reason"],
                                                       actor=request.user))

    @_transition("Declare a published pledge not fulfilled, with the public explanation", ReasonInput)
    @action(detail=True, methods=["post"], url_path="not-fulfilled")
    def not_fulfilled(self, request, pk=None):
        data = _parse(ReasonInput, request)
        return self._done(services.pledge_not_fulfilled(pledge=self.get_object(), explanation=data["reason"],
                                                        actor=request.user))

    @_transition("Evaluate (评诺) with the organisation's score", EvaluateInput)
    @action(detail=True, methods=["post"])
    def evaluate(self, request, pk=None):
        data = _parse(EvaluateInput, request)
        return self._done(services.pledge_evaluate(pledge=self.get_object(), org_score=data["org_score"],
                                                   actor=request.user))

    @_transition("Recognise an evaluated pledge (奖诺)")
    @action(detail=True, methods=["post"])
    def recognise(self, request, pk=None):
        return self._done(services.pledge_recognise(pledge=self.get_object(), actor=request.user))

    @_transition("Close an evaluated pledge without recognition", ReasonInput)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        data = _parse(ReasonInput, request)
        return self._done(services.pledge_close(pledge=self.get_object(), reason=data["reason"], actor=request.user))

    @extend_schema(summary="Rate a public pledge as a resident (once)", request=RateInput,
                   responses={201: OpenApiResponse(description="rated"), 400: BAD_INPUT, 404: NOT_FOUND,
                              409: OpenApiResponse(description="already rated")})
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        """Any published pledge, whatever the caller's scope: residents supervise from the public board."""
        pledge = get_or_404(Pledge.objects.public(), pk=pk)
        data = _parse(RateInput, request)
        try:
            rating = services.rating_post(pledge=pledge, actor=request.user, value=data["value"])
        except services.AlreadyRated:
            raise Conflict("你已经评价过这条承诺") from None
        return Response({"pledge": pledge.pk, "value": rating.value}, status=status.HTTP_201_CREATED)


def register(router) -> None:
    router.register("pledges", PledgeViewSet, basename="pledge")
