"""What the campaigns API shares: the organisation a request names, the 201 answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.response import Response

from xianfeng.core.policy import get_visible
from xianfeng.orgs.models import Organisation

BAD = OpenApiResponse(description="field errors")


def _org(request: Any, pk: Any, action: str = "admin") -> Organisation:
    """The organisation `pk` if the caller may do `action` on it; NotFound (404) as for a missing one if not."""
    return get_visible(Organisation, request.user, action, pk=pk)


def _created(data) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)

NOT_FOUND = OpenApiResponse(description="missing, or outside the caller's scope (the same answer)")
