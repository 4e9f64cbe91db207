"""Pages for the organisation tree, members, contact points and guidance groups.

Thin: parse → read through the policy (orgs/policies.py) → call a service → render (a full page, or an htmx
partial when htmx asks for one). Out of scope answers 404 exactly like missing.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core import policy
from xianfeng.core.audit import audit_record
from xianfeng.core.frontdoor import page_call
from xianfeng.core.throttle import client_ip

from . import services
from .filters import ContactPointFilter, MemberFilter
from .forms import GuidanceVisitForm
from .models import ContactPoint, GuidanceGroup, Member, Membership, Organisation, Person
from .selectors import member_counts, scope_roots

PAGE_SIZE = 50
PAGE_SIZES = (20, 50, 100, 200)


def page_size(request) -> int:
    """`?per_page=` if it is one of PAGE_SIZES, else the default."""
    value = request.GET.get("per_page", "")
    return int(value) if value.isdigit() and int(value) in PAGE_SIZES else PAGE_SIZE
# The member filters a phone shows only after "more filters" (unless one of them is in use).
MORE_FILTERS = ("org_q", "within", "status", "category", "gender", "age_min", "age_max", "join_year")
FIGURE_FILTERS = ("org", "dual", "current", "pledged")  # set by the figures' links (xianfeng.core.indicators), kept as is
SEARCH_LIMIT = 50
PICKER_LIMIT = 20


def htmx_target(request) -> str | None:
    """The id of the element an htmx request will swap (None for ordinary requests and history restores)."""
    if request.headers.get("HX-Request") != "true" or request.headers.get("HX-History-Restore-Request") == "true":
        return None
    return request.headers.get("HX-Target") or None


def render_varying(request, template: str, context: dict):
    """Render, telling caches that the answer differs between htmx partial requests and full pages."""
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def age_on(birth: dt.date | None, day: dt.date) -> int | None:
    """Age in whole years on `day`."""
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def reverse_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def tree_nodes(queryset) -> list[Organisation]:
    """Organisations for the tree, each with `n_children` and `member_counts` (selectors.MemberCounts)."""
    nodes = list(queryset.annotate(n_children=Count("children")).order_by("path"))
    counts = member_counts(nodes)
    for node in nodes:
        node.member_counts = counts[node.pk]
        node.member_count = node.member_counts.total
    return nodes


# --- organisation tree -------------------------------------------------------------------------------------------


@login_required
@require_GET
def tree(request):
    """The user's scope roots, each expandable; a search by name, code or pinyin initials."""
    visible = Organisation.objects.restrict(request.user, "view")
    q = (request.GET.get("q") or "").strip()[:100]
    results = None
    if q:
        results = list(visible.search(q).order_by("path")[: SEARCH_LIMIT + 1])
    context = {
        "q": q,
        "results": None if results is None else results[:SEARCH_LIMIT],
        "more": results is not None and len(results) > SEARCH_LIMIT,
        "limit": SEARCH_LIMIT,
    }
    if htmx_target(request) == "org-search-results":
        return render_varying(request, "orgs/_org_search_results.html", context)
    context["nodes"] = tree_nodes(scope_roots(request.user, "view"))
    return render_varying(request, "orgs/tree.html", context)


@login_required
@require_GET
def children(request, pk: int):
    """htmx partial: the children of one organisation, with their member counts."""
    org = policy.get_visible(Organisation, request.user, "view", pk=pk)
    nodes = tree_nodes(policy.visible(Organisation, request.user, "view").filter(parent=org))
    return render(request, "orgs/_tree_nodes.html", {"nodes": nodes, "parent": org})


