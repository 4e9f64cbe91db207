from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "xianfeng.points"
    label = "points"
    verbose_name = "积分卡"
    url_prefix = "points/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("points:card", _("Points card"), "credit-card-2-front", "member"),
        ("points:board", _("Leaderboard"), "trophy", None),
        ("points:shop", _("Reward shop"), "shop", "change"),
    ]
