"""/api/v1/ drives with targets and progress reports."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from xianfeng.core.api import StrictInputSerializer
from xianfeng.core.policy import get_visible, visible

from .. import selectors, services
from ..models import (
    Drive,
    DriveTarget,
)
from .common import BAD, NOT_FOUND, _created, _org


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
            rows = selectors.drive_progress(drive, visible(DriveTarget.objects.filter(drive=drive), user))
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
