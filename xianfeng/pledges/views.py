"""Pledge pages. Thin: parse → restrict → call a service → render.

Signed-in pages: a member's own pledges (drafting, progress, fulfilment), the secretary's review, figures with
drill-down, the template clusters, moderation, the ledger export. A pledge is visible to its own member and to whoever
may view its organisation; anything else answers 404 exactly like a missing pledge.

Public pages (no sign-in, no personal data): an organisation's board, a pledge on it, the printable poster, resident
sign-up. Residents rate and comment from the board.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Avg, Count, F, Prefetch, Q, Window
from django.db.models.functions import RowNumber
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core.audit import audit_record
from xianfeng.core.excel import Sheet, xlsx_response
from xianfeng.core.forms import add_service_errors
from xianfeng.core.frontdoor import page_call
from xianfeng.core.pages import PageCache, signed_in
from xianfeng.core.policy import allows, ensure, get_or_404, get_visible, require_any, visible
from xianfeng.core.scoping import subtree_q
from xianfeng.core.throttle import client_ip
from xianfeng.orgs.models import Member, Organisation

from . import services
from .forms import (
    ClaimForm,
    CommentForm,
    EvaluateForm,
    ItemFormSet,
    MilestoneForm,
    PledgeForm,
    RatingForm,
    ReasonForm,
    SignupForm,
)
from .models import (
    PUBLIC_STATES,
    Comment,
    Pledge,
    PledgeItem,
    PledgeRound,
    Rating,
    SensitiveWord,
    Status,
    TemplateCluster,
)
from .policies import OWN, PEER, REVIEW
from .selectors import pledge_orgs, scope_roots
from .stats import figures_for

PAGE_SIZE = 30


def error_messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for msgs in exc.message_dict.values() for m in msgs]
    return list(exc.messages)


def _pledge_for(request, pk: int) -> Pledge:
    """A pledge the user may read (policies.PledgePolicy: in view scope, or the user's own), else 404."""
    return get_visible(Pledge.objects.select_related("round", "org", "member__person"), request.user, "view", pk=pk)


def current_round() -> PledgeRound | None:
    return PledgeRound.objects.filter(is_open=True).order_by("-year", "-id").first()


# --- a member's own pledges ----------------------------------------------------------------------------------------


@login_required
@require_GET
def mine(request):
    member = Member.objects.filter(person_id=request.user.person_id or 0).first()
    pledges = (Pledge.objects.owned_by(request.user).select_related("round", "org").prefetch_related("items")
               .order_by("-round__year", "-id"))
    pledge_round = current_round()
    can_create = bool(member and pledge_round and not pledges.filter(round=pledge_round).exists())
    orgs = pledge_orgs(request.user) if pledge_round else []
    org_pledges = list(Pledge.objects.filter(member__isnull=True, org__in=orgs).select_related("round", "org")
                       .order_by("-round__year", "-id")[:50]) if orgs else []
    colleagues = []
    if member is not None:
        colleagues = list(Pledge.objects.filter(org_id=member.org_id, member__isnull=False,  # not the branch's own
                                                status__in=[Status.FULFILLED, Status.NOT_FULFILLED])
                          .exclude(member=member).exclude(peer_ratings__rater=member)
                          .select_related("member__person").order_by("id")[:50])
    return render(request, "pledges/mine.html", {"pledges": pledges, "member": member, "round": pledge_round,
                                                 "can_create": can_create, "colleagues": colleagues, "orgs": orgs,
                                                 "org_pledges": org_pledges})


def _items_from(formset) -> list[dict]:
    return [form.cleaned_data for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]


@login_required
@require_http_methods(["GET", "POST"])
def pledge_new(request):
    """A member's own pledge, or with ?org=… an organisation's pledge drafted by whoever may change it."""
    pledge_round = current_round()
    ensure(pledge_round is not None)
    org_id = request.GET.get("org", "")
    if org_id:
        org = next((o for o in pledge_orgs(request.user) if str(o.pk) == org_id), None)
        ensure(org is not None)
        return _edit(request, None, None, pledge_round, org=org)
    member = Member.objects.filter(person_id=request.user.person_id or 0).first()
    ensure(member is not None)
    return _edit(request, None, member, pledge_round)


@login_required
@require_http_methods(["GET", "POST"])
def pledge_edit(request, pk: int):
    pledge = _pledge_for(request, pk)
    ensure(allows(request.user, OWN, pledge) and pledge.status in (Status.DRAFT, Status.RETURNED))
    return _edit(request, pledge, pledge.member, pledge.round)


def _edit(request, pledge, member, pledge_round, org=None):
    if request.method == "POST":
        form = PledgeForm(request.POST)
        formset = ItemFormSet(request.POST, prefix="items")
        if form.is_valid() and formset.is_valid():
            try:
                if pledge is None:
                    pledge = services.pledge_create(round=pledge_round, member=member, org=org,
                                                    items=_items_from(formset), title=form.cleaned_data["title"],
                                                    actor=request.user)
                else:
                    services.pledge_update(pledge=pledge, items=_items_from(formset), title=form.cleaned_data["title"],
                                           actor=request.user)
            except ValidationError as exc:
                form.add_error(None, error_messages(exc))
            else:
                if "submit" in request.POST:
                    return _act(request, pledge, "submit")
                messages.success(request, _("The draft was saved."))
                return redirect("pledges:detail", pk=pledge.pk)
        status = 400
    else:
        initial = [{"kind": i.kind, "text": i.text, "target_value": i.target_value, "target_unit": i.target_unit,
                    "due_date": i.due_date} for i in pledge.items.all()] if pledge else [{"kind": "vanguard"}]
        form = PledgeForm(initial={"title": pledge.title} if pledge else None)
        formset = ItemFormSet(prefix="items", initial=initial)
        status = 200
    return render(request, "pledges/pledge_form.html", {"form": form, "formset": formset, "pledge": pledge,
                                                        "round": pledge_round,
                                                        "org": org or (pledge.org if pledge and pledge.is_org_pledge
                                                                       else None)}, status=status)


# --- one pledge and its actions --------------------------------------------------------------------------------------

ACTIONS: dict[str, tuple[Callable[..., Pledge], Any, dict[str, str]]] = {
    # name: (service, form class or None, form field → service keyword)
    "submit": (services.pledge_submit, None, {}),
    "approve": (services.pledge_approve, None, {}),
    "return": (services.pledge_return, ReasonForm, {"reason": "reason"}),
    "publish": (services.pledge_publish, None, {}),
    "confirm": (services.pledge_confirm, None, {}),
    "reject_claim": (services.pledge_reject_claim, ReasonForm, {"reason": "reason"}),
    "not_fulfilled": (services.pledge_not_fulfilled, ReasonForm, {"reason": "explanation"}),
    "evaluate": (services.pledge_evaluate, EvaluateForm, {"org_score": "org_score"}),
    "recognise": (services.pledge_recognise, ReasonForm, {"reason": "reason"}),
    "close": (services.pledge_close, ReasonForm, {"reason": "reason"}),
}


def _detail_context(request, pledge: Pledge, **extra) -> dict:
    owner = allows(request.user, OWN, pledge)
    reviewer = allows(request.user, REVIEW, pledge)
    residents, n_ratings = services.resident_score(pledge)
    context = {
        "pledge": pledge,
        "items": pledge.items.select_related("template").order_by("position", "id"),
        "events": pledge.events.select_related("by").order_by("at", "id"),
        "milestones": pledge.milestones.prefetch_related("photos").order_by("date", "id"),
        "photos": pledge.photos.filter(milestone__isnull=True),
        "is_owner": owner,
        "is_reviewer": reviewer,
        "resident_score": residents,
        "n_ratings": n_ratings,
        "peer_score": pledge.peer_ratings.aggregate(v=Avg("score"))["v"],
        "n_peer": pledge.peer_ratings.count(),
        "milestone_form": MilestoneForm(),
        "claim_form": ClaimForm(),
        "evaluate_form": EvaluateForm(),
        "can_edit": owner and pledge.status in (Status.DRAFT, Status.RETURNED),
    }
    context.update(extra)
    return context


@login_required
@require_GET
def detail(request, pk: int):
    pledge = _pledge_for(request, pk)
    return render(request, "pledges/detail.html", _detail_context(request, pledge))


def _act(request, pledge: Pledge, name: str):
    service, form_class, fields = ACTIONS[name]
    kwargs: dict[str, Any] = {}
    errors: list[str] = []
    if form_class is not None:
        form = form_class(request.POST)
        if form.is_valid():
            kwargs = {target: form.cleaned_data[source] for source, target in fields.items()}
        else:
            errors = [str(m) for msgs in form.errors.values() for m in msgs]
    if not errors:
        try:
            service(pledge=pledge, actor=request.user, **kwargs)
        except ValidationError as exc:
            errors = error_messages(exc)
    if errors:
        pledge.refresh_from_db()
        return render(request, "pledges/detail.html", _detail_context(request, pledge, errors=errors), status=400)
    messages.success(request, _("Done."))
    return redirect("pledges:detail", pk=pledge.pk)


@login_required
@require_POST
def action(request, pk: int, name: str):
    ensure(name in ACTIONS)
    return _act(request, _pledge_for(request, pk), name)


@login_required
@require_POST
def item_review(request, pk: int):
    item = get_visible(PledgeItem.objects.select_related("pledge"), request.user, "view", pk=pk)
    try:
        services.item_review(item=item, ok=request.POST.get("ok") == "1", note=request.POST.get("note", ""),
                             actor=request.user)
    except ValidationError as exc:
        pledge = item.pledge
        return render(request, "pledges/detail.html",
                      _detail_context(request, pledge, errors=error_messages(exc)), status=400)
    return redirect("pledges:detail", pk=item.pledge_id)


@login_required
@require_POST
def progress(request, pk: int):
    pledge = _pledge_for(request, pk)
    form = MilestoneForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.milestone_record(pledge=pledge, percent=form.cleaned_data["percent"], text=form.cleaned_data["text"],
                                      date=form.cleaned_data["date"], photos=form.cleaned_data["photos"],
                                      actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The progress was recorded."))
            return redirect("pledges:detail", pk=pledge.pk)
    pledge.refresh_from_db()
    return render(request, "pledges/detail.html", _detail_context(request, pledge, milestone_form=form), status=400)


@login_required
@require_POST
def claim(request, pk: int):
    pledge = _pledge_for(request, pk)
    form = ClaimForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.pledge_claim(pledge=pledge, evidence=form.cleaned_data["evidence"], on=form.cleaned_data["on"],
                                  photos=form.cleaned_data["photos"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The fulfilment was reported; the secretary will confirm it."))
            return redirect("pledges:detail", pk=pledge.pk)
    pledge.refresh_from_db()
    return render(request, "pledges/detail.html", _detail_context(request, pledge, claim_form=form), status=400)


@login_required
@require_POST
def peer_rate(request, pk: int):
    # only the branch's members (or those who may see the pledge) learn that it exists
    pledge = get_visible(Pledge.objects.select_related("org"), request.user, PEER, pk=pk)
    try:
        services.peer_rating_post(pledge=pledge, actor=request.user, score=request.POST.get("score"))
    except services.AlreadyRated:
        messages.error(request, _("You have already rated this pledge."))
        return redirect("pledges:mine")
    except ValidationError as exc:
        for message in error_messages(exc):
            messages.error(request, message)
        return redirect("pledges:mine")
    messages.success(request, _("Thank you for your rating."))
    return redirect("pledges:mine")


# --- review, lists and figures for secretaries ----------------------------------------------------------------------


def _within(request) -> Organisation | None:
    value = request.GET.get("org") or ""
    if not value.isdigit() or len(value) > 18:
        return None
    return Organisation.objects.restrict(request.user, "view").filter(pk=int(value)).first()


@login_required
@require_GET
def pledge_list(request):
    """Pledges in view scope: the review queue (?status=submitted) and the drill-down from the figures."""
    require_any(request.user, "view", PledgeRound)  # staff only: a role over some organisation
    qs = visible(Pledge, request.user, "view").select_related("org", "member__person", "round")
    org = _within(request)
    ensure(not request.GET.get("org") or org is not None)
    if org is not None:
        qs = qs.filter(subtree_q("org__path", org.path))
    status = request.GET.get("status", "")
    today = timezone.localdate()
    if status == "overdue":
        qs = qs.overdue(today)
    elif status == "public":
        qs = qs.public()
    elif status == "fulfilled":
        qs = qs.fulfilled()
    elif status == "made":  # past the draft (the "pledges submitted" indicator)
        qs = qs.exclude(status=Status.DRAFT)
    elif status in Status.values:
        qs = qs.filter(status=status)
    if request.GET.get("formulaic") == "1":
        qs = qs.filter(formulaic=True).exclude(status=Status.DRAFT)
    round_id = request.GET.get("round", "")
    if round_id.isdigit() and len(round_id) < 18:
        qs = qs.filter(round_id=int(round_id))
    qs = qs.search(request.GET.get("q", ""))
    page = Paginator(qs.order_by("org__path", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pledges/list.html", {"page": page, "org": org, "status": status,
                                                 "statuses": Status.choices, "q": request.GET.get("q", "")[:50]})


@login_required
@require_GET
def figures(request):
    """Figures for the user's scope roots (or one organisation) and each of its children, with drill-down links."""
    visible = Organisation.objects.restrict(request.user, "view")
    org = _within(request)
    ensure(not request.GET.get("org") or org is not None)
    if org is None:
        require_any(request.user, "view", PledgeRound)
        roots = list(scope_roots(request.user, visible))
        if len(roots) == 1:
            org = roots[0]
    if org is not None:
        rows = figures_for([org] + list(visible.filter(parent=org).order_by("path")))
        head, rows = rows[0], rows[1:]
    else:
        head, rows = None, figures_for(roots)
    # "Up one level" only where the viewer may go: a secretary's scope ends at their own organisation.
    up = org.parent_id if org is not None and org.parent_id and visible.filter(pk=org.parent_id).exists() else None
    return render(request, "pledges/figures.html", {"org": org, "head": head, "rows": rows, "up": up})


CLUSTER_NAMES = 30  # users listed under each template on the clusters page (the rest are counted)


@login_required
@require_http_methods(["GET", "POST"])
def clusters(request):
    """The round's templates (near-duplicate texts used by ≥ K members) and who used each, in the user's scope."""
    require_any(request.user, "view", PledgeRound)
    rounds = list(PledgeRound.objects.order_by("-year", "-id"))
    pledge_round = next((r for r in rounds if str(r.pk) == request.GET.get("round")), rounds[0] if rounds else None)
    if request.method == "POST":
        pledge_round = get_visible(PledgeRound, request.user, "change", pk=request.POST.get("round") or 0)
        counts = services.formulaic_detect(round=pledge_round, actor=request.user)
        messages.success(request, _("Detection finished: %(templates)s templates, %(flagged)s pledges flagged.") % counts)
        return redirect(f"{reverse('pledges:clusters')}?round={pledge_round.pk}")
    templates = []
    if pledge_round is not None:
        in_scope = visible(PledgeItem, request.user, "view")
        templates = list(TemplateCluster.objects.filter(round=pledge_round)
                         .annotate(in_scope=Count("items", filter=Q(items__in=in_scope)))
                         .filter(in_scope__gt=0).order_by("-members", "id")[:200])
        # The first CLUSTER_NAMES users of each template, ranked in the database: a county-wide template has hundreds
        # of users, and listing them all made the page take most of a second.
        users = {t.pk: [] for t in templates}  # template id → its first users (pledges)
        ranked = (in_scope.filter(template__in=templates)
                  .annotate(rank=Window(RowNumber(), partition_by=[F("template_id")],
                                        order_by=[F("pledge__org__path").asc(), F("id").asc()]))
                  .filter(rank__lte=CLUSTER_NAMES).select_related("pledge__member__person", "pledge__org")
                  .only("template_id", "pledge__org__name", "pledge__member__person__name")
                  .order_by("template_id", "rank"))
        for item in ranked:
            users[item.template_id].append(item.pledge)
        for t in templates:
            t.pledges = users[t.pk]
            t.more = t.in_scope - len(t.pledges)
    return render(request, "pledges/clusters.html", {
        "rounds": rounds, "round": pledge_round, "templates": templates,
        "may_detect": pledge_round is not None and allows(request.user, "change", pledge_round)})


@login_required
@require_GET
def export(request):
    """The ledger (台账) of pledges in export scope as .xlsx: one row per item, with state, progress and scores."""
    require_any(request.user, "export", PledgeRound)
    qs = visible(PledgeItem, request.user, "export").select_related(
        "pledge__org", "pledge__member__person", "pledge__round").order_by("pledge__org__path", "pledge_id", "position")
    org = _within(request)
    if org is not None:
        qs = qs.filter(subtree_q("pledge__org__path", org.path))
    headers = ["批次", "党组织", "承诺人", "类别", "承诺内容", "目标", "完成期限", "状态", "进度（%）", "公示日期", "践诺日期",
               "履诺情况", "未践诺说明", "群众评", "党员评", "组织评", "综合得分", "支部排名", "程式化"]

    def rows():
        for item in qs.iterator(chunk_size=2000):
            p = item.pledge
            target = f"{item.target_value.normalize():f}{item.target_unit}" if item.target_value is not None else ""
            yield [p.round.name, p.org.full_name, p.owner_name, item.get_kind_display(), item.text, target,
                   item.due_date, p.get_status_display(), p.progress, p.published_on, p.fulfilled_on, p.evidence,
                   p.explanation, p.score_residents, p.score_peers, p.score_org, p.score_total, p.rank_in_branch,
                   "是" if p.formulaic else ""]

    audit_record(by=request.user, action="export", model="pledges.Pledge", ip=client_ip(request),
                 summary=f"导出承诺台账{('：' + org.full_name) if org else ''}")
    return xlsx_response("先锋承诺台账.xlsx", [Sheet(title="承诺台账", headers=headers, rows=rows(),
                                                     widths={"承诺内容": 50, "党组织": 30, "履诺情况": 40})])


# --- moderation ------------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def moderation(request):
    """Comments on pledges the user may change, reported ones first; the sensitive-word list."""
    require_any(request.user, "change", SensitiveWord)
    if request.method == "POST":
        if request.POST.get("remove"):
            word = get_visible(SensitiveWord, request.user, "change", pk=request.POST["remove"])
            page_call(request, services.sensitive_word_remove, word=word, actor=request.user)
        else:
            page_call(request, services.sensitive_word_add, word=request.POST.get("word", ""), actor=request.user)
        return redirect("pledges:moderation")
    comments = (visible(Comment, request.user, "change")
                .select_related("pledge__org", "pledge__member__person", "author")
                .order_by("-reports", "-created_at"))
    page = Paginator(comments, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pledges/moderation.html", {"page": page, "words": SensitiveWord.objects.all()})


@login_required
@require_POST
def comment_moderate(request, pk: int, verb: str):
    comment = get_visible(Comment.objects.select_related("pledge__org"), request.user, "change", pk=pk)
    service = {"hide": services.comment_hide, "restore": services.comment_restore}.get(verb)
    ensure(service is not None)
    assert service is not None
    page_call(request, service, comment=comment, reason=request.POST.get("reason", ""), actor=request.user)
    return redirect("pledges:moderation")


# --- public pages ----------------------------------------------------------------------------------------------------


def _public_org(org_id: int) -> Organisation:
    return get_or_404(Organisation.objects.filter(is_active=True), pk=org_id)


BOARD_PAGES = PageCache()


def _board_listing(org: Organisation, q: str, page_number: str, request) -> str:
    qs = (Pledge.objects.public().filter(subtree_q("org__path", org.path)).search(q)
          .select_related("org", "member__person").prefetch_related(
              Prefetch("items", queryset=PledgeItem.objects.order_by("position", "id")))
          .order_by("org__path", "id"))
    page = Paginator(qs, PAGE_SIZE).get_page(page_number)
    recognised = (Pledge.objects.filter(subtree_q("org__path", org.path), status=Status.RECOGNISED)
                  .select_related("org", "member__person").order_by("-score_total", "id")[:50])
    return render_to_string("pledges/_board_list.html", {"org": org, "page": page, "q": q, "recognised": recognised},
                            request=request)


@require_GET
def board(request, org_id: int):
    """公示栏: an organisation subtree's published pledges with items, state and progress; member by name and
    organisation only.

    The board's version (services.board_version: the subtree's change counters, bumped by every pledge write in the
    same transaction) keys the cached pages, so a change shows on the next request. A visitor who is not signed in
    gets the page in the public layout (no menu, no form, no session or CSRF work) straight from the cache, with a
    weak ETag for conditional GETs; a signed-in user gets the cached list inside the usual layout (menu, messages).
    Entries also expire after PLEDGES_BOARD_CACHE_SECONDS, which bounds changes made outside this module (an
    organisation or a person renamed)."""
    row = services.board_org(org_id)
    ensure(row is not None)
    assert row is not None
    path, name = row
    q = (request.GET.get("q") or "").strip()[:50]
    page_number = request.GET.get("page") or "1"
    page_number = page_number if page_number.isdigit() and len(page_number) < 7 else "1"
    version, stamps = services.board_version(path)
    tag = hashlib.sha256(f"{org_id}|{path}|{name}|{version}|{stamps}|{q}|{page_number}|{get_language()}"
                         .encode()).hexdigest()[:32]
    ttl = int(services.setting("PLEDGES_BOARD_CACHE_SECONDS", 300))
    if not signed_in(request) and "messages" not in request.COOKIES:
        etag = f'W/"{tag}"'
        response: HttpResponse
        if etag in request.headers.get("If-None-Match", ""):
            response = HttpResponseNotModified()
        else:
            page = BOARD_PAGES.get(f"page:{tag}")
            if page is None:
                org = Organisation.objects.get(pk=org_id)
                page = render_to_string("pledges/board.html", _board_page_context(
                    org, q, page_number, _board_listing(org, q, page_number, request),
                    layout="pledges/public_base.html"), request=request).encode()
                BOARD_PAGES.set(f"page:{tag}", page, ttl)
            response = HttpResponse(page)
        response["ETag"] = etag
        response["Cache-Control"] = "no-cache"
        patch_vary_headers(response, ("Cookie",))
        return response
    org = Organisation.objects.get(pk=org_id)
    listing = BOARD_PAGES.get(f"list:{tag}")
    if listing is None:
        listing = _board_listing(org, q, page_number, request).encode()
        BOARD_PAGES.set(f"list:{tag}", listing, ttl)
    return render(request, "pledges/board.html", _board_page_context(org, q, page_number, listing.decode(),
                                                                     layout="base.html"))


@require_GET
def language(request):
    """The public pages' language switch (they carry no form): remember the language, go back to the page."""
    from django.conf import settings
    from django.utils.http import url_has_allowed_host_and_scheme

    code = request.GET.get("language", "")
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or not target.startswith("/"):
        target = "/"
    response = redirect(target)
    if code in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=settings.LANGUAGE_COOKIE_AGE,
                            samesite="Lax")
    return response


def _board_page_context(org: Organisation, q: str, page_number: str, listing: str, **extra) -> dict:
    """The page around the list; nothing in it depends on the visitor except through `extra` (the CSRF token)."""
    params = {k: v for k, v in (("q", q), ("page", page_number if page_number != "1" else "")) if v}
    here = reverse("pledges:board", args=[org.pk]) + (f"?{urlencode(params)}" if params else "")
    return {"org": org, "q": q, "listing": listing, "here": here,
            "poster_url": reverse("pledges:poster", args=[org.pk]), **extra}


@require_GET
def board_pledge(request, pk: int):
    pledge = get_or_404(Pledge.objects.public().select_related("org", "member__person", "round"), pk=pk)
    return render(request, "pledges/board_pledge.html", _board_context(request, pledge))


def _board_context(request, pledge: Pledge, **extra) -> dict:
    user = request.user
    residents, n = services.resident_score(pledge)
    distribution = dict(pledge.ratings.values_list("value").annotate(c=Count("id")).order_by())
    my_rating = pledge.ratings.filter(user=user).first() if user.is_authenticated else None
    context = {
        "pledge": pledge,
        "items": pledge.items.order_by("position", "id"),
        "milestones": pledge.milestones.order_by("date", "id"),
        "comments": pledge.comments.filter(state=Comment.State.VISIBLE).order_by("created_at", "id"),
        "distribution": [(label, distribution.get(value, 0)) for value, label in Rating.Value.choices],
        "n_ratings": n,
        "resident_score": residents,
        "is_resident": services.is_resident(user),
        "my_rating": my_rating,
        "rating_form": RatingForm(),
        "comment_form": CommentForm(),
        "moderator": user.is_authenticated and allows(user, "change", pledge),
    }
    context.update(extra)
    return context


@login_required
@require_POST
def board_rate(request, pk: int):
    pledge = get_or_404(Pledge.objects.public(), pk=pk)
    form = RatingForm(request.POST)
    status = 400
    errors: list[str] = []
    if form.is_valid():
        try:
            services.rating_post(pledge=pledge, actor=request.user, value=form.cleaned_data["value"])
        except services.AlreadyRated:
            errors, status = [_("You have already rated this pledge.")], 409
        except ValidationError as exc:
            errors = error_messages(exc)
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("pledges:board_pledge", pk=pledge.pk)
    else:
        errors = [_("Choose satisfied, basically satisfied or unsatisfied.")]
    return render(request, "pledges/board_pledge.html", _board_context(request, pledge, rating_errors=errors),
                  status=status)


@login_required
@require_POST
def board_comment(request, pk: int):
    pledge = get_or_404(Pledge.objects.public(), pk=pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_post(pledge=pledge, actor=request.user, text=form.cleaned_data["text"],
                                  agreed=form.cleaned_data["agreed"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Your comment was posted."))
            return redirect("pledges:board_pledge", pk=pledge.pk)
    return render(request, "pledges/board_pledge.html", _board_context(request, pledge, comment_form=form), status=400)


@login_required
@require_POST
def comment_report(request, pk: int):
    comment = get_or_404(Comment.objects.filter(pledge__status__in=PUBLIC_STATES, state=Comment.State.VISIBLE), pk=pk)
    services.comment_report(comment=comment, actor=request.user, reason=request.POST.get("reason", ""))
    messages.success(request, _("Thank you; the moderators will look at it."))
    return redirect("pledges:board_pledge", pk=comment.pledge_id)


@require_GET
def poster(request, org_id: int):
    """A printable A4 poster of the organisation's published pledges with a QR code opening the board."""
    import segno

    org = _public_org(org_id)
    url = request.build_absolute_uri(reverse("pledges:board", args=[org.pk]))
    qr_svg = segno.make(url, error="m").svg_inline(scale=4)
    pledges = (Pledge.objects.public().filter(subtree_q("org__path", org.path)).select_related("org", "member__person")
               .prefetch_related(Prefetch("items", queryset=PledgeItem.objects.order_by("position", "id")))
               .order_by("org__path", "id")[:60])
    return render(request, "pledges/poster.html", {"org": org, "pledges": pledges, "qr_svg": qr_svg,
                                                   "board_url": url, "today": timezone.localdate()})


@require_http_methods(["GET", "POST"])
def resident_signup(request):
    """Resident sign-up: phone → SMS code → name, village or community, password. Signs the new resident in."""
    form = SignupForm(request.POST or None)
    status = 200
    code_sent = False
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if request.POST.get("step") == "code":
                    services.signup_code_send(phone=data["phone"], ip=client_ip(request))
                    code_sent, status = True, 200
                    messages.success(request, _("The code was sent by SMS."))
                else:
                    if data["org"] is None:
                        raise ValidationError({"org": [_("Choose your village or community.")]})
                    user = services.resident_signup(phone=data["phone"], code=data["code"], password=data["password"],
                                                    name=data["name"], org=data["org"], ip=client_ip(request))
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    messages.success(request, _("Welcome! You can now rate and comment on pledges."))
                    next_url = request.POST.get("next") or ""
                    if next_url.startswith("/") and not next_url.startswith("//"):
                        return redirect(next_url)
                    return redirect("pledges:board", org_id=data["org"].pk)
            except ValidationError as exc:
                code_sent = request.POST.get("step") != "code"
                add_service_errors(form, exc)
    return render(request, "pledges/signup.html", {"form": form, "code_sent": code_sent,
                                                   "next": request.GET.get("next") or request.POST.get("next") or ""},
                  status=status)


@require_GET
def photo(request, pk: int):
    """A photo of a public pledge, or of one the signed-in user may read; 404 otherwise."""
    from django.http import FileResponse

    from .models import Photo

    item = get_visible(Photo.objects.select_related("pledge"), request.user, "view", pk=pk)  # public, or readable
    try:
        handle = item.image.open("rb")
    except (FileNotFoundError, OSError):
        handle = None
    ensure(handle is not None)
    return FileResponse(handle, content_type="image/" + ("jpeg" if item.image.name.lower().endswith(("jpg", "jpeg"))
                                                         else item.image.name.rsplit(".", 1)[-1].lower()))
