"""Pages that belong to no module: home, sign-in with throttling and its locks, health check."""

from django.apps import apps
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .policy import allows, ensure
from .queue import work_queue
from .scoping import is_system_admin
from .throttle import (
    address_wait,
    client_ip,
    current_locks,
    login_failure_record,
    login_lock_lift,
    login_success_record,
    username_wait,
    wait_message,
)


class ThrottledLoginView(auth_views.LoginView):
    """Django's sign-in with the throttle of core/throttle.py: a locked username is refused before its password is
    checked; from a locked address every failed attempt is refused alike, while a real user's right password works."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def _locked(self, wait: int):
        form = self.get_form()
        form.errors.clear()
        messages.error(self.request, wait_message(wait))
        response = self.render_to_response(self.get_context_data(form=form), status=429)
        response["Retry-After"] = str(wait)
        return response

    def post(self, request, *args, **kwargs):
        wait = username_wait(request.POST.get("username") or "")
        if wait:
            return self._locked(wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        login_success_record(username=self.request.POST.get("username") or "")
        return super().form_valid(form)

    def form_invalid(self, form):
        ip = client_ip(self.request)
        login_failure_record(username=self.request.POST.get("username") or "", ip=ip)
        wait = address_wait(ip)
        if wait:
            return self._locked(wait)
        return super().form_invalid(form)


@login_required
def home(request):
    """The signed-in user's roles and shortcuts; an organisation links to its page only if the user may view it."""
    roles = list(request.user.roles.select_related("org").order_by("org__path", "kind"))
    for role in roles:
        role.visible = allows(request.user, "view", role.org)
    return render(request, "core/home.html", {"roles": roles, "queue": work_queue(request.user),
                                              "resident_links": resident_links(request.user)})


def resident_links(user) -> list[tuple[str, str, str]]:
    """A resident's own entries (label, url, icon): report a problem, their community's pledge board and its
    responsibility posts. (Core names the tree's models by name: it imports no app.)"""
    resident = apps.get_model("orgs", "Resident")
    org_id = (resident.objects.filter(person_id=user.person_id).values_list("org_id", flat=True).first()
              if user.person_id else None)
    if org_id is None:  # a resident's login without a resident record: the community of their role
        org_id = user.roles.filter(kind="resident").values_list("org_id", flat=True).first()
    if org_id is None:
        return []
    return [(_("I want to report a problem"), reverse("grids:report"), "megaphone"),
            (_("Pledge board"), reverse("pledges:board", args=[org_id]), "card-checklist"),
            (_("Responsibility posts"), reverse("posts:board", args=[org_id]), "signpost-2")]


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def _system_admin_only(request) -> None:
    ensure(is_system_admin(request.user))


@login_required
def login_locks(request):
    """Usernames and addresses locked out of sign-in right now, each with a button to lift the lock (county
    administrators only; others get 404). Every failure stays in the audit trail."""
    _system_admin_only(request)
    return render(request, "core/login_locks.html", {"locks": current_locks()})


@login_required
@require_POST
def login_lock_lift_view(request):
    _system_admin_only(request)
    try:
        cleared = login_lock_lift(actor=request.user, kind=request.POST.get("kind") or "",
                                  value=request.POST.get("value") or "", ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("login_locks")
    messages.success(request, _("Lock lifted: %(n)d counted failures cleared; the audit trail keeps them.")
                     % {"n": cleared})
    return redirect("login_locks")
