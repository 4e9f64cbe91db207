"""A crawl of the demo county as every demo login and as a visitor: every page a link leads to must render.

From the home page and the portal (/p/) each persona follows every same-site link (GET only; at most
PER_PATTERN pages per URL pattern, told apart by Django's resolve()). A page fails the crawl if it answers 5xx, if a
template variable did not resolve (string_if_invalid is set to a marker), or if its text shows a raw choice key
(`grids.closed`, a notification kind …) instead of its label. Downloads are fetched and their content type checked.
The slowest pages per persona are printed at the end of the session, with this process's CPU time (what a page costs
whatever else shares the machine) beside the wall time; `-m crawl` selects this file.
"""

from __future__ import annotations

import html
import mimetypes
import re
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.test import Client
from django.urls import Resolver404, resolve

pytestmark = [pytest.mark.crawl, pytest.mark.django_db]

# Narrow scopes first: a download is fetched once per session (see DOWNLOADED), by the first persona that finds it.
PERSONAS = [None, "resident_demo", "donghai_resident", "member_demo", "donghai_member", "hebin_grid", "hebin_duty",
            "hebin_secretary", "qinshan_secretary", "inspector_demo", "wuyuan_admin", "county_admin"]
START = ["/", "/p/"]
PER_PATTERN = 3
INVALID = "§INVALID§"
# Pages the crawl does not open: signing out, changing language (a POST, or the public boards' GET link that sets
# the language cookie: a change of state), the Django admin (its own templates rely on
# an empty string_if_invalid, as Django documents) and the API's browsable pages, which have their own tests.
SKIP_NAMES = {"logout", "set_language", "pledges:language"}
SKIP_PREFIXES = ("/admin/", "/static/", "/media/", "/api/v1/")
SITE_HOSTS = {"", "testserver", urlsplit(django_settings.SITE_URL).netloc}
SLOW_MS = 300
HTML_TYPES = ("text/html",)
# URL patterns of downloads already fetched in this session: an export or a PDF is checked once, by the narrowest
# persona that has the link, because the county-wide ones take seconds each and add nothing a narrower one misses.
DOWNLOADED: set[str] = set()
DOWNLOAD_SUFFIXES = (".xlsx", ".pdf", ".docx", ".ics", ".csv", ".zip", ".png", ".svg", ".geojson")


class Page(HTMLParser):
    """The links (a[href], link[href], hx-get) and the visible text of one HTML page."""

    HIDDEN = ("script", "style", "template", "code")  # code: keys shown on purpose, as keys (notify preferences)

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.HIDDEN:
            self._hidden += 1
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "link" and a.get("rel") == "alternate" and a.get("href"):
            self.links.append(a["href"])
        if a.get("hx-get"):
            self.links.append(a["hx-get"])
        for name in ("title", "placeholder", "aria-label", "alt"):
            if a.get(name):
                self.text.append(a[name])

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)


def raw_choice_keys() -> set[str]:
    """Keys that must never reach a page as they are: every dotted choice value (`grids.closed`) of the project's
    TextChoices, every notification kind, and every other choice value whose label says something else (`wilson`),
    unless it is also an ordinary word of the pages (usernames of the demo logins)."""
    keys: set[str] = set()
    for model in apps.get_models():
        if not model.__module__.startswith("xianfeng."):
            continue
        for f in model._meta.get_fields():
            for value, label in getattr(f, "flatchoices", None) or []:
                if isinstance(value, str) and value and str(label) != value and re.fullmatch(r"[a-z][a-z0-9_.]*[a-z0-9]", value):
                    keys.add(value)
    from xianfeng.notify.models import Notification

    keys.update(Notification.objects.values_list("kind", flat=True).distinct())
    # Ordinary words that happen to be choice values too: kept out so the check does not cry wolf.
    keys -= {p for p in PERSONAS if p} | {"email", "sms"}
    return {k for k in keys if "." in k or "_" in k or len(k) >= 5}


