"""Helpers for the events tests: activities around "now" in the personas' county."""

import datetime as dt

import pytest
from django.utils import timezone

from xianfeng.events import services
from xianfeng.events.models import ActivityKind, Audience


@pytest.fixture
def make_activity(world):
    def make(*, org=None, kind=ActivityKind.SERVICE, start_in=dt.timedelta(minutes=-10), hours=2, **extra):
        start = timezone.now() + start_in
        extra.setdefault("lecturer", "王书记" if kind == ActivityKind.LESSON else "")
        extra.setdefault("audience", Audience.SUBTREE)
        org = org or world.hebin
        # the organiser: Hebin's secretary for Hebin's activities, the county administrator elsewhere
        actor = extra.pop("actor", world.hebin_secretary if org.path.startswith(world.hebin.path) else world.county_admin)
        return services.activity_create(org=org, kind=kind, title=extra.pop("title", "河滨社区志愿服务"),
                                        starts_at=start, ends_at=start + dt.timedelta(hours=hours),
                                        place="河滨社区服务中心", actor=actor, **extra)

    return make
