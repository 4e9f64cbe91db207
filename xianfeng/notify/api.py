"""/api/v1/notifications/ (the caller's inbox, mark read) and /api/v1/notification-deliveries/ (what was sent).

Only ever the caller's own rows: anybody else's answer 404.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from xianfeng.core import policy

from .models import Delivery, Notification
from .services import notification_mark_read, notifications_mark_all_read


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "subject", "body", "link", "created_at", "read_at"]


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    filterset_fields = ["kind"]

    def get_queryset(self):
        qs = Notification.objects.inbox(self.request.user).order_by("-created_at", "-id")
        if self.request.query_params.get("unread") in ("1", "true"):
            qs = qs.unread()
        return qs

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        notification_mark_read(notification=notification, actor=request.user)
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses=inline_serializer("MarkedRead", {"marked": serializers.IntegerField()}))
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": notifications_mark_all_read(actor=request.user)})

    @extend_schema(responses=inline_serializer("UnreadCount", {"unread": serializers.IntegerField()}))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def unread_count(self, request):
        return Response({"unread": Notification.objects.inbox(request.user).unread().count()})


class DeliverySerializer(serializers.ModelSerializer):
    subject = serializers.CharField(source="notification.subject")
    target = serializers.CharField(source="target_masked")

    class Meta:
        model = Delivery
        fields = ["id", "notification", "subject", "channel", "target", "status", "attempts", "next_attempt_at",
                  "sent_at", "last_error", "created_at"]


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeliverySerializer
    filterset_fields = ["channel", "status"]
    queryset = Delivery.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        return (policy.visible(Delivery, self.request.user, "view")
                .select_related("notification").order_by("-created_at", "-id"))


def register(router) -> None:
    router.register("notifications", NotificationViewSet, basename="notification")
    router.register("notification-deliveries", DeliveryViewSet, basename="notification-delivery")
