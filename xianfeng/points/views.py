"""Pages of the points card (积分卡) and the reward shop (爱心超市).

The card is the signed-in member's own; the shop pages need a `change` role over the shop's organisation; a
leaderboard is shown for the member's own community or for organisations in the viewer's scope. Anything else: 404.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xianfeng.core.forms import add_service_errors
from xianfeng.core.policy import ensure, get_or_404, visible
from xianfeng.orgs.models import Organisation
from xianfeng.orgs.selectors import community_of, member_of

from . import services
from .card import card_account, card_token, history, leaderboard, member_from_token, rank_in
from .categories import categories_for
from .forms import RedeemForm, RestockForm, RewardForm, RuleForm
from .models import CardSetting, PointsRule, Redemption, Reward
from .policies import may_view_board
from .selectors import shops as _shops


def _member_or_404(request):
    member = member_of(request.user)
    ensure(member is not None)
    return member


@lru_cache(maxsize=2048)
def qr_svg(url: str) -> str:
    """The card's QR code as inline SVG (the URL is the same on every visit, so it is drawn once per process)."""
    return segno.make_qr(url, error="m").svg_inline(scale=4, dark="#212529")


@login_required
def card(request):
    """The member's balance, rank, history with sources, and the QR code the shop scans."""
    member = member_of(request.user)
    if member is None:
        return render(request, "points/card.html", {"member": None})
    account_id, balance = card_account(member)
    community = community_of(member.org)
    rank, ranked = rank_in(member, community, balance)
    url = request.build_absolute_uri(reverse("points:scan") + "?t=" + card_token(member))
    hidden = CardSetting.objects.filter(member=member, hide_name=True).exists()
    return render(request, "points/card.html", {
        "member": member, "balance": balance, "rank": rank, "ranked": ranked, "community": community,
        "lines": history(member, account_id=account_id) if account_id else [], "qr": qr_svg(url), "scan_url": url,
        "hide_name": hidden,
    })


@login_required
@require_POST
def privacy(request):
    member = _member_or_404(request)
    services.card_setting_set(member=member, hide_name=request.POST.get("hide_name") == "on", actor=request.user)
    messages.success(request, _("Saved."))
    return redirect("points:card")


@login_required
def board(request):
    """A leaderboard: ?org= an organisation in scope, or the member's own community."""
    org_id = request.GET.get("org", "")
    member = member_of(request.user)
    if org_id.isdigit():
        org = Organisation.objects.filter(pk=int(org_id)).first()
        ensure(org is not None and may_view_board(request.user, org))
    elif member is not None:
        org = community_of(member.org)
    else:  # the first organisation the viewer may view (the top of their scope)
        org = visible(Organisation, request.user, "view").order_by("path").first()
        ensure(org is not None)
    return render(request, "points/board.html", {"org": org, "rows": leaderboard(org),
                                                 "me": member.pk if member else None})


def _shop_or_404(request, value) -> Organisation:
    shops = _shops(request.user)
    if str(value or "").isdigit():
        return get_or_404(shops, pk=int(value))
    shop: Organisation | None = (shops.filter(rewards__isnull=False).order_by("path").first()
                                 or shops.order_by("path").first())
    ensure(shop is not None)
    assert shop is not None
    return shop


@login_required
@require_http_methods(["GET", "POST"])
def shop(request):
    """Staff: the shop's items and stock, a new item, restocking, the latest redemptions."""
    shop_org = _shop_or_404(request, request.GET.get("shop") or request.POST.get("shop"))
    form = RewardForm(request.POST if request.POST.get("action") == "create" else None)
    restock = RestockForm(request.POST if request.POST.get("action") == "restock" else None)
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "create" and form.is_valid():
                services.reward_create(shop=shop_org, actor=request.user, **form.cleaned_data)
                messages.success(request, _("Item added."))
                return redirect(f"{reverse('points:shop')}?shop={shop_org.pk}")
            if request.POST.get("action") == "restock" and restock.is_valid():
                reward = get_or_404(Reward.objects.filter(shop=shop_org), pk=restock.cleaned_data["reward"])
                services.reward_restock(reward=reward, add=restock.cleaned_data["add"], actor=request.user)
                messages.success(request, _("Stock updated."))
                return redirect(f"{reverse('points:shop')}?shop={shop_org.pk}")
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        status = 400
    rewards = Reward.objects.filter(shop=shop_org).order_by("price", "id")
    recent = Redemption.objects.filter(reward__shop=shop_org).select_related("reward", "member__person")[:20]
    return render(request, "points/shop.html", {"shop": shop_org, "rewards": rewards, "form": form,
                                                "recent": recent, "shops": _shops(request.user).filter(
                                                    Q(rewards__isnull=False) | Q(pk=shop_org.pk)).distinct()[:50]},
                  status=status)


@login_required
@require_http_methods(["GET", "POST"])
def scan(request):
    """The shop scanned a member's card (?t=token): the member's balance and what the shop can give."""
    member = member_from_token(request.GET.get("t", ""))
    ensure(member is not None)
    assert member is not None
    paths = [member.org.path] + ([member.managing_org.path] if member.managing_org_id else [])
    prefixes = {p[:i] for p in paths for i in range(4, len(p) + 1, 4)}
    shops = _shops(request.user).filter(path__in=prefixes)
    ensure(shops.exists())
    status = 200
    if request.method == "POST":
        form = RedeemForm(request.POST)
        if form.is_valid():
            reward = get_or_404(Reward.objects.filter(shop__in=shops).select_related("shop"),
                                pk=form.cleaned_data["reward"])
            try:
                services.points_redeem(reward=reward, member=member, quantity=form.cleaned_data["quantity"],
                                       key=form.cleaned_data["key"], actor=request.user)
            except services.NotEnoughPoints as exc:
                messages.error(request, exc.messages[0])
                status = 400
            except ValidationError as exc:
                messages.error(request, "；".join(exc.messages))
                status = 400
            else:
                messages.success(request, _("Redeemed: %(item)s.") % {"item": reward.name})
                return redirect(request.get_full_path())
        else:
            status = 400
    rewards = Reward.objects.filter(shop__in=shops, is_active=True).select_related("shop").order_by("price")
    return render(request, "points/scan.html", {"member": member, "balance": services.balance_of(member),
                                                "rewards": rewards, "key": uuid.uuid4().hex}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rules(request):
    """Staff: the points rules of an organisation (?org=, default the first in scope)."""
    org = _shop_or_404(request, request.GET.get("org"))
    rule = PointsRule.objects.filter(org=org).first()
    effective = services.rules_for(org)
    initial = {name: getattr(effective, name) for name in services.RULE_FIELDS if name != "base_by_category"}
    categories = categories_for(org)
    form = RuleForm(request.POST or None, initial=initial, categories=categories,
                    base_by_category=effective.base_by_category)
    if request.method == "POST" and form.is_valid():
        try:
            services.points_rule_set(org=org, actor=request.user, **form.rule_values(effective.base_by_category))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Rules saved."))
            return redirect(f"{reverse('points:rules')}?org={org.pk}")
    return render(request, "points/rules.html", {"org": org, "rule": rule, "effective": effective, "form": form},
                  status=400 if form.errors else 200)
