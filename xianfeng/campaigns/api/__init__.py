"""/api/v1/ endpoints of campaigns, one module per subdomain. Reads go through the policies (policies.py); writes call
the services, which check the policy; out of scope answers 404 exactly like missing."""

from __future__ import annotations

from typing import Any

from .advisors import AdvisorBatchViewSet, AdvisorViewSet
from .awards import AwardRoundViewSet, VoteViewSet
from .bulletins import BulletinViewSet
from .drives import DriveViewSet
from .meetings import MeetingViewSet
from .plans import CampaignViewSet, PlanViewSet
from .ventures import VentureViewSet


def register(router: Any) -> None:
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("campaign-plans", PlanViewSet, basename="campaign-plan")
    router.register("award-rounds", AwardRoundViewSet, basename="award-round")
    router.register("votes", VoteViewSet, basename="vote")
    router.register("bulletins", BulletinViewSet, basename="bulletin")
    router.register("ventures", VentureViewSet, basename="venture")
    router.register("campaign-meetings", MeetingViewSet, basename="campaign-meeting")
    router.register("advisor-batches", AdvisorBatchViewSet, basename="advisor-batch")
    router.register("advisors", AdvisorViewSet, basename="advisor")
    router.register("drives", DriveViewSet, basename="drive")
