"""/api/v1/ bulletins."""

from __future__ import annotations

from rest_framework import serializers

from xianfeng.core.api import ScopedReadOnlyViewSet

from ..models import (
    Bulletin,
)


class BulletinSerializer(serializers.ModelSerializer):
    class Meta:
        model = Bulletin
        fields = ["id", "org", "kind", "issue", "title", "body", "image", "published_at"]


class BulletinViewSet(ScopedReadOnlyViewSet):
    queryset = Bulletin.objects.all()
    serializer_class = BulletinSerializer
