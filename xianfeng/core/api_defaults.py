"""The API's defaults, named in settings.REST_FRAMEWORK: pagination and the filter backend.

Kept apart from `core/api.py` because DRF imports them while it defines its generic views, which `core/api.py`
itself imports.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django_filters import BooleanFilter, NumberFilter
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.rest_framework import FilterSet as RestFilterSet
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """?page=N, and ?page_size=N up to 500. Either one that is not an integer in range is a 400 with the reason, as
    the schema says (DRF's own would fall back to the default size, or read ?page= as page 1); a page past the end
    is a 404."""

    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()  # ?page=last is not in the schema

    @staticmethod
    def _bounded_int(request, name: str, high: int | None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        # digits only: int() would also take " 5", "5_0" and non-ASCII digits; a page number too long to read is
        # simply past the end
        value = (int(raw) if len(raw) <= 19 else 10**19) if raw.isascii() and raw.isdigit() else 0
        if value < 1 or (high is not None and value > high):
            bound = f" 1 到 {high} 之间的整数" if high else "不小于 1 的整数"
            raise exceptions.ValidationError({name: [f"须为{bound}"]})
        return value

    def get_page_size(self, request):
        return self._bounded_int(request, self.page_size_query_param, self.max_page_size) or self.page_size

    def get_page_number(self, request, paginator):
        return self._bounded_int(request, self.page_query_param, None) or 1

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


MAX_ID = 2**63 - 1


def _id_bounds(field: models.Field) -> dict[str, Any]:
    return {"min_value": 1, "max_value": MAX_ID, "decimal_places": 0}


def _int_bounds(field: models.Field) -> dict[str, Any]:
    return {"min_value": -MAX_ID - 1, "max_value": MAX_ID, "decimal_places": 0}


class FilterSet(RestFilterSet):
    """The base of the FilterSets the API builds from a viewset's `filterset_fields`: a foreign key filters by id as a
    bounded integer, and an id that names no row matches nothing (200, empty list) exactly as one outside the scope
    does — instead of django-filter's 400 "not a valid choice", which the schema cannot express and which would tell
    which ids exist."""

    FILTER_DEFAULTS = {
        **RestFilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": NumberFilter, "extra": _id_bounds},
        models.OneToOneField: {"filter_class": NumberFilter, "extra": _id_bounds},
        # integer columns (owner_id, year…) take whole numbers only: django-filter's default accepts 0.5
        models.IntegerField: {"filter_class": NumberFilter, "extra": _int_bounds},
        models.BigIntegerField: {"filter_class": NumberFilter, "extra": _int_bounds},
    }


class FilterBackend(DjangoFilterBackend):
    """django-filter for the API, strict where the schema is: a boolean filter takes `true` or `false` (the form
    field would read anything else as "not filtered"); an empty value still means "not filtered"."""

    filterset_base = FilterSet

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            bad = {name: ["须为 true 或 false"] for name, f in filterset.filters.items()
                   if isinstance(f, BooleanFilter) and request.query_params.get(name, "") not in ("", "true", "false")}
            if bad:
                raise exceptions.ValidationError(bad)
        return filterset
