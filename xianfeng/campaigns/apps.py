from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "xianfeng.campaigns"
    label = "campaigns"
    verbose_name = "活动与评创"
    url_prefix = "campaigns/"  # xianfeng/urls.py mounts this app's urls.py here
    # Menu entries: (url name, label, bootstrap icon, scoping action or None for any signed-in user)
    navigation: list[tuple] = [
        ("campaigns:index", _("Campaigns"), "flag", "view"),
        ("campaigns:contact_map", _("Contact-point map"), "geo-alt", "view"),
    ]

    def ready(self) -> None:
        from xianfeng.orgs.signals import visit_recorded

        from .services.meetings import follow_ups_from_visit

        visit_recorded.connect(follow_ups_from_visit, dispatch_uid="campaigns.visit_follow_ups")
