"""Pages for link requests (关联申请): ask for a person outside one's scope to become a member of one's
organisation, and accept or decline such requests for the people one's organisation answers for.

Thin: parse → read through the LinkRequest policy (orgs/policies.py) → call a service → render. A request the user
may not see answers 404.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods, require_POST

from xianfeng.core import policy
from xianfeng.core.frontdoor import page_call

from . import services
from .models import LinkRequest, Member, Organisation
from .selectors import link_requests


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


@login_required
def link_request_list(request):
    """Requests to decide (first), then those made by or for the user's organisations."""
    qs = link_requests(request.user)
    status = request.GET.get("status", "")
    if status in LinkRequest.Status.values:
        qs = qs.filter(status=status)
    to_decide = list(policy.visible(qs, request.user, "decide").filter(status=LinkRequest.Status.PENDING)[:100])
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "orgs/link_request_list.html", {
        "to_decide": to_decide, "page": page, "status": status, "statuses": LinkRequest.Status.choices,
        "may_request": policy.policy_for(Organisation).any(request.user, "change"),
    })


@login_required
def link_request_detail(request, pk: int):
    link = policy.get_visible(link_requests(request.user), request.user, "view", pk=pk)
    decide = policy.allows(request.user, "decide", link)
    return render(request, "orgs/link_request_detail.html", {
        "link": link, "may_decide": decide and link.status == LinkRequest.Status.PENDING,
        "may_cancel": policy.allows(request.user, "cancel", link) and link.status == LinkRequest.Status.PENDING,
        "show_name": decide or link.status == LinkRequest.Status.ACCEPTED,
    })


@login_required
@require_http_methods(["GET", "POST"])
def link_request_create(request):
    policy.require_any(request.user, "change", Organisation)
    orgs = list(Organisation.objects.restrict(request.user, "change").party().order_by("path")[:501])
    if len(orgs) > 500:  # a county's thousand branches: the organisation is given by its ID instead of a list
        orgs = []
    form = LinkRequestForm(request.POST or None, orgs=orgs,
                           initial={"id_number": request.GET.get("id_number", "")[:40]})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        org = policy.get_visible(Organisation, request.user, "change", pk=data.pop("org"))
        outcome = page_call(request, services.link_request_create, form=form, actor=request.user, org=org, **data)
        if outcome:
            messages.success(request, _("The request has been sent. Nothing changes until it is accepted."))
            return redirect("orgs:link_request_detail", pk=outcome.value.pk)
    return render(request, "orgs/link_request_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def link_request_decide(request, pk: int):
    link = policy.get_visible(link_requests(request.user), request.user, "decide", pk=pk)
    accept = request.POST.get("decision") == "accept"
    if request.POST.get("decision") not in ("accept", "decline"):
        messages.error(request, _("Choose to accept or decline."))
        return redirect("orgs:link_request_detail", pk=pk)
    try:
        services.link_request_decide(actor=request.user, link=link, accept=accept, note=request.POST.get("note", ""))
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
    link = policy.get_visible(link_requests(request.user), request.user, "cancel", pk=pk)
    try:
        services.link_request_cancel(actor=request.user, link=link)
    except services.LinkRequestClosed:
        messages.info(request, _("This request has already been handled."))
    else:
        messages.success(request, _("The request has been withdrawn."))
    return redirect("orgs:link_request_detail", pk=pk)
