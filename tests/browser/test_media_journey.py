"""Uploaded pictures actually load in a browser: the service photo on the resident's confirmation page (a private file
behind a permission check) and a bulletin's image on the public portal; the favicon too."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEMANDS_PHOTO_DIR = tmp_path / "private" / "demands"


def png(colour=(200, 0, 0)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def natural_width(page, selector: str) -> int:
    page.wait_for_function(f"() => document.querySelector('{selector}') && document.querySelector('{selector}').complete")
    return page.eval_on_selector(selector, "img => img.naturalWidth")


def test_the_service_photo_and_the_bulletin_image_load(world, live_server, open_page, sign_in):
    from xianfeng.campaigns.services.bulletins import bulletin_create
    from xianfeng.demands.services import demand_claim, demand_create, service_record

    member = world.members["hebin_a"]
    demand = demand_create(org=world.hebin, category="维修", description="厨房水龙头漏水", actor=world.users["resident"],
                           source="resident")
    demand_claim(demand=demand, member=member, actor=None)
    record = service_record(member=member, demand=demand, served_on=timezone.localdate(), minutes=60,
                            notes="更换阀芯", photo=png(), actor=None)
    page = open_page("phone")
    sign_in(page, world.users["resident"].username)
    page.goto(live_server.url + reverse("demands:confirm", args=[record.pk]))
    assert natural_width(page, "[data-testid=record-photo]") == 40

    bulletin = bulletin_create(org=world.county, title="秦万芦荟带富一方", body="正文", image=png((0, 120, 0)),
                               publish=True, actor=None)
    visitor = open_page("phone")
    visitor.goto(live_server.url + reverse("portal:bulletin", args=[bulletin.pk]))
    assert natural_width(visitor, "main img") == 40
    assert visitor.request.get(live_server.url + "/favicon.ico").status == 200
