"""The public portal: the county's front page, news, award rounds with the residents' vote and the objections of
publicity. Readable without signing in (voting needs a resident's sign-in); phone first."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xianfeng.campaigns import services
from xianfeng.campaigns.forms import ObjectionForm
from xianfeng.campaigns.models import AwardRound, Bulletin, Nomination
from xianfeng.core.pages import PageCache, signed_in
from xianfeng.core.policy import get_or_404
from xianfeng.core.throttle import client_ip
from xianfeng.orgs.models import Organisation

PUBLIC_ROUNDS = (AwardRound.Status.VOTING, AwardRound.Status.SCORING, AwardRound.Status.PUBLICITY,
                 AwardRound.Status.PUBLISHED)

# The public boards of other modules, by url name; a board is linked only if its url resolves. "county" means the
# url takes the county's organisation id.
PUBLIC_BOARDS: list[tuple[str, str | None, Any, str]] = [
    ("pledges:board", "county", gettext_lazy("Members' pledges"), "megaphone"),
    ("grids:report", None, gettext_lazy("Report a problem"), "exclamation-diamond"),
    ("pledges:resident_signup", None, gettext_lazy("Residents' sign-up"), "person-plus"),
    ("events:verify", None, gettext_lazy("Verify a certificate"), "patch-check"),
]
TOWN_KINDS = ("town", "street")
PUBLISHED_LIMIT = 5  # the latest published draws and rectification lists shown on the front page


def _boards() -> list[tuple[str, str, str]]:
    """(label, url, icon) of every public board whose url resolves."""
    county = Organisation.objects.filter(depth=1).order_by("path").first()
    links = []
    for name, arg, label, icon in PUBLIC_BOARDS:
        args = []
        if arg == "county":
            if county is None:
                continue
            args = [county.pk]
        try:
            links.append((label, reverse(name, args=args), icon))
        except NoReverseMatch:
            continue
    return links


def _town_boards() -> list[tuple[str, str]]:
    """(town, url) of each town's pledge board, when the pledges module's board is installed."""
    towns = Organisation.objects.filter(depth=2, kind__in=TOWN_KINDS, is_active=True).order_by("path")
    links = []
    for pk, name in towns.values_list("pk", "name"):
        url = _reverse("pledges:board", [pk])
        if url is None:
            return []
        links.append((name, url))
    return links


def _reverse(name: str, args: list) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _inspection_boards() -> list[tuple[str, str, str]]:
    """The inspections module's published random draws and rectification lists (双随机、一公开), latest first; none
    when that module or its public pages are absent."""
    try:
        draw_model = apps.get_model("inspections", "Draw")
        rectification_model = apps.get_model("inspections", "Rectification")
    except LookupError:
        return []
    links = []
    draws = (draw_model.objects.filter(status="published").select_related("inspection")
             .order_by("-published_at", "-pk")[:PUBLISHED_LIMIT])
    for draw in draws:
        url = _reverse("inspections:public_draw", [draw.pk])
        if url:
            links.append((_("Random draw: %(name)s") % {"name": draw.inspection.name}, url, "shuffle"))
    inspection_ids = (rectification_model.objects.order_by("-inspection_id").values_list("inspection_id", flat=True)
                      .distinct()[:PUBLISHED_LIMIT])
    names = dict(apps.get_model("inspections", "Inspection").objects.filter(pk__in=list(inspection_ids))
                 .values_list("pk", "name"))
    for pk, name in sorted(names.items(), reverse=True):
        url = _reverse("inspections:public_rectifications", [pk])
        if url:
            links.append((_("Rectification list: %(name)s") % {"name": name}, url, "list-check"))
    return links


FRONT_PAGES = PageCache(size=16)


@require_GET
def index(request):
    """The county's front page. A visitor who is not signed in gets it in the public layout (no menu, no form, no
    session or CSRF work), rendered once per language and kept PORTAL_FRONT_CACHE_SECONDS (default 15 s) — news and
    round windows may show that much late; a signed-in user gets it fresh inside the usual layout."""
    from django.conf import settings

    public = not signed_in(request) and "messages" not in request.COOKIES
    if public:
        key = f"front:{get_language()}"
        page = FRONT_PAGES.get(key)
        if page is None:
            page = render_to_string("portal/index.html", _front_context(layout="pledges/public_base.html",
                                                                        here=reverse("portal:index")),
                                    request=request).encode()
            FRONT_PAGES.set(key, page, getattr(settings, "PORTAL_FRONT_CACHE_SECONDS", 15))
        response = HttpResponse(page)
        response["Cache-Control"] = "public, max-age=15"
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        return response
    return render(request, "portal/index.html", _front_context(layout="base.html"))


def _front_context(**extra: Any) -> dict[str, Any]:
    now = timezone.now()
    rounds = list(AwardRound.objects.filter(status__in=PUBLIC_ROUNDS).order_by("-vote_start")[:5])
    for r in rounds:
        r.open_now = r.status == AwardRound.Status.VOTING and r.vote_start <= now < r.vote_end
    return {
        "news": list(Bulletin.objects.filter(published_at__isnull=False, published_at__lte=now).select_related("org")
                     .order_by("-published_at")[:8]),
        "rounds": rounds,
        "boards": _boards() + _inspection_boards(),
        "town_boards": _town_boards(),
        **extra,
    }


@require_GET
def bulletin_list(request):
    items = Bulletin.objects.filter(published_at__isnull=False, published_at__lte=timezone.now()).select_related("org")
    page = Paginator(items.order_by("-published_at", "-id"), 20).get_page(request.GET.get("page"))
    return render(request, "portal/bulletin_list.html", {"page": page})


@require_GET
def bulletin_detail(request, pk: int):
    """A published bulletin; a draft or withdrawn one answers 404 like a missing one."""
    bulletin = get_or_404(Bulletin.objects.select_related("org"), pk=pk, published_at__isnull=False,
                          published_at__lte=timezone.now())
    return render(request, "portal/bulletin_detail.html", {"bulletin": bulletin})


def _public_round(pk: int) -> AwardRound:
    return get_or_404(AwardRound, pk=pk, status__in=PUBLIC_ROUNDS)


def _award_page(request, award: AwardRound, *, status: int = 200, refusal: str = "",
                objection_form: ObjectionForm | None = None, objection_for: int | None = None):
    now = timezone.now()
    categories = list(award.categories.all())
    nominations = (Nomination.objects.filter(category__round=award).select_related("category", "nominated_by")
                   .order_by("category__order", "id"))
    by_category: dict[int, list[Nomination]] = {c.pk: [] for c in categories}
    for n in nominations:
        by_category[n.category_id].append(n)
    try:
        results = services.round_results(award, now=now)
    except services.ResultsHidden:
        results = None
    open_now = award.status == AwardRound.Status.VOTING and award.vote_start <= now < award.vote_end
    is_resident = services.is_registered_resident(request.user)
    end = services.publicity_end(award)
    in_publicity = award.status == AwardRound.Status.PUBLICITY and end is not None and now < end
    context = {
        "award": award, "window": services.window_text(award), "open_now": open_now,
        "not_yet": now < award.vote_start, "results": results, "is_resident": is_resident,
        "voted": services.voted_categories(award, request.user),
        "sections": [(c, by_category[c.pk], (results or {}).get(c.pk)) for c in categories],
        "in_publicity": in_publicity, "publicity_end": end, "refusal": refusal,
        "objection_form": objection_form or ObjectionForm(), "objection_for": objection_for,
        "awarded": [n for n in nominations if n.status == Nomination.Status.AWARDED]
        if award.status in (AwardRound.Status.PUBLICITY, AwardRound.Status.PUBLISHED) else [],
    }
    return render(request, "portal/award.html", context, status=status)


@require_GET
def award(request, pk: int):
    return _award_page(request, _public_round(pk))


@require_POST
def vote(request, nomination_id: int):
    """A resident's vote: 403 (with the window) outside it or for a non-resident, 409 for a second vote in the
    category, 429 when one address sends too many; otherwise back to the round's page."""
    nomination = get_or_404(Nomination.objects.select_related("category__round"), pk=nomination_id,
                            category__round__status__in=PUBLIC_ROUNDS)
    award = nomination.category.round
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={reverse('portal:award', args=[award.pk])}")
    try:
        services.vote_cast(nomination=nomination, user=request.user, ip=client_ip(request))
    except services.VoteRefused as exc:
        return _award_page(request, award, status=403, refusal=exc.message)
    except services.AlreadyVoted:
        return _award_page(request, award, status=409,
                           refusal=_("You have already voted in “%(category)s”; each resident has one vote per "
                                     "category.") % {"category": nomination.category.name})
    except services.RateLimited:
        return _award_page(request, award, status=429, refusal=_("Too many votes from this network. Try again later."))
    messages.success(request, _("Thank you: your vote for %(name)s was counted.") % {"name": nomination.display_name})
    return redirect("portal:award", pk=award.pk)


@require_POST
def objection(request, nomination_id: int):
    """An objection during publicity; a missing phone or text is a field error and nothing is stored."""
    nomination = get_or_404(Nomination.objects.select_related("category__round"), pk=nomination_id,
                            category__round__status__in=PUBLIC_ROUNDS)
    award = nomination.category.round
    form = ObjectionForm(request.POST)
    if form.is_valid():
        try:
            services.objection_lodge(nomination=nomination, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, _("Your objection was received; the committee will answer you by phone."))
            return redirect("portal:award", pk=award.pk)
    return _award_page(request, award, status=400, objection_form=form, objection_for=nomination.pk)
