"""Pages for the organisation tree, members and contact points. Thin: parse → restrict → service → render."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from .filters import MemberFilter
from .models import ContactPoint, Member, Organisation


@login_required
def tree(request):
    roots = Organisation.objects.restrict(request.user, "view")
    return render(request, "orgs/tree.html", {"orgs": roots[:200]})


@login_required
def org_detail(request, pk: int):
    org = get_object_or_404(Organisation.objects.restrict(request.user, "view"), pk=pk)
    return render(request, "orgs/org_detail.html", {"org": org})


@login_required
def member_list(request):
    qs = Member.objects.restrict(request.user, "view").select_related("person", "org")
    filterset = MemberFilter(request.GET, queryset=qs)
    page = Paginator(filterset.qs.order_by("id"), 50).get_page(request.GET.get("page"))
    return render(request, "orgs/member_list.html", {"filter": filterset, "page": page})


@login_required
def member_detail(request, pk: int):
    member = get_object_or_404(Member.objects.restrict(request.user, "view").select_related("person", "org"), pk=pk)
    return render(request, "orgs/member_detail.html", {"member": member})


@login_required
def contact_point_list(request):
    qs = ContactPoint.objects.restrict(request.user, "view").select_related("leader", "org")
    return render(request, "orgs/contact_point_list.html", {"contact_points": qs[:500]})
