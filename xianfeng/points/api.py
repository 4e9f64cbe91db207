"""/api/v1/ endpoints of the points card and the reward shop: the caller's card, leaderboards, rewards,
redemptions. Redeeming without enough points answers 400 with the balance; another's data answers 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from xianfeng.core.api import Conflict, StrictInputSerializer
from xianfeng.core.scoping import can, scope_paths, scope_q
from xianfeng.orgs.models import Member
from xianfeng.orgs.selectors import community_of, member_of

from . import services
from .card import history, leaderboard, member_from_token, rank_in
from .models import Redemption, Reward


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
        if member is None:
            raise Http404
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
            own = member is not None and org is not None and org.pk == community_of(member.org).pk
            if org is None or not (own or can(request.user, "view", org)):
                raise Http404
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
        user = self.request.user
        qs = Reward.objects.select_related("shop").order_by("shop__path", "price", "id")
        paths = scope_paths(user, "view")
        if paths is None:
            return qs
        q = scope_q(["shop__path"], paths) if paths else Q(pk__in=[])
        member = member_of(user)
        if member is not None:
            org_path = member.org.path
            q |= Q(shop__path__in=[org_path[:i] for i in range(4, len(org_path) + 1, 4)])
        return qs.filter(q)


class RedemptionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own redemptions and those at shops in the caller's scope; POST redeems (shop staff)."""

    serializer_class = RedemptionSerializer

    def get_queryset(self):
        user = self.request.user
        member = member_of(user)
        own = Q(member=member) if member else Q(pk__in=[])
        paths = scope_paths(user, "view")
        qs = Redemption.objects.select_related("reward").order_by("-created_at", "-id")
        if paths is None:
            return qs
        return qs.filter(own | scope_q(["reward__shop__path"], paths) if paths else own)

    @extend_schema(request=RedeemInput, responses={201: RedemptionSerializer, 400: OpenApiResponse(
        description="bad input, out of stock, or not enough points: {detail, balance, price}"),
        404: OpenApiResponse()})
    def create(self, request):
        s = RedeemInput(data=request.data)
        s.is_valid(raise_exception=True)
        data = s.validated_data
        reward = Reward.objects.select_related("shop").filter(pk=data["reward"]).first()
        if reward is None or not can(request.user, "change", reward.shop):
            raise Http404
        if data.get("token"):
            member = member_from_token(data["token"])
        elif data.get("member") is not None:
            member = Member.objects.select_related("org", "managing_org").filter(pk=data["member"]).first()
        else:
            raise ValidationError({"member": ["请扫描积分卡或指定党员"]})
        if member is None:
            raise Http404
        try:
            redemption = services.points_redeem(reward=reward, member=member, quantity=data["quantity"],
                                                key=data["key"], by=request.user)
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
