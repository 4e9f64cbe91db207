"""/api/v1/posts/: responsibility posts the caller may see, with their active holders. Read-only: claims and
services go through the pages, which call the same services."""

from rest_framework import serializers, viewsets

from .models import Holding, Post
from .selectors import posts_for


class HolderSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.person.name")

    class Meta:
        model = Holding
        fields = ["id", "member", "member_name", "started_on"]


class PostSerializer(serializers.ModelSerializer):
    org_name = serializers.CharField(source="org.name")
    holders = HolderSerializer(source="active_holdings", many=True)

    class Meta:
        model = Post
        fields = ["id", "org", "org_name", "name", "area", "duties", "capacity", "holders_count", "is_open", "holders"]


class PostViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PostSerializer
    filterset_fields = ["org", "is_open"]

    def get_queryset(self):
        return posts_for(self.request.user)


def register(router) -> None:
    router.register("posts", PostViewSet, basename="post")
