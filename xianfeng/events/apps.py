from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "xianfeng.events"
    label = "events"
    verbose_name = "活动与党课"
    url_prefix = "events/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("events:activity_list", _("Activities"), "calendar-event", None),
        ("events:team_list", _("Volunteer teams"), "people", None),
        ("events:figures", _("Lesson and team figures"), "bar-chart", "view"),
    ]

    def ready(self) -> None:
        from xianfeng.points import categories

        categories.register(lambda org: [categories.VOLUNTEER])  # what this module's points are awarded under
