"""Walk a running Xianfeng (the demo county) in Debian's chromium as every demo login and as an anonymous visitor,
and list every Content-Security-Policy violation, dialog, script error and 5xx answer met on the way.

    .venv/bin/python scripts/csp_walk.py [--base http://127.0.0.1:8000] [--deep] [username …]

Each login opens its menu entries (the anonymous visitor: the portal's links) and a few fixed pages (contact map,
cockpit, portal, browsable API, Swagger UI, admin); --deep also opens up to six links found on each menu page.
Exit status 1 when anything was found. The suite's own check is tests/browser/test_no_script_from_text.py; this is
the same watch over the demo county's real data.
"""

import argparse
import sys
import time
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
RECORD = """window.__v = []; document.addEventListener("securitypolicyviolation", function (e) {
  window.__v.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + (e.sourceFile || "") + ":" +
                  e.lineNumber); });"""
SKIP_PREFIXES = ("/accounts/logout", "/i18n/", "/static/", "/media/")
SKIP_SUFFIXES = (".xlsx", ".pdf", ".ics", ".docx", ".csv", ".zip", ".json", ".xml")
LOGINS = ["county_admin", "wuyuan_admin", "hebin_secretary", "qinshan_secretary", "member_demo", "resident_demo",
          "inspector_demo", "hebin_grid", "hebin_duty", ""]
FIXED = ["/", "/campaigns/contact-map/", "/cockpit/1/", "/p/", "/api/v1/orgs/", "/api/docs/", "/admin/"]


def walkable(href: str, seen: set[str]) -> bool:
    path = urlsplit(href).path
    return (path.startswith("/") and not href.startswith("//") and path not in seen
            and not path.startswith(SKIP_PREFIXES) and not path.endswith(SKIP_SUFFIXES))


def walk(browser, base: str, user: str, deep: bool, problems: list[str]) -> int:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.add_init_script(RECORD)
    page.on("dialog", lambda d: (problems.append(f"{page.url} dialog {d.message}"), d.dismiss()))
    page.on("console", lambda m: problems.append(f"{page.url} {m.text}")
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url} script error {e}"))
    links_of = "els => els.map(e => e.getAttribute('href'))"
    if user:
        page.goto(base + "/accounts/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", "demo12345")
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        page.goto(base + "/")
        menu = page.eval_on_selector_all("nav a[href]", links_of)
        queue = FIXED + menu
    else:
        page.goto(base + "/p/")
        menu = page.eval_on_selector_all("main a[href]", links_of)
        queue = ["/accounts/login/", "/p/"] + menu
    seen: set[str] = set()
    i = 0
    while i < len(queue):
        href = queue[i]
        i += 1
        if not walkable(href, seen):
            continue
        seen.add(urlsplit(href).path)
        try:
            response = page.goto(base + href, wait_until="load")
            page.wait_for_timeout(400)  # htmx `load` triggers and chart scripts
            if response and response.status >= 500:
                problems.append(f"{href} answered {response.status} to {user or 'anonymous'}")
            problems.extend(f"{page.url} {v}" for v in page.evaluate("window.__v || []"))
            if deep and href in menu:
                found = [m for m in page.eval_on_selector_all("main a[href]", links_of)
                         if walkable(m, seen) and "/export" not in m and m not in queue]
                queue += found[:6]
        except Exception as error:  # a page that does not load is a finding too
            problems.append(f"{href} as {user or 'anonymous'}: {type(error).__name__} {str(error)[:160]}")
    context.close()
    return len(seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--deep", action="store_true")
    parser.add_argument("users", nargs="*", help="demo usernames; '' for anonymous (default: every demo login)")
    args = parser.parse_args()
    problems: list[str] = []
    total = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for user in args.users or LOGINS:
            started = time.monotonic()
            n = walk(browser, args.base.rstrip("/"), user, args.deep, problems)
            total += n
            print(f"{user or 'anonymous'}: {n} pages in {time.monotonic() - started:.0f} s", flush=True)
        browser.close()
    print(f"{total} pages, {len(problems)} problems")
    for problem in problems:
        print("  " + problem[:400])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
