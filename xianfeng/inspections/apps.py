from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class InspectionsConfig(AppConfig):
    name = "xianfeng.inspections"
    label = "inspections"
    verbose_name = "督查点评"
    url_prefix = "inspections/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("inspections:list", pgettext_lazy("inspections", "Inspections"), "clipboard-check", "inspect"),
        # the organisations' staff report on their tasks; inspectors verify the tasks of their inspections
        ("inspections:my_rectifications", pgettext_lazy("inspections", "Rectification tasks"), "list-check",
         ("change", "inspect")),
    ]
