from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostsConfig(AppConfig):
    name = "xianfeng.posts"
    label = "posts"
    verbose_name = "先锋服务岗"
    url_prefix = "posts/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action, "member", or None for any signed-in user)
    navigation: list[tuple] = [
        ("posts:list", _("Responsibility posts"), "signpost-2", None),
    ]

    def ready(self) -> None:
        from xianfeng.points import categories

        categories.register(lambda org: [categories.POST_SERVICE])  # what this module's points are awarded under
