"""Ledger pages: the accounts a user may see, an account's statement with running balance, its .xlsx export."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from xianfeng.core.excel import XLSX_CONTENT_TYPE, content_disposition
from xianfeng.core.scoping import can, scope_paths

from .models import Account, OwnerType, Unit, member_id_of
from .services import account_statement, statement_xlsx


def _visible(request):
    return Account.objects.visible_to(request.user).select_related("org")


@login_required
def account_list(request):
    qs = _visible(request)
    unit = request.GET.get("unit")
    if unit in Unit.values:
        qs = qs.filter(unit=unit)
    owner_type = request.GET.get("owner_type")
    if owner_type in OwnerType.values:
        qs = qs.filter(owner_type=owner_type)
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = qs.filter(name__icontains=q)
    page = Paginator(qs.order_by("id"), 50).get_page(request.GET.get("page"))
    return render(request, "ledger/account_list.html", {
        "page": page, "units": Unit.choices, "owner_types": OwnerType.choices,
        "unit": unit or "", "owner_type": owner_type or "", "q": q,
    })


@login_required
def account_detail(request, pk: int):
    account = get_object_or_404(_visible(request), pk=pk)
    entries = account_statement(account).reverse()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "ledger/account_detail.html", {
        "account": account, "page": page, "can_export": _may_export(request.user, account),
    })


def _may_export(user, account: Account) -> bool:
    """Staff who may export the owning organisation's data, or the member whose own account it is."""
    if scope_paths(user, "export") is None:
        return True
    if account.org is not None and can(user, "export", account.org):
        return True
    return account.owner_type == OwnerType.MEMBER and account.owner_id == member_id_of(user)


@login_required
def account_statement_xlsx(request, pk: int):
    account = get_object_or_404(_visible(request), pk=pk)
    if not _may_export(request.user, account):
        raise Http404
    data = statement_xlsx(account=account, by=request.user)
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(f"{account.name}-对账单.xlsx")
    response["Cache-Control"] = "no-store"
    return response
