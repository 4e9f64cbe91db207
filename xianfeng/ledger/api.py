"""/api/v1/ledger-accounts/: accounts the caller may see, and each one's statement with running balance.

Read-only: postings are made by the modules' own services (points, care fund), never directly through the API.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from xianfeng.core import policy

from .models import Account, Entry
from .services import account_statement


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "name", "owner_type", "owner_id", "purpose", "org", "unit", "floor", "balance", "created_at"]


class StatementLineSerializer(serializers.ModelSerializer):
    running_balance = serializers.IntegerField()
    transaction_id = serializers.IntegerField()
    memo = serializers.CharField(source="transaction.memo")
    kind = serializers.CharField(source="transaction.kind")
    created_at = serializers.DateTimeField(source="transaction.created_at")
    reverses = serializers.IntegerField(source="transaction.reverses_id", allow_null=True)

    class Meta:
        model = Entry
        fields = ["id", "transaction_id", "created_at", "kind", "memo", "amount", "running_balance", "reverses"]


class AccountViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AccountSerializer
    filterset_fields = ["unit", "owner_type", "owner_id", "org"]

    def get_queryset(self):
        return policy.visible(Account, self.request.user).order_by("id")

    @extend_schema(responses=StatementLineSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=StatementLineSerializer, filter_backends=[])
    def statement(self, request, pk=None):
        account = self.get_object()
        page = self.paginate_queryset(account_statement(account).order_by("-id"))
        return self.get_paginated_response(StatementLineSerializer(page, many=True).data)


def register(router) -> None:
    router.register("ledger-accounts", AccountViewSet, basename="ledger-account")
