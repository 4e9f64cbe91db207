"""/api/v1/ leading-group and standing-committee meetings with their follow-ups."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from xianfeng.core.api import ScopedViewSetMixin, StrictInputSerializer

from .. import services
from ..models import (
    Meeting,
)
from .common import BAD, NOT_FOUND, _created, _org


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
