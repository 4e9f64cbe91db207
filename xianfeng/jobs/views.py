"""The job queue as administrators see it: what is parked (with its error), running, due next. Others get 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .access import is_system_admin
from .models import Job
from .services import job_retry


def _admin_only(request) -> None:
    if not is_system_admin(request.user):
        raise Http404


@login_required
def job_list(request):
    _admin_only(request)
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
    _admin_only(request)
    job = get_object_or_404(Job, pk=pk)
    return render(request, "jobs/job_detail.html", {"job": job})


@login_required
@require_POST
def job_retry_view(request, pk: int):
    _admin_only(request)
    job = get_object_or_404(Job, pk=pk)
    try:
        job_retry(job=job, by=request.user)
        messages.success(request, _("The job is queued again."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("jobs:detail", pk=job.pk)
