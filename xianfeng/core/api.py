"""API plumbing shared by every app: error shape, scoped viewsets, pagination."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import Model, QuerySet
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.pagination import BasePagination
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from . import policy
from .api_defaults import MAX_ID, FilterBackend, FilterSet, Pagination  # noqa: F401  (the API's defaults, re-exported)
from .frontdoor import is_conflict

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "与已有数据冲突，请刷新后重试"
    default_code = "conflict"


def validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as DRF's error body: {field: [messages]}, '__all__' named non_field_errors."""
    if hasattr(exc, "error_dict"):
        detail = exc.message_dict
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        return detail
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def exception_handler(exc, context):
    """Django's ValidationError becomes a 400 with field errors; out of scope is a plain 404 (the body of a missing
    object); a constraint the database enforced becomes 400/409 instead of a 500."""
    if isinstance(exc, DjangoValidationError) and is_conflict(exc):
        exc = Conflict("；".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(getattr(exc, "reason", None))
    elif isinstance(exc, IntegrityError):
        # A race the service's own checks could not see (two clients creating the same code at once). The
        # service's transaction has already rolled back; log it, since a repeatable one is a missing check.
        logger.warning("integrity error answered as 409", exc_info=exc)
        exc = Conflict()
    elif isinstance(exc, DataError):
        logger.warning("data error answered as 400", exc_info=exc)
        exc = exceptions.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: ["数据超出允许的长度或范围"]})
    response = drf_exception_handler(exc, context)
    if response is not None:
        if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, list):
            # a bare ValidationError("…"): every 400 body is an object, as the schema says
            response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
        response.data = encodable(response.data)
    return response


def not_found(request, exception=None):
    """handler404: under /api/ DRF's JSON body (a URL no route matches, e.g. /api/v1/cockpit/abc/), elsewhere
    Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404,
                            json_dumps_params={"ensure_ascii": False})
    return defaults.page_not_found(request, exception)


def encodable(data: Any) -> Any:
    """Error details echo the input ('"…" is not a valid choice'); a lone surrogate from JSON's \\udXXX escapes
    cannot be encoded as UTF-8 and would break the renderer. Replace such characters, keeping error codes."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            clean = data.encode("utf-8", "replace").decode("utf-8")
            return exceptions.ErrorDetail(clean, code=data.code) if isinstance(data, exceptions.ErrorDetail) else clean
        return data
    if isinstance(data, dict):
        return {encodable(k): encodable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [encodable(v) for v in data]
    return data


def scoped_get(queryset: Any, user: Any, action: str, pk: Any) -> Model:
    """The object `pk` of `queryset` if `user` may do `action` on it; NotFound (the missing-object answer) if not —
    core.policy.get_visible under the API's name."""
    return policy.get_visible(queryset, user, action, pk=pk)


class ScopedViewSetMixin:
    """Every object a viewset reads comes from `Model.objects.restrict(user, action)`.

    `scope_action` is the action for reads; `scope_actions` names a stricter one per viewset action, e.g.
    `{"partial_update": "admin", "transfer": "change"}`, so an object the user may see but not change answers 404 to
    the change exactly as a missing one does.
    """

    scope_action = "view"
    scope_actions: dict[str, str] = {}
    base_queryset: QuerySet | None = None
    pagination_class: type[BasePagination] | None = Pagination

    def get_scope_action(self) -> str:
        return self.scope_actions.get(getattr(self, "action", None) or "", self.scope_action)

    def get_queryset(self):
        qs = self.base_queryset if self.base_queryset is not None else self.queryset
        return qs.all().restrict(self.request.user, self.get_scope_action())

    def get_object(self):
        """The object in the URL, looked up in the scope only: list filters (?kind=…) do not apply to it, so
        /orgs/1/children/?kind=town filters the children, not organisation 1."""
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        obj = policy.get_or_404(self.get_queryset(), **{self.lookup_field: self.kwargs[lookup_url_kwarg]})
        self.check_object_permissions(self.request, obj)
        return obj


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class StrictFieldsMixin:
    """For serializers that take input: a key the serializer does not know is an error instead of being silently
    ignored (a misspelt or unsupported field must not look like a success)."""

    ignored_keys = frozenset({"csrfmiddlewaretoken"})  # sent by the browsable API's HTML forms

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {str(k)[:100]: ["未知字段"] for k in data if k not in self.fields and k not in self.ignored_keys}
            unknown.update(blank_form_values(self.fields, data))
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        unknown.update(years_out_of_range(value))
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


INPUT_YEARS = (1900, 2100)  # a date outside these years is a typing slip, and Python's zones misrender such years


def years_out_of_range(value) -> dict:
    """Field errors for dates and datetimes outside INPUT_YEARS in validated input (nested serializers included)."""
    errors: dict = {}
    if not isinstance(value, Mapping):
        return errors
    low, high = INPUT_YEARS
    for name, item in value.items():
        if isinstance(item, datetime.date) and not low <= item.year <= high:
            errors[name] = [f"年份须在{low}年至{high}年之间"]
    return errors


def blank_form_values(fields, data) -> dict:
    """Field errors for an empty form value sent for a field that takes no blank (a date, a number): DRF treats it as
    left out, so `on=` in a multipart form would silently mean "today"."""
    if not hasattr(data, "getlist"):  # JSON bodies: DRF already refuses "" for such fields
        return {}
    errors = {}
    for name, field in fields.items():
        if name in data and data.get(name) == "" and not getattr(field, "allow_blank", False) \
                and not field.allow_null and not field.read_only and not isinstance(field, serializers.CharField):
            errors[name] = ["不能为空；不填请省略此字段"]
    return errors


class StrictInputSerializer(StrictFieldsMixin, serializers.Serializer):
    pass
