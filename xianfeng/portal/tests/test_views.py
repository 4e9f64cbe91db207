"""The public portal: the front page links every public board and reads on a phone; feeds carry images; pages that
are not public answer 404."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from PIL import Image

from xianfeng.campaigns import services

pytestmark = pytest.mark.django_db


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def _url(name: str, args=()) -> str | None:
    try:
        return reverse(name, args=list(args))
    except NoReverseMatch:
        return None


def test_front_page_links_every_public_board(world):
    html = Client().get(reverse("portal:index")).content.decode()
    expected = [("pledges:board", [world.county.pk]), ("pledges:board", [world.wuyuan.pk]),
                ("pledges:board", [world.qinshan.pk]), ("pledges:resident_signup", []), ("grids:report", []),
                ("events:verify", []), ("portal:bulletin_list", []), ("portal:feed_rss", [])]
    for name, args in expected:
        url = _url(name, args)
        if url is None and not name.startswith("portal:"):
            continue  # that module is not installed: the front page leaves its board out
        assert f'href="{url}"' in html, name


def test_front_page_lists_public_award_rounds_and_links_published_draws(world):
    from .. import views

    now = timezone.now()
    hidden = services.award_round_create(org=world.county, name="仍在推荐的评创", vote_start=now + dt.timedelta(days=3),
                                         vote_end=now + dt.timedelta(days=5), actor=None)
    shown = services.award_round_create(org=world.county, name="正在评议的评创", vote_start=now - dt.timedelta(hours=1),
                                        vote_end=now + dt.timedelta(days=5), actor=None)
    services.award_round_open_voting(award=shown, actor=None)
    html = Client().get(reverse("portal:index")).content.decode()
    assert reverse("portal:award", args=[shown.pk]) in html and "正在评议的评创" in html
    assert "仍在推荐的评创" not in html and Client().get(reverse("portal:award", args=[hidden.pk])).status_code == 404
    assert isinstance(views._inspection_boards(), list)  # no inspection published yet: nothing, and no error


def test_bulletin_image_is_shown_and_enclosed_in_the_feeds(world):
    bulletin = services.bulletin_create(org=world.county, title="秦万芦荟带富一方", body="正文", image=_png(),
                                        publish=True, actor=None)
    page = Client().get(reverse("portal:bulletin", args=[bulletin.pk])).content.decode()
    assert bulletin.image.url in page
    rss = Client().get(reverse("portal:feed_rss")).content.decode()
    assert "<enclosure" in rss and f"http://testserver{bulletin.image.url}" in rss and 'type="image/png"' in rss
    atom = Client().get(reverse("portal:feed_atom")).content.decode()
    assert 'rel="enclosure"' in atom and "秦万芦荟带富一方" in atom


def test_unpublished_and_future_bulletins_stay_off_the_portal(world):
    draft = services.bulletin_create(org=world.county, title="草稿新闻", body="正文", actor=None)
    later = services.bulletin_create(org=world.county, title="定时新闻", body="正文", actor=None)
    services.bulletin_publish(bulletin=later, at=timezone.now() + dt.timedelta(days=1), actor=None)
    client = Client()
    for item in (draft, later):
        assert client.get(reverse("portal:bulletin", args=[item.pk])).status_code == 404
    for url in (reverse("portal:index"), reverse("portal:bulletin_list"), reverse("portal:feed_rss")):
        html = client.get(url).content.decode()
        assert "草稿新闻" not in html and "定时新闻" not in html, url


def test_front_page_fits_a_phone_with_a_viewport_and_few_queries(world, django_assert_max_num_queries):
    for i in range(8):
        services.bulletin_create(org=world.county, title=f"新闻{i}", body="正文", publish=True, actor=None)
    with django_assert_max_num_queries(12):
        response = Client().get(reverse("portal:index"))
    html = response.content.decode()
    assert response.status_code == 200 and 'name="viewport"' in html and "width=device-width" in html


def test_front_page_for_visitors_is_rendered_once_and_kept_for_its_lifetime(client, client_for, settings, world):
    from xianfeng.campaigns.models import Bulletin
    from xianfeng.portal.views import FRONT_PAGES

    settings.PORTAL_FRONT_CACHE_SECONDS = 60
    FRONT_PAGES.clear()
    try:
        first = client.get("/p/")
        assert first.status_code == 200 and "csrfmiddlewaretoken" not in first.content.decode()
        assert "sessionid" not in first.cookies
        Bulletin.objects.create(org=world.county, title="缓存之后发布的简报", body="正文", published_at=timezone.now())
        assert "缓存之后发布的简报" not in client.get("/p/").content.decode()  # the kept rendering
        assert "缓存之后发布的简报" in client_for("county_admin").get("/p/").content.decode()  # signed in: fresh
        FRONT_PAGES.clear()
        assert "缓存之后发布的简报" in client.get("/p/").content.decode()
    finally:
        FRONT_PAGES.clear()
