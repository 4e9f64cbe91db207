"""The job queue as administrators see it: what is parked (with its error), running, due next. Others get 404
(jobs/policies.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xianfeng.core import policy
from xianfeng.core.frontdoor import page_call

from .models import Job
from .services import job_retry


@login_required
def job_list(request):
    policy.require_any(request.user, "view", Job)
    status = request.GET.get("status") or Job.Status.PARKED
    if status not in Job.Status.values:
        status = Job.Status.PARKED
    counts = dict(Job.objects.values_list("status").annotate(n=Count("id")).order_by())
    qs = Job.objects.filter(status=status).order_by("-due_at" if status != Job.Status.PENDING else "due_at", "-id")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "jobs/job_list.html", {
        "page": page, "status": status, "now": timezone.now(),
        "tabs": [(value, label, counts.get(value, 0)) for value, label in Job.Status.choices],
    })


@login_required
def job_detail(request, pk: int):
    job = policy.get_visible(Job, request.user, pk=pk)
    return render(request, "jobs/job_detail.html", {"job": job})


@login_required
@require_POST
def job_retry_view(request, pk: int):
    job = policy.get_visible(Job, request.user, "change", pk=pk)
    if page_call(request, job_retry, job=job, actor=request.user).ok:
        messages.success(request, _("The job is queued again."))
    return redirect("jobs:detail", pk=job.pk)
