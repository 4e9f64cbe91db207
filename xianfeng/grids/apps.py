from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class GridsConfig(AppConfig):
    name = "xianfeng.grids"
    label = "grids"
    verbose_name = "网格与诉求"
    url_prefix = "grids/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("grids:case_list", pgettext_lazy("grids", "Cases"), "megaphone", "view"),
        ("grids:grid_list", pgettext_lazy("grids", "Grids"), "grid-3x3", "view"),
        ("grids:overdue", pgettext_lazy("grids", "Overdue"), "alarm", "view"),
        ("grids:map", pgettext_lazy("grids", "Map"), "map", "view"),
        ("grids:figures", pgettext_lazy("grids", "Grid figures"), "bar-chart", "view"),
    ]


    def ready(self) -> None:
        from xianfeng.demands import positions

        from .positions import household_position

        positions.register(household_position)  # demands' distances read the grid register