@login_required
@require_GET
def org_detail(request, pk: int):
    visible = Organisation.objects.restrict(request.user, "view")
    org = policy.get_or_404(visible, pk=pk)
    ancestors = [(a, policy.allows(request.user, "view", a)) for a in org.ancestors()]
    members = (
        Member.objects.restrict(request.user, "view")
        .filter(Q(org=org) | Q(managing_org=org)).exclude(status=Member.Status.LEFT)
        .select_related("person", "org")
        .order_by("id")
    )
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "org": org,
        "ancestors": ancestors,
        "nodes": tree_nodes(visible.filter(parent=org)),
        "members": member_counts([org])[org.pk],
        "page": page,
        "contact_points": ContactPoint.objects.restrict(request.user, "view").filter(org=org)
        .select_related("leader").order_by("-start", "id"),
        # Whoever may see a unit sees which groups guide it and who is in them (a group's own page is in its
        # organisation's scope).
        "guidance_groups": _groups_with_people(GuidanceGroup.objects.filter(units=org).order_by("name"), request.user),
    }
    return render(request, "orgs/org_detail.html", context)


# --- members -----------------------------------------------------------------------------------------------------


@login_required
@require_GET
def member_list(request):
    """Members in scope, filtered by MemberFilter (the same one the API uses); ID and phone always masked."""
    visible_orgs = Organisation.objects.restrict(request.user, "view")
    org_q = (request.GET.get("org_q") or "").strip()[:100]
    picker = list(visible_orgs.search(org_q).order_by("path")[:PICKER_LIMIT]) if org_q else None
    if htmx_target(request) == "org-picker":
        return render_varying(request, "orgs/_org_picker.html", {"org_q": org_q, "picker": picker})

    qs = Member.objects.restrict(request.user, "view").select_related("person", "org", "managing_org")
    filterset = MemberFilter(request.GET, queryset=qs)
    valid = filterset.is_valid()  # the FilterSet bounds every number, so a bad one is a form error, never a crash
    members = filterset.qs.order_by("id") if valid else qs.none()
    page = Paginator(members, page_size(request)).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for member in page:
        member.age = age_on(member.person.birth_date, today)
    within = None
    if valid and filterset.form.cleaned_data.get("within"):
        within = visible_orgs.filter(pk=int(filterset.form.cleaned_data["within"])).first()
    export_url = reverse_or_none("orgs:member_export")
    context = {
        "filter": filterset,
        "form": filterset.form,
        "page": page,
        "within": within,
        "org_q": org_q,
        "picker": picker,
        "export_url": export_url if valid else None,
        "filtered": bool(request.GET.dict().keys() - {"page"}),
        "figure_filters": [(name, request.GET[name]) for name in FIGURE_FILTERS if request.GET.get(name)],
        "figure_filter_labels": [(name, request.GET[name], filterset.filters[name].label) for name in FIGURE_FILTERS
                                 if request.GET.get(name)],
        "more_filters": any(request.GET.get(name) for name in MORE_FILTERS)
        or any(name in filterset.form.errors for name in MORE_FILTERS),
    }
    return render_varying(request, "orgs/member_list.html", context)


def _visible_member(request, pk: int) -> Member:
    return policy.get_visible(Member.objects.select_related("person", "org", "managing_org"), request.user, "view",
                              pk=pk)


@login_required
@require_GET
def member_detail(request, pk: int):
    member = _visible_member(request, pk)
    return render(request, "orgs/member_detail.html", _member_context(request, member, unmasked=False))


def _member_context(request, member: Member, *, unmasked: bool) -> dict:
    memberships = [
        (m, policy.allows(request.user, "view", m.org))
        for m in Membership.objects.filter(member=member).select_related("org").order_by("start", "id")
    ]
    return {
        "member": member,
        "person": member.person,
        "memberships": memberships,
        "org_visible": policy.allows(request.user, "view", member.org),
        "managing_visible": member.managing_org is not None and policy.allows(request.user, "view",
                                                                              member.managing_org),
        "age": age_on(member.person.birth_date, timezone.localdate()),
        "may_unmask": policy.allows(request.user, "unmask", member),
        "unmasked": unmasked,
    }


