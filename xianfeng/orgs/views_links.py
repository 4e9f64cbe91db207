"""Pages for link requests (关联申请): ask for a person outside one's scope to become a member of one's
organisation, and accept or decline such requests for the people one's organisation answers for.

Thin: parse → restrict (xianfeng.orgs.links) → call a service → render. A request the user may not see answers 404.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods, require_POST

from xianfeng.core.forms import add_service_errors
from xianfeng.core.scoping import scope_paths

from . import links, services
from .models import LinkRequest, Member, Organisation


class LinkRequestForm(forms.Form):
    id_number = forms.CharField(label=_l("ID number"), max_length=40)
    org = forms.IntegerField(label=_l("Organisation (ID)"), min_value=1, max_value=2**63 - 1)
    join_date = forms.DateField(label=_l("Joined the party"), widget=forms.DateInput(attrs={"type": "date"}))
    full_date = forms.DateField(label=_l("Full member since"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ChoiceField(label=_l("Category"), choices=Member.Category.choices, initial=Member.Category.FULL)
    education = forms.CharField(label=_l("Education"), max_length=20, required=False)
    occupation = forms.CharField(label=_l("Occupation"), max_length=50, required=False)
    note = forms.CharField(label=_l("Note"), max_length=200, required=False)

    def __init__(self, *args, orgs=(), **kwargs):
        super().__init__(*args, **kwargs)
        if orgs:
            self.fields["org"] = forms.TypedChoiceField(label=_l("Organisation"), coerce=int,
                                                        choices=[(o.pk, o.full_name) for o in orgs])
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select" if isinstance(field, forms.ChoiceField)
                                          else "form-control")


def _require_change_scope(user) -> None:
    if scope_paths(user, "change") == []:
        raise Http404


@login_required
def link_request_list(request):
    """Requests to decide (first), then those made by or for the user's organisations."""
    qs = links.visible(request.user)
    status = request.GET.get("status", "")
    if status in LinkRequest.Status.values:
        qs = qs.filter(status=status)
    to_decide = list(qs.filter(links.decidable_q(request.user), status=LinkRequest.Status.PENDING)[:100])
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "orgs/link_request_list.html", {
        "to_decide": to_decide, "page": page, "status": status, "statuses": LinkRequest.Status.choices,
        "may_request": scope_paths(request.user, "change") != [],
    })


def _link_or_404(user, pk: int) -> LinkRequest:
    link = links.visible(user).filter(pk=pk).first()
    if link is None:
        raise Http404
    return link


@login_required
def link_request_detail(request, pk: int):
    link = _link_or_404(request.user, pk)
    decide = links.may_decide(request.user, link)
    return render(request, "orgs/link_request_detail.html", {
        "link": link, "may_decide": decide and link.status == LinkRequest.Status.PENDING,
        "may_cancel": links.may_cancel(request.user, link) and link.status == LinkRequest.Status.PENDING,
        "show_name": decide or link.status == LinkRequest.Status.ACCEPTED,
    })


@login_required
@require_http_methods(["GET", "POST"])
def link_request_create(request):
    _require_change_scope(request.user)
    orgs = list(Organisation.objects.restrict(request.user, "change").party().order_by("path")[:501])
    if len(orgs) > 500:  # a county's thousand branches: the organisation is given by its ID instead of a list
        orgs = []
    form = LinkRequestForm(request.POST or None, orgs=orgs,
                           initial={"id_number": request.GET.get("id_number", "")[:40]})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        org = Organisation.objects.restrict(request.user, "change").filter(pk=data.pop("org")).first()
        if org is None:
            raise Http404
        try:
            link = services.link_request_create(by=request.user, org=org, **data)
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The request has been sent. Nothing changes until it is accepted."))
            return redirect("orgs:link_request_detail", pk=link.pk)
    return render(request, "orgs/link_request_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def link_request_decide(request, pk: int):
    link = _link_or_404(request.user, pk)
    if not links.may_decide(request.user, link):
        raise Http404
    accept = request.POST.get("decision") == "accept"
    if request.POST.get("decision") not in ("accept", "decline"):
        messages.error(request, _("Choose to accept or decline."))
        return redirect("orgs:link_request_detail", pk=pk)
    try:
        services.link_request_decide(by=request.user, link=link, accept=accept, note=request.POST.get("note", ""))
    except services.LinkRequestClosed:
        messages.info(request, _("This request has already been handled."))
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("Accepted: the person is now a member.") if accept else _("Declined."))
    return redirect("orgs:link_request_detail", pk=pk)


@login_required
@require_POST
def link_request_cancel(request, pk: int):
    link = _link_or_404(request.user, pk)
    if not links.may_cancel(request.user, link):
        raise Http404
    try:
        services.link_request_cancel(by=request.user, link=link)
    except services.LinkRequestClosed:
        messages.info(request, _("This request has already been handled."))
    else:
        messages.success(request, _("The request has been withdrawn."))
    return redirect("orgs:link_request_detail", pk=pk)
