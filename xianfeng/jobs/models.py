from __future__ import annotations

from django.db import models
from django.db.models import Q

from xianfeng.core.models import AppendOnlyModel


class JobQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(status=Job.Status.PENDING, due_at__lte=now)

    def stale(self, cutoff):
        """Running jobs whose worker has not beaten since `cutoff` (it died or hangs)."""
        return self.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)

    def parked(self):
        return self.filter(status=Job.Status.PARKED)


class Job(models.Model):
    """One piece of background work: a registered function, its arguments, when it is due and how it went.

    The table is the queue. A worker claims a due row (conditional UPDATE / SELECT … FOR UPDATE SKIP LOCKED), beats
    its heartbeat while running it, and records the outcome on the row. Periodic jobs are one row each, re-armed
    after every run.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "待运行"
        RUNNING = "running", "运行中"
        DONE = "done", "已完成"
        PARKED = "parked", "已搁置（多次失败）"
        CANCELLED = "cancelled", "已取消"

    name = models.CharField("任务", max_length=100)
    args = models.JSONField("参数", default=dict, blank=True)
    key = models.CharField("幂等键", max_length=200, unique=True, null=True, blank=True)
    periodic = models.BooleanField("周期任务", default=False)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField("计划时间")
    attempts = models.PositiveIntegerField("已尝试次数", default=0)
    max_attempts = models.PositiveIntegerField("最多尝试次数", default=5)
    backoff_seconds = models.FloatField("首次重试间隔（秒）", default=30)
    claimed_by = models.CharField("执行进程", max_length=100, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("心跳", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
        ordering = ["due_at", "id"]
        indexes = [
            # The worker's one hot query: the oldest due pending job.
            models.Index(fields=["due_at", "id"], condition=Q(status="pending"), name="job_pending_due"),
            models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="running") | (Q(started_at__isnull=False) & Q(heartbeat_at__isnull=False)),
                name="job_running_has_heartbeat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.get_status_display()})"

    @property
    def lag_seconds(self) -> float | None:
        """How late the last run started compared with when it was due."""
        if self.started_at is None:
            return None
        return (self.started_at - self.due_at).total_seconds()


class JobAttempt(AppendOnlyModel):
    """One run of a job, as it ended: a row per attempt, written once and never changed. The job row carries the
    current state (its attempt count, last error); the attempts are its history. Deleted only with their job
    (`jobs_prune`)."""

    class Outcome(models.TextChoices):
        DONE = "done", "完成"
        FAILED = "failed", "失败"
        LOST = "lost", "执行进程失联"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempt_rows", db_index=False)
    number = models.PositiveIntegerField("第几次")
    worker = models.CharField("执行进程", max_length=100, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间")
    outcome = models.CharField("结果", max_length=10, choices=Outcome.choices)
    error = models.TextField("错误", blank=True)

    class Meta:
        verbose_name = "任务执行记录"
        verbose_name_plural = "任务执行记录"
        ordering = ["job", "id"]
        indexes = [models.Index(fields=["job", "id"], name="job_attempt_job_id")]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.number} {self.outcome}"
