"""/api/v1/jobs/: the queue, read-only, for system administrators (everyone else sees nothing: 404)."""

from rest_framework import serializers, viewsets

from .access import is_system_admin
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
        if not is_system_admin(self.request.user):
            return Job.objects.none()
        return Job.objects.order_by("-id")


def register(router) -> None:
    router.register("jobs", JobViewSet, basename="job")
