"""Pages that belong to no module: home, sign-in with throttling, health check."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .scoping import can
from .throttle import client_ip, login_failure_record, login_locked


class ThrottledLoginView(auth_views.LoginView):
    """Django's sign-in, refusing a username or address after repeated failures within the lockout window."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if login_locked(request.POST.get("username") or "", client_ip(request)):
            form = self.get_form()
            form.errors.clear()
            messages.error(request, _("Too many failed sign-ins. Try again in 15 minutes."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_failure_record(username=self.request.POST.get("username") or "", ip=client_ip(self.request))
        return super().form_invalid(form)


@login_required
def home(request):
    """The signed-in user's roles and shortcuts; an organisation links to its page only if the user may view it."""
    roles = list(request.user.roles.select_related("org").order_by("org__path", "kind"))
    for role in roles:
        role.visible = can(request.user, "view", role.org)
    return render(request, "core/home.html", {"roles": roles})


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
