"""The OpenAPI schema tells the truth about errors and filters (drf-spectacular, `/api/schema/`).

`AutoSchema` adds the error answers every operation can give and that the views do not declare one by one: 400
(field errors: bad query parameters or body), 401 (no or bad credentials), 403, 404 (missing or out of scope, or a page
past the end), 409 (a write that conflicts with existing data), 429 where the view is throttled. The body of each is
DRF's: `{"detail": "…"}`, or `{field: [messages]}` for a 400.

`FilterExtension` types the numeric filters from their own bounds: a NumberFilter with `decimal_places=0` is an
integer, and `min_value`/`max_value` become `minimum`/`maximum`, so the schema says what the FilterSet accepts; an
optional filter allows the empty value (`?status=`), which django-filter reads as "not filtered".
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ErrorDetail = inline_serializer("ErrorDetail", fields={"detail": serializers.CharField()})

ERRORS: dict[str, OpenApiResponse] = {
    "400": OpenApiResponse(
        {"type": "object", "additionalProperties": {},
         "description": "{field: [messages]}; `non_field_errors` for the request as a whole"},
        description="bad input (query parameters or body); nothing was changed"),
    "401": OpenApiResponse(ErrorDetail, description="no credentials, or a token that is not valid"),
    "403": OpenApiResponse(ErrorDetail, description="the caller's roles do not allow this"),
    "404": OpenApiResponse(ErrorDetail, description="missing, or outside the caller's scope (the same answer)"),
    "409": OpenApiResponse(ErrorDetail, description="conflicts with existing data"),
    "429": OpenApiResponse(ErrorDetail, description="too many requests; retry later"),
}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            self._add_errors(operation)
        return operation

    def _add_errors(self, operation: dict[str, Any]) -> None:
        params = operation.get("parameters", [])
        writes = self.method in WRITE_METHODS
        codes = ["401", "403"]
        if writes or operation.get("requestBody") or any(p.get("in") == "query" for p in params):
            codes.append("400")
        if writes or any(p.get("in") == "path" for p in params) or any(p.get("name") == "page" for p in params):
            codes.append("404")
        if writes:
            codes.append("409")
        if self.view.get_throttles():
            codes.append("429")
        responses = operation.setdefault("responses", {})
        for code in sorted(set(codes) | (set(responses) & set(ERRORS))):
            documented = self._get_response_for_code(ERRORS[code], code)
            if code not in responses:
                responses[code] = documented
            elif "content" not in responses[code]:
                # declared by the view with a description only: keep the description, add the body
                responses[code]["content"] = documented["content"]


class FilterExtension(DjangoFilterExtension):
    priority = DjangoFilterExtension.priority + 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        from django_filters import filters

        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        for parameter in parameters:
            if not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        if isinstance(filter_field, filters.NumberFilter):
            extra = filter_field.extra
            for parameter in parameters:
                schema = parameter["schema"]
                if extra.get("decimal_places") == 0:
                    schema["type"] = "integer"
                    schema.pop("format", None)
                if extra.get("min_value") is not None:
                    schema["minimum"] = extra["min_value"]
                if extra.get("max_value") is not None:
                    schema["maximum"] = extra["max_value"]
        return parameters
