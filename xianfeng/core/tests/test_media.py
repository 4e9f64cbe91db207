"""Uploaded files load where pages show them: public uploads (bulletin images) at /media/ for anyone, private ones
(service-record photos) only through a view that checks the viewer; nothing else under /media/ is reachable; the
favicon answers."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from xianfeng.demands.models import ServiceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEMANDS_PHOTO_DIR = tmp_path / "private" / "demands"


def png(name="photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def img_src(html: str, testid: str | None = None) -> str:
    pattern = rf'<img src="([^"]+)"[^>]*data-testid="{testid}"' if testid else r'<img src="(/media/[^"]+)"'
    match = re.search(pattern, html)
    assert match, html
    return match.group(1)


def loads_as_image(client: Client, url: str) -> bool:
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code == 200 and response["Content-Type"].startswith("image/") and body[:4] == b"\x89PNG"


def test_the_residents_confirmation_page_shows_the_service_photo_and_outsiders_get_404(world, client_for, settings):
    resident, member = client_for("resident"), client_for("member")
    resident.post("/demands/new/", {"category": "维修", "description": "厨房水龙头漏水", "household": "2-301",
                                    "address": "河滨路2号301", "urgency": "normal", "preferred_times": "周末"})
    demand_pk = resident.get("/demands/mine/").context["own"][0].pk
    assert member.post(f"/demands/{demand_pk}/claim/").status_code == 302
    r = member.post(f"/demands/{demand_pk}/record/", {"served_on": timezone.localdate().isoformat(), "hours": "1",
                                                      "minutes": "0", "notes": "更换阀芯", "photo": png()})
    assert r.status_code == 302, r.content.decode()
    record = ServiceRecord.objects.get()
    assert record.photo and not (settings.MEDIA_ROOT / record.photo.name).exists()  # kept out of MEDIA_ROOT

    page = resident.get(f"/demands/records/{record.pk}/confirm/")
    src = img_src(page.content.decode(), "record-photo")
    assert src == reverse("demands:record_photo", args=[record.pk])
    assert loads_as_image(resident, src)
    assert loads_as_image(member, src)  # the member who served
    assert loads_as_image(client_for("hebin_secretary"), src)  # the community's staff
    assert client_for("qinshan_secretary").get(src).status_code == 404  # another village's secretary
    assert Client().get(src).status_code == 302  # signed out: to the sign-in page
    assert Client().get(f"/media/{record.photo.name}").status_code == 404  # never at a public URL


def test_the_portal_bulletins_image_loads_and_the_feeds_enclosure_answers(world):
    from xianfeng.campaigns import services

    bulletin = services.bulletin_create(org=world.county, title="秦万芦荟带富一方", body="正文", image=png(),
                                        publish=True, actor=None)
    anyone = Client()
    page = anyone.get(reverse("portal:bulletin", args=[bulletin.pk])).content.decode()
    src = img_src(page)
    assert src == bulletin.image.url and loads_as_image(anyone, src)
    rss = anyone.get(reverse("portal:feed_rss")).content.decode()
    enclosure = re.search(r'<enclosure[^>]* url="http://testserver(/media/[^"]+)"', rss)
    assert enclosure and loads_as_image(anyone, enclosure.group(1))
    response = anyone.get(src)
    assert response["X-Content-Type-Options"] == "nosniff" and "public" in response["Cache-Control"]


def test_only_public_folders_are_served_and_no_path_escapes_them(world, settings):
    media = settings.MEDIA_ROOT
    (media / "campaigns" / "bulletins").mkdir(parents=True)
    (media / "campaigns" / "bulletins" / "a.png").write_bytes(b"\x89PNG....")
    (media / "campaigns" / "bulletins" / "page.html").write_text("<script>alert(1)</script>")
    (media / "pledges").mkdir()
    (media / "pledges" / "p.png").write_bytes(b"\x89PNG....")
    (media.parent / "secret.txt").write_text("secret")
    (media / "campaigns" / "bulletins" / "link.png").symlink_to(media.parent / "secret.txt")
    anyone = Client()
    assert anyone.get("/media/campaigns/bulletins/a.png").status_code == 200
    html = anyone.get("/media/campaigns/bulletins/page.html")  # an upload that is not an image: a download
    assert html.status_code == 200 and html["Content-Type"] == "application/octet-stream"
    assert html["Content-Disposition"].startswith("attachment")
    for path in ["pledges/p.png", "campaigns/bulletins/../../pledges/p.png", "campaigns/bulletins/../../../secret.txt",
                 "campaigns/bulletins/%2e%2e/%2e%2e/pledges/p.png", "campaigns/bulletins//a.png",
                 "campaigns/bulletins/missing.png", "campaigns/bulletins/", "campaigns/bulletins/link.png",
                 "campaigns/bulletins/a.png%00.txt", "%2fetc/passwd"]:
        assert anyone.get(f"/media/{path}").status_code == 404, path
    assert anyone.post("/media/campaigns/bulletins/a.png").status_code in (403, 405)


def test_the_favicon_answers_and_pages_link_it(world, client_for):
    response = Client().get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    page = client_for("hebin_secretary").get(reverse("home")).content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
    assert 'rel="icon"' in Client().get(reverse("login")).content.decode()
