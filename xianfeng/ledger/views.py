"""Ledger pages: the accounts a user may see, an account's statement with running balance, its .xlsx export."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from xianfeng.core import policy
from xianfeng.core.excel import XLSX_CONTENT_TYPE, content_disposition

from .models import Account, OwnerType, Unit
from .services import account_statement, statement_xlsx


def _visible(request, action: str = "view"):
    return policy.visible(Account.objects.select_related("org"), request.user, action)


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
    account = policy.get_visible(_visible(request), request.user, pk=pk)
    entries = account_statement(account).reverse()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "ledger/account_detail.html", {
        "account": account, "page": page, "can_export": policy.allows(request.user, "export", account),
    })


@login_required
def account_statement_xlsx(request, pk: int):
    # staff who may export the owning organisation's data, or the member whose own account it is; else 404
    account = policy.get_visible(_visible(request, "export"), request.user, "export", pk=pk)
    data = statement_xlsx(account=account, actor=request.user)
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(f"{account.name}-对账单.xlsx")
    response["Cache-Control"] = "no-store"
    return response
