"""/api/v1/care-…: funds, cases, devices and alerts in the caller's scope; alert actions (acknowledge, arrive,
resolve) for responders. Device messages do not come here: gateways use the signed /care/ingress/ (or MQTT)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core import policy
from xianfeng.core.api import Conflict, ScopedReadOnlyViewSet, StrictInputSerializer

from . import services
from .models import Alert, AlertEvent, CareCase, CareFund, Device


class FundSerializer(serializers.ModelSerializer):
    balance = serializers.IntegerField(source="account.balance", read_only=True)

    class Meta:
        model = CareFund
        fields = ["id", "name", "org", "parent", "owner", "account", "balance"]


@extend_schema_serializer(component_name="CareCase")
class CaseSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.person.name", read_only=True)

    class Meta:
        model = CareCase
        fields = ["id", "member", "member_name", "org", "reason", "status", "visit_every_days", "next_visit_due",
                  "opened_on", "closed_on"]


class DeviceSerializer(serializers.ModelSerializer):
    holder_name = serializers.CharField(source="holder.name", read_only=True)

    class Meta:
        model = Device
        fields = ["id", "serial", "model", "holder_name", "org", "address", "grid", "heartbeat_minutes",
                  "last_heartbeat_at", "offline_since", "battery_pct", "is_active"]


class AlertEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertEvent
        fields = ["at", "kind", "level", "by", "detail"]


class AlertSerializer(serializers.ModelSerializer):
    events = AlertEventSerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "device", "org", "kind", "status", "raised_at", "ack_timeout_seconds", "repeat_seconds",
                  "current_level", "calls", "acknowledged_at", "acknowledged_by", "ack_seconds", "arrived_at",
                  "arrive_seconds", "resolved_at", "outcome", "notes", "events"]


class ResolveSerializer(StrictInputSerializer):
    outcome = serializers.ChoiceField(choices=[c for c in Alert.Outcome.values if c != Alert.Outcome.BACK_ONLINE])
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FundViewSet(ScopedReadOnlyViewSet):
    queryset = CareFund.objects.select_related("account").order_by("id")
    serializer_class = FundSerializer
    filterset_fields = ["org", "parent"]


class CaseViewSet(ScopedReadOnlyViewSet):
    queryset = CareCase.objects.select_related("member__person").order_by("id")
    serializer_class = CaseSerializer
    filterset_fields = ["org", "status", "reason"]


class DeviceViewSet(ScopedReadOnlyViewSet):
    queryset = Device.objects.select_related("holder").order_by("serial")
    serializer_class = DeviceSerializer
    filterset_fields = ["org", "is_active"]


class AlertViewSet(ScopedReadOnlyViewSet):
    queryset = Alert.objects.prefetch_related("events").order_by("-raised_at", "-id")
    serializer_class = AlertSerializer
    filterset_fields = ["org", "status", "kind", "device"]

    def _respondable(self) -> Alert:
        alert = self.get_object()
        policy.require(self.request.user, "respond", alert)
        return alert

    def _act(self, service, **kwargs) -> Response:
        alert = self._respondable()
        try:
            alert = service(alert=alert, actor=self.request.user, **kwargs)
        except services.AlertClosed as exc:
            raise Conflict(exc.messages[0]) from None
        return Response(AlertSerializer(alert).data)

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"], serializer_class=serializers.Serializer)
    def acknowledge(self, request, pk=None):
        return self._act(services.alert_acknowledge)

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"], serializer_class=serializers.Serializer)
    def arrive(self, request, pk=None):
        return self._act(services.alert_arrive)

    @extend_schema(request=ResolveSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"], serializer_class=ResolveSerializer)
    def resolve(self, request, pk=None):
        data = ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(services.alert_resolve, **data.validated_data)


def register(router) -> None:
    router.register("care-funds", FundViewSet, basename="care-fund")
    router.register("care-cases", CaseViewSet, basename="care-case")
    router.register("care-devices", DeviceViewSet, basename="care-device")
    router.register("care-alerts", AlertViewSet, basename="care-alert")