@login_required
@require_POST
@never_cache
def member_unmask(request, pk: int):
    """Show one member's ID number and phone unmasked, to those who may; each reveal leaves an audit row."""
    member = policy.get_visible(Member.objects.select_related("person", "org", "managing_org"), request.user,
                                "unmask", pk=pk)
    audit_record(by=request.user, action="unmask", obj=member, ip=client_ip(request),
                 summary=f"查看党员 {member.person.name} 的身份证号和手机号")
    context = _member_context(request, member, unmasked=True)
    if htmx_target(request):
        return render(request, "orgs/_personal_data.html", context)
    return render(request, "orgs/member_detail.html", context)


# --- contact points and guidance groups --------------------------------------------------------------------------


@login_required
@require_GET
def contact_point_list(request):
    """Contact points in scope, filtered by ContactPointFilter (the same one the API uses)."""
    qs = (
        ContactPoint.objects.restrict(request.user, "view")
        .select_related("leader", "org")
        .annotate(n_visits=Count("visits"))
    )
    filterset = ContactPointFilter(request.GET, queryset=qs)
    contact_points = filterset.qs.order_by("org__path", "id") if filterset.is_valid() else qs.none()
    page = Paginator(contact_points, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orgs/contact_point_list.html", {"form": filterset.form, "page": page})


@login_required
@require_http_methods(["GET", "POST"])
def contact_point_detail(request, pk: int):
    """A contact point, its guidance visits, and (for those who may change the org) a form to record one."""
    action = "change" if request.method == "POST" else "view"
    cp = policy.get_visible(ContactPoint.objects.select_related("leader", "org"), request.user, action, pk=pk)
    may_record = action == "change" or policy.allows(request.user, "change", cp)
    form = GuidanceVisitForm(request.POST) if request.method == "POST" else GuidanceVisitForm()
    status = 200
    if request.method == "POST":
        if form.is_valid() and page_call(request, services.guidance_visit_record, form=form, contact_point=cp,
                                         actor=request.user, **form.cleaned_data):
            messages.success(request, _("The guidance visit was recorded."))
            return redirect("orgs:contact_point_detail", pk=cp.pk)
        status = 400
    visits = Paginator(cp.visits.select_related("recorded_by").order_by("-date", "-id"), PAGE_SIZE)
    context = {
        "cp": cp,
        "org_visible": policy.allows(request.user, "view", cp.org),
        "page": visits.get_page(request.GET.get("page")),
        "form": form if may_record else None,
    }
    return render(request, "orgs/contact_point_detail.html", context, status=status)




def _groups_with_people(groups, user) -> list[GuidanceGroup]:
    """The groups with their leader first, then their other people by name, and whether `user` may open each."""
    groups = list(groups.select_related("org", "leader").prefetch_related(
        Prefetch("people", queryset=Person.objects.order_by("name", "id"))))
    for group in groups:
        group.crew = sorted(group.people.all(), key=lambda p: p.pk != group.leader_id)
        group.may_open = policy.allows(user, "view", group)
    return groups


@login_required
@require_GET
def guidance_group_detail(request, pk: int):
    group = policy.get_visible(GuidanceGroup, request.user, "view", pk=pk)
    group = _groups_with_people(GuidanceGroup.objects.filter(pk=group.pk), request.user)[0]
    units = [(u, policy.allows(request.user, "view", u)) for u in group.units.order_by("path")]
    return render(request, "orgs/guidance_group_detail.html", {"group": group, "units": units})


@login_required
@require_GET
def guidance_group_list(request):
    groups = (
        GuidanceGroup.objects.restrict(request.user, "view")
        .select_related("org", "leader")
        .prefetch_related(Prefetch("units", queryset=Organisation.objects.order_by("path")))
        .annotate(n_people=Count("people", distinct=True))
        .order_by("org__path", "name", "id")
    )
    page = Paginator(groups, PAGE_SIZE).get_page(request.GET.get("page"))
    for group in page:
        group.unit_links = [(u, policy.allows(request.user, "view", u)) for u in group.units.all()]
    return render(request, "orgs/guidance_group_list.html", {"page": page})
