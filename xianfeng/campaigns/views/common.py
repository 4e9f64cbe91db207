"""What the campaigns pages share: the creation-page shape, the form page, posted organisation checks."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from xianfeng.core.forms import add_service_errors
from xianfeng.core.policy import ensure

from ..policies import LEAD_KINDS, orgs_for

PAGE_SIZE = 50

MATRIX_PAGE_SIZE = 100


class Invalid(Exception):
    """The form did not parse; its errors are on it already."""


def _posted_org_in(request, queryset, name: str = "org") -> None:
    """An organisation id posted for `name` that is not among the page's choices answers 404, like a missing one."""
    value = request.POST.get(name)
    ensure(not value or queryset.filter(pk=value if str(value).isdigit() else 0).exists())


def _page(request, *, title: str, form, back: tuple[str, str], formsets=(), status: int = 200, intro: str = "",
          submit: str | None = None, multipart: bool = False):
    context = {"title": title, "form": form, "formsets": list(formsets), "back_url": back[0], "back_label": back[1],
               "intro": intro, "submit_label": submit or _("Save"), "multipart": multipart}
    return render(request, "campaigns/form.html", context, status=status)


def _rows(formset) -> list[dict]:
    """The filled rows of a valid formset (empty extra rows left out)."""
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


def _run(request, form, call, *, formsets=()):
    """Validate `form` (and formsets), then run `call()` in one transaction; a ValidationError from the service goes
    on the form. Returns the service's result, or raises Invalid."""
    valid = form.is_valid()
    valid = all([fs.is_valid() for fs in formsets]) and valid
    if not valid:
        raise Invalid
    try:
        with transaction.atomic():
            return call(form.cleaned_data)
    except ValidationError as exc:
        add_service_errors(form, exc)
        raise Invalid from None


def _create(request, *, orgs, form, call, title: str, back: tuple[str, str], done: str, goto, formsets=(),
            intro: str = ""):
    """The shape of every creation page: the organisation is one of `orgs` (else 404); `call(cleaned_data)` makes
    the thing through its service; success goes to `goto(thing)` with the message `done`."""
    if request.method == "POST":
        _posted_org_in(request, orgs)
        try:
            made = _run(request, form, call, formsets=[fs for _, fs in formsets])
        except Invalid:
            pass
        else:
            messages.success(request, done)
            return redirect(goto(made))
    return _page(request, title=title, form=form, formsets=formsets, back=back, intro=intro,
                 status=400 if request.method == "POST" else 200)


def _lead_orgs(request):
    """The organisations the user administers that lead work over their subtree; none answers 404."""
    orgs = orgs_for(request.user, "admin", LEAD_KINDS)
    ensure(orgs.exists())
    return orgs
