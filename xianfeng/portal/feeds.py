"""RSS and Atom feeds of the published bulletins; a bulletin's image is its enclosure."""

import copy
import mimetypes

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from xianfeng.campaigns.models import Bulletin

FEED_SIZE = 30


class BulletinFeed(Feed):
    title = _("Xianfeng — news and briefings")
    description = _("News and briefings published by the county's organisations.")

    def __call__(self, request, *args, **kwargs):
        feed = copy.copy(self)  # one instance serves every request: the request goes on a copy
        feed.request = request
        return Feed.__call__(feed, request, *args, **kwargs)

    def link(self):
        return reverse("portal:index")

    def item_enclosure_url(self, item):
        return self.request.build_absolute_uri(item.image.url) if item.image else None

    def item_enclosure_length(self, item):
        try:
            return item.image.size if item.image else None
        except OSError:  # the file is gone from storage: the item is still listed
            return 0

    def item_enclosure_mime_type(self, item):
        return (mimetypes.guess_type(item.image.name)[0] or "image/jpeg") if item.image else None

    def items(self):
        return (Bulletin.objects.filter(published_at__isnull=False, published_at__lte=timezone.now())
                .select_related("org").order_by("-published_at")[:FEED_SIZE])

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.body[:500]

    def item_link(self, item):
        return reverse("portal:bulletin", args=[item.pk])

    def item_pubdate(self, item):
        return item.published_at

    def item_author_name(self, item):
        return item.org.name


class BulletinAtomFeed(BulletinFeed):
    feed_type = Atom1Feed
    subtitle = BulletinFeed.description
