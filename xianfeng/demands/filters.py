"""The board's filters, shared by the page and the API (the form is forms.FilterForm)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .forms import FilterForm
from .models import Demand


def filter_board(qs, form: FilterForm):
    """The board's filters on a queryset of demands (the position filter is applied by the caller)."""
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or Demand.Status.OPEN
    qs = qs.filter(status=status)
    if data.get("category"):
        qs = qs.filter(category=data["category"])
    if data.get("urgency"):
        qs = qs.filter(urgency=data["urgency"])
    if data.get("days"):
        qs = qs.filter(created_at__gte=timezone.now() - dt.timedelta(days=data["days"]))
    if data.get("when"):
        qs = qs.filter(preferred_times__icontains=data["when"])
    return qs
