"""Pages for bulletins: writing, publishing and withdrawing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xianfeng.core.forms import add_service_errors
from xianfeng.core.policy import allows, get_visible, visible
from xianfeng.orgs.models import Organisation

from .. import services
from ..forms import (
    BulletinForm,
)
from ..models import (
    Bulletin,
)
from .common import PAGE_SIZE


@login_required
@require_http_methods(["GET", "POST"])
def bulletin_list(request):
    """Bulletins of the organisations in scope (drafts included); a form to write one for an organisation one may change."""
    editable = visible(Organisation, request.user, "change")
    form = BulletinForm()
    status = 200
    if request.method == "POST":
        form = BulletinForm(request.POST, request.FILES)
        org = get_visible(Organisation, request.user, "change", pk=request.POST.get("org") or 0)
        try:
            if not form.is_valid():
                raise ValidationError({})
            data = form.cleaned_data
            services.bulletin_create(org=org, kind=data["kind"], issue=data["issue"], title=data["title"],
                                     body=data["body"], image=data["image"], publish=data["publish"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = 400
        else:
            messages.success(request, _("The bulletin was saved."))
            return redirect("campaigns:bulletin_list")
    bulletins = visible(Bulletin, request.user).select_related("org").order_by("-created_at", "-id")
    page = Paginator(bulletins, PAGE_SIZE).get_page(request.GET.get("page"))
    for b in page:
        b.may_change = allows(request.user, "change", b)
    orgs = editable.order_by("path")[:200]
    return render(request, "campaigns/bulletin_list.html", {"page": page, "form": form, "orgs": orgs}, status=status)


@login_required
@require_POST
def bulletin_publish(request, pk: int):
    bulletin = get_visible(Bulletin, request.user, "change", pk=pk)
    try:
        if request.POST.get("op") == "withdraw":
            services.bulletin_withdraw(bulletin=bulletin, actor=request.user)
        else:
            services.bulletin_publish(bulletin=bulletin, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("campaigns:bulletin_list")
