"""Stored text never runs as script, and the Content-Security-Policy holds on every page.

An organisation renamed through the API and a person both carry an <img onerror> payload. On the contact-point map
and the cockpit (tooltips opened) the payload shows as text; no dialog opens; and walking the main pages as the county
admin, a secretary, a member, a resident and an anonymous visitor reports no CSP violation and no script error. The
data-attribute hooks of static/xianfeng.js that replace inline event handlers work under the policy.
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

    def __init__(self, page, *, dismiss_dialogs: bool = True):
        self.page = page
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        if dismiss_dialogs:
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
    page.wait_for_function("() => document.querySelector('#cp-map').innerText.indexOf('星桥村') >= 0")
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
    page.wait_for_function("() => document.querySelector('#cockpit-dist').innerText.indexOf('星桥村') >= 0")
    assert ORG_XSS in page.inner_text("#cockpit-dist")
    _no_payload_element(page)
    # the funnel plot arrives with the rates panel; its tooltip formatter is given a unit with the payload name
    page.wait_for_selector("#cockpit-funnel canvas")
    tip = page.evaluate("""name => echarts.getInstanceByDom(document.getElementById('cockpit-funnel')).getOption()
        .tooltip[0].formatter({data: {name: name, x: 3, n: 4}})""", ORG_XSS)
    assert tip == "星桥村&lt;img src=x onerror=alert(1)&gt;: 3/4"
    _no_payload_element(page)
    watch.collect()

    assert watch.dialogs == []
    assert watch.problems == []


def _walk(page, watch, base: str, start: list[str], harvest: tuple[str, str]) -> list[str]:
    """Open each start page and every link that `harvest` (a page, a selector) finds; returns the paths opened."""
    seen: list[str] = []
    page.goto(base + harvest[0])
    links = page.eval_on_selector_all(harvest[1], "els => els.map(e => e.getAttribute('href'))")
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
    start, harvest = [reverse("login")], ("/p/", "main a[href]")  # the public: the portal and what it links to
    if persona:
        harvest = (reverse("home"), "nav a[href]")  # signed in: every menu entry
        sign_in(page, persona)
        start = [reverse("home"), reverse("campaigns:contact_map"), reverse("cockpit:org", args=[ids["wuyuan"]]),
                 "/p/", "/api/v1/orgs/", reverse("api-docs")]
        if persona == "county_admin":
            start += ["/admin/", "/admin/orgs/organisation/", "/admin/orgs/organisation/add/"]
    seen = _walk(page, watch, live_server.url, start, harvest)
    print(f"{persona or 'anonymous'}: {len(seen)} pages walked")
    assert len(seen) >= 3, seen
    assert watch.dialogs == []
    assert watch.problems == [], "\n".join(watch.problems)

HOOKS = """
<form id="f1" method="get" action="/p/" data-confirm="Sure?"><button id="b1">go</button></form>
<form id="f2" method="get" action="/p/"><select id="s2" name="x" data-xf-autosubmit><option value="1">1</option>
  <option value="2">2</option></select></form>
<form id="f3"><button type="button" id="t3" data-xf-toggle="xf-on" aria-expanded="false"><i id="t3i">t</i></button></form>
<input id="i4" value="abc" readonly data-xf-select>
<input type="hidden" id="total" value="0"><div id="into"></div>
<template id="tpl"><p class="n-__n__" data-prefix="__prefix__">x</p></template>
<button type="button" id="add" data-xf-formset-add="tpl" data-xf-total="total" data-xf-into="into" data-xf-max="2">add</button>
"""


def test_the_hooks_replace_inline_handlers(world, live_server, open_page, sign_in):
    page = open_page("desktop")
    watch = Watch(page, dismiss_dialogs=False)  # the test answers the confirmations itself
    sign_in(page, "hebin_secretary")
    home = page.url
    page.evaluate("html => document.querySelector('main').insertAdjacentHTML('beforeend', html)", HOOKS)

    page.click("#t3i")  # a click on the icon inside the button counts
    assert page.evaluate("document.getElementById('f3').classList.contains('xf-on')")
    assert page.get_attribute("#t3", "aria-expanded") == "true"
    page.click("#t3")
    assert page.get_attribute("#t3", "aria-expanded") == "false"

    page.click("#i4")
    assert page.evaluate("[document.getElementById('i4').selectionStart, document.getElementById('i4').selectionEnd]") == [0, 3]

    for _ in range(3):
        page.click("#add")
    assert page.eval_on_selector_all("#into p", "ps => ps.map(p => p.className + ':' + p.dataset.prefix)") == ["n-1:0", "n-2:1"]
    assert page.input_value("#total") == "2"

    page.once("dialog", lambda d: d.dismiss())
    page.click("#b1")
    page.wait_for_timeout(300)
    assert page.url == home  # refused: nothing submitted
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.click("#b1")
    assert page.url.endswith("/p/?")

    page.goto(home)
    page.evaluate("html => document.querySelector('main').insertAdjacentHTML('beforeend', html)", HOOKS)
    with page.expect_navigation():
        page.select_option("#s2", "2")
    assert page.url.endswith("/p/?x=2")
    watch.collect()
    assert watch.problems == []


def test_more_filters_opens_on_a_phone(world, live_server, open_page, sign_in):
    page = open_page("phone")
    watch = Watch(page)
    sign_in(page, "hebin_secretary")
    page.goto(live_server.url + reverse("orgs:member_list"))
    more = page.locator("#member-filter-more")
    assert not more.is_visible()
    page.click("[aria-controls=member-filter-more]")
    assert more.is_visible()
    assert page.get_attribute("[aria-controls=member-filter-more]", "aria-expanded") == "true"
    watch.collect()
    assert watch.problems == []
