"""Pages of responsibility posts: parse → policy → service → render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xianfeng.core import policy
from xianfeng.core.frontdoor import page_call
from xianfeng.orgs.models import PARTY_KINDS, Organisation, Resident
from xianfeng.pledges.models import Pledge

from . import selectors, services
from .forms import ConfirmForm, PostForm, ServiceForm
from .models import Holding, Post, PostService


def _units_to_manage(user):
    return (policy.visible(Organisation, user, "change").filter(is_active=True).exclude(kind__in=PARTY_KINDS)
            .order_by("path"))


@login_required
def post_list(request):
    posts = list(selectors.posts_for(request.user))
    return render(request, "posts/list.html", {
        "posts": posts,
        "mine": list(selectors.holdings_of(request.user)),
        "to_confirm": list(selectors.to_confirm(request.user)),
        "may_create": _units_to_manage(request.user).exists(),
    })


@login_required
def post_create(request):
    orgs = _units_to_manage(request.user)
    policy.ensure(orgs.exists())
    form = PostForm(request.POST or None, orgs=orgs)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = page_call(request, services.post_create, actor=request.user, form=form, **data)
        if outcome:
            messages.success(request, _("The post is set up and open to claims."))
            return redirect("posts:detail", pk=outcome.value.pk)
        status = outcome.status
    elif request.method == "POST":
        status = 400
    return render(request, "posts/create.html", {"form": form}, status=status)


def _service_form(post: Post, holding: Holding | None, data=None) -> ServiceForm:
    residents = Resident.objects.filter(org__path__startswith=post.org.path).select_related("person").order_by("id")
    pledges = (Pledge.objects.filter(member=holding.member).select_related("round").order_by("-id")
               if holding is not None else Pledge.objects.none())
    return ServiceForm(data, residents=residents, pledges=pledges)


@login_required
def post_detail(request, pk: int):
    post = policy.get_visible(Post.objects.select_related("org"), request.user, "view", pk=pk)
    mine = selectors.holdings_of(request.user).filter(post=post).first()
    form = _service_form(post, mine)
    status = 200
    if request.method == "POST":
        policy.ensure(mine is not None)
        form = _service_form(post, mine, request.POST)
        if form.is_valid():
            outcome = page_call(request, services.post_service_record, actor=request.user, holding=mine, form=form,
                                **form.cleaned_data)
            if outcome:
                messages.success(request, _("Service recorded. It earns points once the resident confirms it."))
                return redirect("posts:detail", pk=pk)
            status = outcome.status
        else:
            status = 400
    holdings = post.holdings.select_related("member__person", "member__org").order_by("-ended_on", "started_on")
    services_qs = (policy.visible(PostService, request.user).filter(holding__post=post)
                   .select_related("holding__member__person", "resident__person", "pledge__round")[:50])
    return render(request, "posts/detail.html", {
        "post": post, "mine": mine, "form": form, "holdings": holdings, "services": services_qs,
        "figures": selectors.post_figures(post),
        "may_claim": mine is None and policy.allows(request.user, "claim", post),
        "may_change": policy.allows(request.user, "change", post),
    }, status=status)


@login_required
@require_POST
def claim(request, pk: int):
    post = policy.get_visible(Post.objects.select_related("org"), request.user, "view", pk=pk)
    if page_call(request, services.post_claim, actor=request.user, post=post):
        messages.success(request, _("You hold this post now. Record each service you do in its area."))
    return redirect("posts:detail", pk=pk)


@login_required
@require_POST
def set_open(request, pk: int):
    post = policy.get_visible(Post.objects.select_related("org"), request.user, "change", pk=pk)
    if page_call(request, services.post_set_open, actor=request.user, post=post,
                 is_open=request.POST.get("open") == "1"):
        messages.success(request, _("Saved."))
    return redirect("posts:detail", pk=pk)


@login_required
@require_POST
def leave(request, pk: int):
    holding = policy.get_visible(Holding.objects.select_related("post__org", "member"), request.user, "view", pk=pk)
    if page_call(request, services.holding_end, actor=request.user, holding=holding,
                 reason=request.POST.get("reason", "")):
        messages.success(request, _("The holding has ended; the place is free again."))
    return redirect("posts:detail", pk=holding.post_id)


@login_required
def service_detail(request, pk: int):
    service = policy.get_visible(
        PostService.objects.select_related("holding__post__org", "holding__member__person", "resident__person",
                                           "pledge__round"), request.user, "view", pk=pk)
    form = ConfirmForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = page_call(request, services.post_service_confirm, actor=request.user, service=service,
                                form=form, **form.cleaned_data)
            if outcome:
                messages.success(request, _("Thank you. The service is confirmed."))
                return redirect("posts:service", pk=pk)
            status = outcome.status
        else:
            status = 400
    return render(request, "posts/service.html", {
        "service": service, "form": form, "may_confirm": policy.allows(request.user, "confirm", service),
    }, status=status)


def board(request, org_pk: int):
    """The public board of a village's or community's posts and holders (names only)."""
    org = policy.get_or_404(Organisation.objects.filter(is_active=True).exclude(kind__in=PARTY_KINDS), pk=org_pk)
    return render(request, "posts/board.html", {"org": org, "posts": list(selectors.board(org))})
