"""RSS and Atom feeds of the published bulletins."""

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from xianfeng.campaigns.models import Bulletin

FEED_SIZE = 30


class BulletinFeed(Feed):
    title = _("Xianfeng — news and briefings")
    description = _("News and briefings published by the county's organisations.")

    def link(self):
        return reverse("portal:index")

    def items(self):
        return Bulletin.objects.filter(published_at__isnull=False).select_related("org").order_by("-published_at")[
            :FEED_SIZE]

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
