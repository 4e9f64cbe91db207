"""/api/v1/jobs/: the queue, read-only, for system administrators (everyone else sees nothing: 404)."""

from rest_framework import serializers, viewsets

from xianfeng.core import policy

from .models import Job


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "name", "args", "key", "periodic", "status", "due_at", "attempts", "max_attempts",
                  "claimed_by", "started_at", "heartbeat_at", "finished_at", "last_error"]


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = JobSerializer
    filterset_fields = ["status", "name", "periodic"]

    def get_queryset(self):
        return policy.visible(Job, self.request.user).order_by("-id")


def register(router) -> None:
    router.register("jobs", JobViewSet, basename="job")
