from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from xianfeng.core.admin import ReadOnlyAdmin

from .models import Job
from .services import job_retry


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Jobs are scheduled by services (job_schedule) and retried by job_retry (audited): the one action here."""

    list_display = ("id", "name", "status", "due_at", "attempts", "max_attempts", "claimed_by", "heartbeat_at")
    list_filter = ("status", "periodic", "name")
    search_fields = ("name", "key")
    actions = ["retry"]

    @admin.action(description="重新运行所选任务（已搁置或已取消）")
    def retry(self, request, queryset):
        done = 0
        for job in queryset:
            try:
                job_retry(job=job, actor=request.user)
                done += 1
            except ValidationError:
                pass
        self.message_user(request, f"已重新排队 {done} 个任务", messages.SUCCESS)
