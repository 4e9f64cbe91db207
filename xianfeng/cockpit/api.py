"""/api/v1/cockpit/{organisation id}/: the figures of one subtree the caller's roles cover (404 otherwise)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.response import Response

from .figures import child_columns, cockpit_for
from .views import org_in_scope


class CockpitViewSet(viewsets.ViewSet):
    permission_classes = [permissions.IsAuthenticated]
    lookup_value_regex = r"[0-9]+"

    @extend_schema(summary="Cockpit figures of an organisation's subtree", responses={200: dict},
                   parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="organisation id")])
    def retrieve(self, request, pk=None):
        org = org_in_scope(request.user, pk)
        c = cockpit_for(org)
        return Response({
            "org": {"id": org.pk, "name": org.name, "kind": org.kind, "path": org.path},
            "date": c.today.isoformat(),
            "sections": [{"key": s.key, "label": str(s.label), "figures": [f.as_dict() for f in s.figures]}
                         for s in c.sections],
            "children": [{"id": r.org.pk, "name": r.org.name, "organisations": r.orgs,
                          "figures": {key: {"value": v, "denominator": d}
                                      for (key, _label, _den), (v, d) in zip(child_columns(), r.cells, strict=True)}}
                         for r in c.children],
            "trends": c.trends,
        })


def register(router) -> None:
    router.register("cockpit", CockpitViewSet, basename="cockpit")
