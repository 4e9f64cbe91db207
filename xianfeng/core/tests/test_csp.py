"""The Content-Security-Policy and what it relies on: every kind of page sends it; no template holds inline script,
an inline event handler or anything htmx would eval; stored names reach the page escaped; the CSRF cookie is out of
script's reach; HSTS comes with SECURE_COOKIES=1."""

import datetime as dt
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from xianfeng.core.testing import make_person
from xianfeng.orgs import services as org_services

ORG_XSS = "星桥村<img src=x onerror=alert(1)>"
PERSON_XSS = "张三<img src=x onerror=alert(2)>"
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


def assert_strict(response) -> None:
    p = policy(response)
    assert p["script-src"] == ["'self'"], p["script-src"]
    assert p["default-src"] == ["'self'"]
    assert p["object-src"] == ["'none'"] and p["frame-ancestors"] == ["'none'"] and p["base-uri"] == ["'self'"]
    assert not any("unsafe" in source for d, sources in p.items() if d != "style-src" for source in sources)


def test_every_kind_of_page_sends_the_policy(world, client_for):
    admin = client_for("county_admin")
    anonymous = Client()
    pages = [
        (anonymous, reverse("login"), 200),                       # an HTML page (base layout, anonymous)
        (admin, reverse("home"), 200),                            # an HTML page signed in
        (anonymous, "/p/", 200),                                  # the portal's light page
        (anonymous, "/admin/login/", 200),                        # the admin
        (admin, "/api/v1/orgs/", 200),                            # the browsable API
        (admin, reverse("api-docs"), 200),                        # Swagger UI
        (admin, reverse("cockpit:rates", args=[world.county.pk]), 200),  # an htmx partial
        (anonymous, "/no-such-page/", 404),                       # an error page
    ]
    for client, url, status in pages:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == status, url
        assert_strict(response)


def test_swagger_ui_loads_its_set_up_script_as_a_file(world, client_for):
    client = client_for("county_admin")
    html = client.get(reverse("api-docs")).content.decode()
    assert "<script>" not in html
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', html).group(1).replace("&amp;", "&")
    response = client.get(script)
    assert response.status_code == 200 and "SwaggerUIBundle" in response.content.decode()


class InlineScriptFinder(HTMLParser):
    """Collects inline scripts, event-handler attributes, javascript: URLs and htmx attributes that evaluate code."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        line = self.getpos()[0]
        if tag == "script" and "src" not in names and "nonce" not in names \
                and (names.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            self.found.append(f"line {line}: <script> without src")
        for name, value in attrs:
            value = value or ""
            if re.fullmatch(r"on[a-z]+", name):
                self.found.append(f"line {line}: {name}= handler")
            if re.match(r"(data-)?hx-on", name):
                self.found.append(f"line {line}: {name} (htmx evaluates it)")
            if name in ("hx-vals", "hx-vars", "data-hx-vals") and value.strip().startswith("js:") or name == "hx-vars":
                self.found.append(f"line {line}: {name} evaluates script")
            if re.sub(r"^data-", "", name) == "hx-trigger" and re.search(r"(?:^|[\s,])[a-zA-Z][\w.-]*\[", value):
                self.found.append(f"line {line}: hx-trigger event filter (htmx would eval it)")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                self.found.append(f"line {line}: javascript: URL")


def project_templates() -> list[Path]:
    root = Path(settings.BASE_DIR)
    return sorted(p for p in root.rglob("templates/**/*.html") if ".venv" not in p.parts)


def test_no_template_holds_inline_script_or_handlers():
    templates = project_templates()
    assert len(templates) > 100
    problems = []
    for path in templates:
        finder = InlineScriptFinder()
        finder.feed(path.read_text(encoding="utf-8"))
        problems += [f"{path.relative_to(settings.BASE_DIR)} {p}" for p in finder.found]
    # the Content-Security-Policy blocks these: use a static file and the data-xf-* hooks of static/xianfeng.js
    # (docs/SECURITY.md, "Rendering and Content-Security-Policy")
    assert problems == [], "\n".join(problems)


def test_the_template_check_catches_what_it_looks_for():
    finder = InlineScriptFinder()
    finder.feed('<script>alert(1)</script><script src="/static/a.js"></script><script type="application/json">{}</script>'
                '<button onclick="go()">x</button><a href="javascript:go()">y</a><div hx-on:click="go()"></div>'
                '<div hx-vals=\'js:{a: go()}\'></div><input {% if on_time %}checked{% endif %}>'
                '<div hx-trigger="click[ctrlKey]"></div><div hx-trigger="change from:[name=latitude], every 2s"></div>')
    assert len(finder.found) == 6, finder.found


@pytest.fixture
def dressed(world, client_for):
    """The town admin renames 河滨社区 to a name carrying markup (through the API); a leader's name carries it too."""
    response = client_for("wuyuan_admin").patch(f"/api/v1/orgs/{world.hebin.pk}/", data=json.dumps({"name": ORG_XSS}),
                                                content_type="application/json")
    assert response.status_code == 200
    world.hebin.refresh_from_db()  # the API changed the row
    org_services.org_update(org=world.hebin, latitude=30.52, longitude=120.95)
    org_services.contact_point_create(leader=make_person(PERSON_XSS), org=world.hebin, kind="village",
                                      start=timezone.localdate() - dt.timedelta(days=5))
    return world


@pytest.mark.parametrize("page", ["contact_map", "cockpit"])
def test_marked_up_names_reach_the_page_only_escaped(dressed, client_for, page):
    url = reverse("campaigns:contact_map") if page == "contact_map" else reverse("cockpit:org", args=[dressed.wuyuan.pk])
    response = client_for("county_admin").get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<img src=x" not in html
    assert escape(ORG_XSS) in html
    if page == "contact_map":
        assert escape(PERSON_XSS) in html
        assert "\\u003Cimg src=x onerror=alert(1)\\u003E" in html  # json_script's escaping for the chart data


def test_the_csrf_cookie_is_out_of_reach_of_script(db):
    response = Client().get(reverse("login"))
    assert response.cookies["csrftoken"]["httponly"] is True


def settings_under(env: dict[str, str], expression: str) -> object:
    """Evaluate `expression` over the settings module loaded with `env` added (settings read the environment once)."""
    code = ("import json, django; from django.conf import settings; django.setup(); "
            f"print(json.dumps({expression}))")
    run = subprocess.run([sys.executable, "-c", code], env={**os.environ, "DJANGO_SETTINGS_MODULE": "xianfeng.settings",
                                                            **env}, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_secure_cookies_turn_on_hsts_behind_the_proxy():
    on = settings_under({"SECURE_COOKIES": "1"},
                        "[settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER, settings.SESSION_COOKIE_SECURE]")
    assert on == [31536000, ["HTTP_X_FORWARDED_PROTO", "https"], True]
    off = settings_under({"SECURE_COOKIES": "0"}, "[settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER]")
    assert off == [0, None]


def test_hsts_is_sent_over_https(db, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_configured_tile_host_is_allowed_for_images():
    img = settings_under({"GRIDS_MAP_TILE_URL": "https://{s}.tile.example.cn/{z}/{x}/{y}.png"},
                         'settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]')
    assert img == ["'self'", "data:", "blob:", "https://*.tile.example.cn"]
    assert settings_under({"GRIDS_MAP_TILE_URL": ""}, 'settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]') \
        == ["'self'", "data:", "blob:"]