@dataclass
class Crawl:
    persona: str | None
    client: Client
    keys: set[str]
    timings: list[tuple[float, float, str]] = field(default_factory=list)  # (CPU ms, wall ms, url)
    downloads: list[tuple[float, float, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    broken: list[str] = field(default_factory=list)

    @property
    def who(self) -> str:
        return self.persona or "anonymous"

    def run(self) -> None:
        queue = list(START)
        seen: set[str] = set(queue)
        self.found_on: dict[str, str] = {}
        per_pattern: Counter = Counter()
        while queue:
            url = queue.pop(0)
            path = urlsplit(url).path
            try:
                match = resolve(path)
            except Resolver404:
                self.broken.append(url)
                continue
            if match.view_name in SKIP_NAMES:
                continue
            pattern = match.route or match.view_name
            if per_pattern[pattern] >= PER_PATTERN:
                continue
            per_pattern[pattern] += 1
            if path.endswith(DOWNLOAD_SUFFIXES) and pattern in DOWNLOADED:
                continue
            for link in self.fetch(url, pattern):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
                    self.found_on[link] = url

    def fetch(self, url: str, pattern: str) -> list[str]:
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            response = self.client.get(url)
        except Exception as exc:  # the test client re-raises a view's exception
            self.failures.append(f"{self.who} {url}: 500 {traceback.format_exception_only(exc)[-1].strip()}")
            return []
        elapsed = (time.process_time() - cpu_started) * 1000, (time.perf_counter() - started) * 1000
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.failures.append(f"{self.who} {url}: {response.status_code}")
            return []
        if response.status_code in (301, 302, 303, 307, 308):
            return self.same_site([response["Location"]], url)
        if response.status_code != 200:
            self.refused.append(f"{response.status_code} {url} (linked from {self.found_on.get(url, '?')})")
            return []
        content_type = response.get("Content-Type", "").split(";")[0].strip()
        disposition = response.get("Content-Disposition", "")
        if "attachment" in disposition or content_type not in HTML_TYPES:
            self.check_download(url, response, content_type, disposition)
            DOWNLOADED.add(pattern)
            self.downloads.append(((time.process_time() - cpu_started) * 1000, (time.perf_counter() - started) * 1000,
                                   url))
            return []
        self.timings.append((*elapsed, url))
        body = response.content.decode()
        if response.get("Content-Language", "zh-hans") != "zh-hans":  # nobody asked for another language
            self.failures.append(f"{self.who} {url}: answered in {response['Content-Language']}")
        if INVALID in body:
            names = sorted(set(re.findall(re.escape(INVALID) + r"\[([^\]]*)\]", body)))
            self.failures.append(f"{self.who} {url}: template variables did not resolve: {', '.join(names)}")
        page = Page()
        page.feed(body)
        text = " ".join(page.text)
        raw = sorted(self.raw_keys(page.text))
        if raw:
            where = re.search(r".{0,30}\b" + re.escape(raw[0]) + r"\b.{0,30}", text, re.S)
            self.failures.append(f"{self.who} {url}: untranslated keys shown: {', '.join(raw)} "
                                 f"(…{where.group(0).strip() if where else ''}…)")
        return self.same_site(page.links, url)

    def raw_keys(self, chunks: list[str]) -> set[str]:
        """Choice keys in the visible text. A dotted key (`grids.closed`) counts anywhere; a plain one (`wilson`,
        `closed`) only where it stands among non-Latin text, not inside an English sentence (an untranslated message
        is a different fault, and its words are ordinary English)."""
        found = set()
        for chunk in chunks:
            words = re.findall(r"(?<![\w./@-])[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?(?![\w/@-]|\.\w)", chunk)
            latin = re.findall(r"[A-Za-z]{2,}", chunk)
            for word in set(words) & self.keys:
                if "." in word or len(latin) <= 2:
                    found.add(word)
        return found

    def check_download(self, url, response, content_type, disposition) -> None:
        content = b"".join(response.streaming_content) if response.streaming else response.content
        filename = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)', disposition)
        expected = mimetypes.guess_type(filename.group(1))[0] if filename else None
        if not content:
            self.failures.append(f"{self.who} {url}: empty download ({content_type})")
        elif not content_type:
            self.failures.append(f"{self.who} {url}: download without a content type")
        elif expected and expected != content_type and not (expected.startswith("text/") and content_type.startswith("text/")):
            self.failures.append(f"{self.who} {url}: download {filename.group(1)} sent as {content_type}")

    def same_site(self, links: list[str], base: str) -> list[str]:
        found = []
        for link in links:
            link = urldefrag(urljoin(base, html.unescape(link.strip())))[0]
            parts = urlsplit(link)
            if parts.scheme not in ("", "http", "https") or parts.netloc not in SITE_HOSTS:
                continue
            if parts.path.startswith(SKIP_PREFIXES) or not parts.path.startswith("/"):
                continue
            found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return found


@pytest.fixture
def strict_templates(settings):
    templates = [dict(t, OPTIONS=dict(t.get("OPTIONS", {}))) for t in settings.TEMPLATES]
    for t in templates:
        t["OPTIONS"]["string_if_invalid"] = INVALID + "[%s]"
    settings.TEMPLATES = templates


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p or "anonymous")
def test_every_linked_page_renders_for(persona, demo_county, strict_templates, crawl_report):
    from xianfeng.orgs.models import User

    client = Client(raise_request_exception=True)
    if persona:
        client.force_login(User.objects.get(username=persona))
    crawl = Crawl(persona, client, raw_choice_keys())
    started = time.perf_counter()
    crawl.run()
    total = time.perf_counter() - started
    slowest = sorted(crawl.timings, reverse=True)[:10]
    over = [url for cpu, _, url in crawl.timings if cpu > SLOW_MS]
    lines = [f"{crawl.who}: {len(crawl.timings)} pages and {len(crawl.downloads)} downloads in {total:.1f} s, "
             f"statuses {dict(sorted(crawl.statuses.items()))}, {len(over)} pages over {SLOW_MS} ms of CPU; "
             f"slowest pages (CPU / wall):"]
    lines += [f"    {cpu:6.0f} / {wall:6.0f} ms  {url}" for cpu, wall, url in slowest]
    lines += [f"    download {cpu:6.0f} / {wall:6.0f} ms  {url}" for cpu, wall, url in sorted(crawl.downloads, reverse=True)]
    if crawl.refused:
        lines.append(f"    answered 4xx (a link this persona is shown but may not open): {', '.join(crawl.refused)}")
    if crawl.broken:
        lines.append(f"    links to no page: {', '.join(sorted(set(crawl.broken))[:10])}")
    crawl_report.extend(lines)
    print("\n".join(lines))
    assert not crawl.failures, "\n".join(crawl.failures)
    assert not crawl.broken, f"links to no page: {sorted(set(crawl.broken))}"
