"""A resident on a phone votes in the 1+9 round, is refused a second vote in the same category, and sees the results
once the evaluation window has closed."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.campaigns.models import AwardRound, Vote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resident_votes_once_and_sees_results_after_close(world, live_server, open_page, sign_in):
    now = timezone.now()
    award = services.award_round_create(org=world.county, name="先锋群评创", vote_start=now + dt.timedelta(hours=1),
                                        vote_end=now + dt.timedelta(days=2), actor=None)
    innovation = award.categories.get(code="innovation")
    before = now
    a = services.nomination_create(category=innovation, nominated_by=world.wuyuan, citation="牵头创建服务品牌",
                                   nominee_member=world.members["hebin_a"], now=before, evidence={}, actor=None)
    b = services.nomination_create(category=innovation, nominated_by=world.county, citation="带领村民致富",
                                   nominee_member=world.members["qinshan_a"], now=before, evidence={}, actor=None)
    services.award_round_open_voting(award=award, actor=None)
    AwardRound.objects.filter(pk=award.pk).update(vote_start=now - dt.timedelta(minutes=5))  # the window opens

    page = open_page("phone")
    sign_in(page, "resident_demo")
    page.goto(live_server.url + reverse("portal:index"))
    page.get_by_role("link", name="先锋群评创").click()
    page.wait_for_url(re.compile(rf"/p/awards/{award.pk}/$"))
    assert page.locator("[data-testid=results-hidden]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling on a phone

    page.click(f"[data-testid=vote-{a.pk}]")
    page.wait_for_url(re.compile(rf"/p/awards/{award.pk}/$"))
    assert "张建国" in page.inner_text("[role=alert]")
    assert Vote.objects.filter(voter=world.resident, nomination=a).count() == 1

    page.click(f"[data-testid=vote-{b.pk}]")  # a second vote in the same category
    refusal = page.inner_text("[data-testid=refusal]")
    assert "务实创新先锋" in refusal and "一票" in refusal
    assert Vote.objects.filter(voter=world.resident).count() == 1
    assert page.locator("[data-testid=votes]").count() == 0  # counts still secret

    AwardRound.objects.filter(pk=award.pk).update(vote_end=timezone.now())  # the window closes
    page.goto(live_server.url + reverse("portal:award", args=[award.pk]))
    counts = page.locator("[data-category=innovation] [data-testid=votes]").all_inner_texts()
    assert counts == ["1 票", "0 票"]
    assert page.locator("[data-testid=results-hidden]").count() == 0
