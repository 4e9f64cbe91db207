"""Stored text never runs as script, and the Content-Security-Policy holds on every page.

An organisation renamed through the API and a person both carry an <img onerror> payload. On the contact-point map
and the cockpit (tooltips opened) the payload shows as text; no dialog opens; and walking the main pages as the county
admin, a secretary, a member, a resident and an anonymous visitor reports no CSP violation and no script error.
"""

import datetime as dt
import json
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xianfeng.core.testing import make_person
from xianfeng.orgs import services as org_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORG_XSS = "星桥村<img src=x onerror=alert(1)>"
PERSON_XSS = "张三<img src=x onerror=alert(2)>"

# Runs in every document before the page's own scripts: records what the policy blocked.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
                              (e.sourceFile || location.pathname) + ":" + e.lineNumber);
});
"""

SKIP_PREFIXES = ("/accounts/logout", "/i18n/", "/static/", "/media/")
SKIP_SUFFIXES = (".xlsx", ".pdf", ".ics", ".docx", ".csv", ".zip", ".json", ".xml", ".png", ".svg")


class Watch:
    """Dialogs, CSP violations (event and console) and uncaught errors of one page, across navigations."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: script error {error}"))

    def _dialog(self, dialog):
        self.dialogs.append(f"{self.page.url}: {dialog.type} {dialog.message}")
        dialog.dismiss()

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"{self.page.url}: {text}")

    def collect(self) -> None:
        """Read the violations the current document recorded (call before leaving it)."""
        try:
            found = self.page.evaluate("window.__cspViolations || []")
        except Exception:  # the page navigated meanwhile; its console messages were still caught
            found = []
        self.problems.extend(f"{self.page.url}: {v}" for v in found)


def _dress_the_county(world) -> dict:
    """The town admin renames 河滨社区 through the API; a contact point has a leader with a marked-up name."""
    client = Client()
    client.force_login(world.wuyuan_admin)
    response = client.patch(f"/api/v1/orgs/{world.hebin.pk}/", data=json.dumps({"name": ORG_XSS}),
                            content_type="application/json")
    assert response.status_code == 200, response.content
    world.hebin.refresh_from_db()  # the API changed the row
    org_services.org_update(org=world.wuyuan, latitude=30.51, longitude=120.94)
    org_services.org_update(org=world.hebin, latitude=30.52, longitude=120.95)
    org_services.contact_point_create(leader=make_person(PERSON_XSS), org=world.hebin, kind="village",
                                      start=timezone.localdate() - dt.timedelta(days=5))
    world.county_admin.is_staff = world.county_admin.is_superuser = True
    world.county_admin.save(update_fields=["is_staff", "is_superuser"])
    return {"wuyuan": world.wuyuan.pk}


def _no_payload_element(page) -> None:
    assert page.evaluate("document.querySelectorAll('img[src=x], img[src$=\"/x\"]').length") == 0


def _tooltip_html(page) -> str:
    """The text of every ECharts tooltip box currently in the page (ECharts puts them in the chart's container)."""
    return page.evaluate("""Array.from(document.querySelectorAll('div'))
        .filter(function (d) { return d.style.pointerEvents === 'none' && d.style.position === 'absolute' && d.innerHTML; })
        .map(function (d) { return d.innerHTML; }).join('\\n')""")


def test_marked_up_names_show_as_text_on_the_contact_map_and_the_cockpit(world, live_server, open_page, sign_in):
    ids = _dress_the_county(world)
    page = open_page("desktop")
    watch = Watch(page)
    sign_in(page, "county_admin")

    page.goto(live_server.url + reverse("campaigns:contact_map"))
    page.wait_for_selector("#cp-map canvas")
    assert ORG_XSS in page.inner_text("[data-testid=contact-points]")
    assert PERSON_XSS in page.inner_text("[data-testid=contact-points]")
    page.evaluate("echarts.getInstanceByDom(document.getElementById('cp-map'))"
                  ".dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0})")
    page.wait_for_function("document.querySelector('#cp-map').innerText.indexOf('星桥村') >= 0")
    tip = page.inner_text("#cp-map")
    assert ORG_XSS in tip and PERSON_XSS in tip  # shown as the text it is
    assert "&lt;img" in _tooltip_html(page)
    _no_payload_element(page)
    watch.collect()

    page.goto(live_server.url + reverse("cockpit:org", args=[ids["wuyuan"]]))
    page.wait_for_selector("#cockpit-dist canvas")
    assert ORG_XSS in page.inner_text("[data-testid=children-table]")
    index = page.evaluate("window.XF.data('cockpit-data').children.map(function (c) { return c.name; })").index(ORG_XSS)
    page.evaluate(f"echarts.getInstanceByDom(document.getElementById('cockpit-dist'))"
                  f".dispatchAction({{type: 'showTip', seriesIndex: 0, dataIndex: {index}}})")
    page.wait_for_function("document.querySelector('#cockpit-dist').innerText.indexOf('星桥村') >= 0")
    assert ORG_XSS in page.inner_text("#cockpit-dist")
    _no_payload_element(page)
    # the funnel plot arrives with the rates panel; its tooltip formatter is given a unit with the payload name
    page.wait_for_selector("#cockpit-funnel canvas")
    tip = page.evaluate("""echarts.getInstanceByDom(document.getElementById('cockpit-funnel')).getOption().tooltip[0]
        .formatter({data: {name: %s, x: 3, n: 4}})""" % json.dumps(ORG_XSS))
    assert tip == "星桥村&lt;img src=x onerror=alert(1)&gt;: 3/4"
    _no_payload_element(page)
    watch.collect()

    assert watch.dialogs == []
    assert watch.problems == []


def _walk(page, watch, base: str, start: list[str]) -> list[str]:
    """Open each start page and every menu link found on the home page; returns the paths opened."""
    seen: list[str] = []
    page.goto(base + reverse("home"))
    links = page.eval_on_selector_all("nav a[href]", "els => els.map(e => e.getAttribute('href'))")
    for href in [*start, *links]:
        path = urlsplit(href).path
        if (not path.startswith("/") or href.startswith("//") or path in seen or path.startswith(SKIP_PREFIXES)
                or path.endswith(SKIP_SUFFIXES)):
            continue
        seen.append(path)
        page.goto(base + href)
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)  # htmx `load` triggers and chart scripts run
        watch.collect()
    return seen


@pytest.mark.parametrize("persona", ["county_admin", "hebin_secretary", "member_demo", "resident_demo", None])
def test_main_pages_report_no_csp_violation(world, live_server, open_page, sign_in, persona):
    ids = _dress_the_county(world)
    page = open_page("desktop")
    watch = Watch(page)
    start = ["/p/", reverse("login")]
    if persona:
        sign_in(page, persona)
        start = [reverse("home"), reverse("campaigns:contact_map"), reverse("cockpit:org", args=[ids["wuyuan"]]),
                 "/p/", "/api/v1/orgs/", reverse("api-docs")]
        if persona == "county_admin":
            start += ["/admin/", "/admin/orgs/organisation/", "/admin/orgs/organisation/add/"]
    seen = _walk(page, watch, live_server.url, start)
    assert len(seen) >= 3, seen
    assert watch.dialogs == []
    assert watch.problems == [], "\n".join(watch.problems)
