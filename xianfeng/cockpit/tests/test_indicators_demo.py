"""On the demo county (built at a small scale): every listed indicator's cockpit figure equals the count of its
linked list at county, town and community level, and the page, the API and the rates agree."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from xianfeng.cockpit.figures import cockpit_for
from xianfeng.core.indicators import indicators
from xianfeng.core.rates import org_rates
from xianfeng.orgs.models import Organisation, User

from .test_indicators import list_count

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def demo():
    call_command("demo", "--seed", "7", "--scale", "0.03")  # the demo's last step rebuilds the rollups
    client = Client()
    client.force_login(User.objects.get(username="county_admin"))
    return client


def test_demo_county_figures_equal_their_lists_and_every_reader_agrees(demo):
    county = Organisation.objects.get(depth=1, name="海盐县")
    town = Organisation.objects.get(name="武原镇")
    community = Organisation.objects.get(name="河滨社区")
    rates = org_rates()
    for org in (county, town, community):
        c = cockpit_for(org, with_children=False)
        shown = {f.key: f for s in c.sections for f in s.figures}
        api = {f["key"]: f for s in demo.get(f"/api/v1/cockpit/{org.pk}/").json()["sections"] for f in s["figures"]}
        for key, item in indicators().items():
            if key in shown:
                fig = shown[key]
                assert (api[key]["value"], api[key]["denominator"]) == (fig.value, fig.denominator), key
                if key in rates and fig.denominator:
                    assert rates[key].compute([org]).get(org.pk) == (fig.value, fig.denominator), (key, org.name)
            if item.list_url is None:
                continue
            url = item.list_url(org.pk)
            live = item.numerator.total(org)
            assert list_count(demo.get(url)) == live, (key, org.name, url)
            if key in shown:
                assert shown[key].value == live, (key, org.name)
        pledged = shown["pledges.members_pledged"]
        assert pledged.value <= pledged.denominator
