"""/api/v1/ endpoints of the points card and the reward shop: the caller's card, leaderboards, rewards,
redemptions. Redeeming without enough points answers 400 with the balance; another's data answers 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from xianfeng.core.api import Conflict, StrictInputSerializer
from xianfeng.core.policy import ensure, get_visible, visible
from xianfeng.orgs.models import Member
from xianfeng.orgs.selectors import community_of, member_of

from . import services
from .card import history, leaderboard, member_from_token, rank_in
from .models import Redemption, Reward
from .policies import may_view_board


class RewardSerializer(serializers.ModelSerializer):
    shop_name = serializers.CharField(source="shop.name", read_only=True)

    class Meta:
        model = Reward
        fields = ["id", "shop", "shop_name", "name", "price", "stock", "is_active"]


class RedemptionSerializer(serializers.ModelSerializer):
    reward_name = serializers.CharField(source="reward.name", read_only=True)

    class Meta:
        model = Redemption
        fields = ["id", "reward", "reward_name", "member", "quantity", "points", "key", "created_at"]


class RedeemInput(StrictInputSerializer):
    reward = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1, max_value=100, default=1)
    key = serializers.CharField(max_length=80)
    member = serializers.IntegerField(required=False)
    token = serializers.CharField(required=False, max_length=500)


class CardViewSet(viewsets.ViewSet):
    """GET /api/v1/points-card/: the caller's balance, rank in the community and latest history."""

    @extend_schema(responses={200: OpenApiResponse(description="the card"), 404: OpenApiResponse()})
    def list(self, request):
        member = member_of(request.user)
        ensure(member is not None)
        assert member is not None
        balance = services.balance_of(member)
        community = community_of(member.org)
        rank, ranked = rank_in(member, community, balance)
        return Response({
            "member": member.pk, "name": member.person.name, "balance": balance, "community": community.pk,
            "rank": rank, "ranked": ranked,
            "history": [{"at": line.at, "amount": line.amount, "balance": line.running, "kind": line.kind,
                         "source": line.source} for line in history(member)],
        })


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    name = serializers.CharField()
    balance = serializers.IntegerField()
    member = serializers.IntegerField(allow_null=True, help_text="null for a member who hides their name")


@extend_schema_serializer(many=False)  # one object although the action is `list`
class LeaderboardSerializer(serializers.Serializer):
    org = serializers.IntegerField()
    rows = LeaderboardRowSerializer(many=True)


class LeaderboardViewSet(viewsets.ViewSet):
    """GET /api/v1/points-leaderboard/?org=: by balance; hidden names appear as 匿名党员."""

    @extend_schema(
        parameters=[OpenApiParameter("org", int, description="the organisation; a member may leave it out (their own "
                                     "community), anybody else must name one (400 otherwise)")],
        responses={200: LeaderboardSerializer,
                   404: OpenApiResponse(description="the organisation is missing or outside the caller's scope")})
    def list(self, request):
        from xianfeng.orgs.models import Organisation

        member = member_of(request.user)
        org_id = request.query_params.get("org", "")
        if org_id and not (org_id.isascii() and org_id.isdigit() and len(org_id) <= 18):
            raise ValidationError({"org": ["须为组织的编号（正整数）"]})
        if org_id:
            org = Organisation.objects.filter(pk=int(org_id)).first()
            ensure(org is not None and may_view_board(request.user, org))
        elif member is not None:
            org = community_of(member.org)
        else:
            raise ValidationError({"org": ["请指定组织"]})
        return Response({"org": org.pk, "rows": [{"rank": r.rank, "name": r.name, "balance": r.balance,
                                                   "member": None if r.hidden else r.member_id}
                                                  for r in leaderboard(org)]})


class RewardViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Rewards of the shops in the caller's scope and of the caller's own organisations."""

    serializer_class = RewardSerializer

    def get_queryset(self):
        return (visible(Reward, self.request.user, "view").select_related("shop")  # policies.RewardPolicy
                .order_by("shop__path", "price", "id"))


class RedemptionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own redemptions and those at shops in the caller's scope; POST redeems (shop staff)."""

    serializer_class = RedemptionSerializer

    def get_queryset(self):
        return (visible(Redemption, self.request.user, "view").select_related("reward")  # policies.RedemptionPolicy
                .order_by("-created_at", "-id"))

    @extend_schema(request=RedeemInput, responses={201: RedemptionSerializer, 400: OpenApiResponse(
        description="bad input, out of stock, or not enough points: {detail, balance, price}"),
        404: OpenApiResponse()})
    def create(self, request):
        s = RedeemInput(data=request.data)
        s.is_valid(raise_exception=True)
        data = s.validated_data
        reward = get_visible(Reward.objects.select_related("shop"), request.user, "change", pk=data["reward"])
        if data.get("token"):
            member = member_from_token(data["token"])
        elif data.get("member") is not None:
            member = Member.objects.select_related("org", "managing_org").filter(pk=data["member"]).first()
        else:
            raise ValidationError({"member": ["请扫描积分卡或指定党员"]})
        ensure(member is not None)
        try:
            redemption = services.points_redeem(reward=reward, member=member, quantity=data["quantity"],
                                                key=data["key"], actor=request.user)
        except services.NotEnoughPoints as exc:
            return Response({"detail": exc.messages[0], "balance": exc.balance, "price": exc.price},
                            status=status.HTTP_400_BAD_REQUEST)
        except services.OutOfStock as exc:
            raise Conflict(detail=exc.messages[0]) from None
        return Response(RedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED)


def register(router) -> None:
    router.register("points-card", CardViewSet, basename="points-card")
    router.register("points-leaderboard", LeaderboardViewSet, basename="points-leaderboard")
    router.register("rewards", RewardViewSet, basename="reward")
    router.register("redemptions", RedemptionViewSet, basename="redemption")
