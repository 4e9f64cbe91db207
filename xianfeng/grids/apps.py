from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "xianfeng.grids"
    label = "grids"
    verbose_name = "网格与诉求"
    url_prefix = "grids/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("grids:case_list", _("Cases"), "megaphone", "view"),
        ("grids:grid_list", _("Grids"), "grid-3x3", "view"),
        ("grids:overdue", _("Overdue"), "alarm", "view"),
        ("grids:map", _("Map"), "map", "view"),
        ("grids:figures", _("Grid figures"), "bar-chart", "view"),
    ]

