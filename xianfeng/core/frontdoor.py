"""One front door: a page or an API call runs a service the same way and maps its errors the same way.

    validation (ValidationError)       → the form's field errors, 400 │ DRF's {field: [messages]}, 400
    conflict (policy.Conflict, or a     → the message, 409             │ {"detail": …}, 409
      service error named *Conflict)
    out of scope / missing (NotFound)  → 404                          │ 404
    not allowed in scope (NotAllowed)  → 403 with the reason          │ 403 with the reason

An action is declared once, in the service; `page_call` and `api_call` are the two adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError

from .forms import add_service_errors
from .policy import Conflict

T = TypeVar("T")


def is_conflict(exc: ValidationError) -> bool:
    return isinstance(exc, Conflict) or type(exc).__name__.endswith("Conflict")


class Outcome:
    """What `page_call` returns: `ok` and the service's `value`, or the HTTP status the page should answer with."""

    __slots__ = ("ok", "value", "status", "error")

    def __init__(self, ok: bool, value: Any = None, status: int = 200, error: ValidationError | None = None):
        self.ok, self.value, self.status, self.error = ok, value, status, error

    def __bool__(self) -> bool:
        return self.ok

    @property
    def message(self) -> str:
        return "；".join(self.error.messages) if self.error is not None else ""


def page_call(request: Any, service: Callable[..., T], /, *args: Any, form: Any = None, **kwargs: Any) -> Outcome:
    """Run `service` for a page. A refusal (ValidationError, Conflict) is put on `form` when there is one, else shown
    as a message; NotFound and NotAllowed propagate to Django's 404 and 403 pages."""
    try:
        value = service(*args, **kwargs)
    except ValidationError as exc:
        status = 409 if is_conflict(exc) else 400
        if form is not None:
            add_service_errors(form, exc)
        else:
            messages.error(request, "；".join(exc.messages))
        return Outcome(False, status=status, error=exc)
    return Outcome(True, value)


def api_call(service: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `service` for the API. core.api.exception_handler maps what it raises (ValidationError → 400, a conflict
    → 409 with the service's message, NotFound → 404, NotAllowed → 403 with its reason); this adapter exists so that
    both front doors read the same."""
    return service(*args, **kwargs)
