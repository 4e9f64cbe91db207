"""Pages outside any module through HTTP: sign-in, home, navigation, the language switch, the translations."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from xianfeng.core.models import AuditEvent
from xianfeng.core.testing import PASSWORD

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_anonymous_home_goes_to_sign_in(db):
    response = Client().get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_page_is_chinese_by_default(db):
    html = Client().get(reverse("login")).content.decode()
    assert "登录" in html and "用户名" in html and "密码" in html
    assert "Sign in" not in html
    assert '<html lang="zh-hans">' in html


def test_a_browser_asking_for_chinese_gets_chinese(db):
    html = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").get(reverse("login")).content.decode()
    assert "用户名" in html


def test_sign_in_with_the_form_lands_on_home(world):
    client = Client()
    response = client.post(reverse("login"), {"username": "hebin_secretary", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    html = response.content.decode()
    assert "欢迎，hebin_secretary" in html
    assert "书记" in html and "海盐县/武原镇/河滨社区" in html


def test_repeated_failures_lock_the_sign_in(world, settings):
    settings.LOGIN_MAX_FAILURES = 3
    client = Client()
    for _ in range(3):
        assert client.post(reverse("login"), {"username": "hebin_secretary", "password": "wrong"}).status_code == 200
    response = client.post(reverse("login"), {"username": "hebin_secretary", "password": PASSWORD})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert AuditEvent.objects.filter(action="login_failed").count() == 3


def test_home_links_only_organisations_in_view_scope(world, client_for):
    html = client_for("member").get(reverse("home")).content.decode()
    assert "河滨社区党支部" in html
    assert reverse("orgs:org_detail", args=[world.hebin_branch.pk]) not in html
    html = client_for("hebin_secretary").get(reverse("home")).content.decode()
    assert reverse("orgs:org_detail", args=[world.hebin.pk]) in html


def test_navigation_offers_organisation_pages_only_to_those_with_a_view_scope(world, client_for):
    secretary = client_for("hebin_secretary").get(reverse("home")).context["nav_items"]
    assert [str(item["label"]) for item in secretary][:5] == ["首页", "组织", "党员", "联系点", "指导组"]
    resident = client_for("resident").get(reverse("home")).context["nav_items"]
    urls = [item["url"] for item in resident]
    assert urls[0] == reverse("home")
    assert not [u for u in urls if u.startswith("/orgs/")]


def test_navigation_marks_the_most_specific_entry_active(world, client_for):
    items = client_for("hebin_secretary").get(reverse("orgs:member_list")).context["nav_items"]
    assert [item["url"] for item in items if item["active"]] == [reverse("orgs:member_list")]
    items = client_for("hebin_secretary").get(reverse("home")).context["nav_items"]
    assert [item["url"] for item in items if item["active"]] == [reverse("home")]


def test_english_switch_in_the_footer_works_and_sticks(world, client_for):
    client = client_for("hebin_secretary")
    page = reverse("orgs:member_list")
    html = client.get(page).content.decode()
    assert "姓名或拼音首字母" in html and "Name or pinyin initials" not in html
    assert 'name="language" value="en"' in html
    response = client.post(reverse("set_language"), {"language": "en", "next": page})
    assert response.status_code == 302 and response["Location"] == page
    html = client.get(page).content.decode()
    assert '<html lang="en">' in html
    assert "Members" in html and "Name or pinyin initials" in html and "Sign out" in html
    assert "姓名或拼音首字母" not in html
    client.post(reverse("set_language"), {"language": "zh-hans", "next": page})
    html = client.get(page).content.decode()
    assert "姓名或拼音首字母" in html and "Name or pinyin initials" not in html


def test_healthz(db):
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200 and response.content == b"ok"


# --- the catalogue -------------------------------------------------------------------------------------------------


def _po_entries(text: str):
    for block in text.split("\n\n"):
        msgid = "".join(re.findall(r'"(.*)"', (re.search(r'^msgid ((?:".*"\n?)+)', block, re.M) or ["", ""])[1]))
        strs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', block, re.M)
        yield block, msgid, ["".join(re.findall(r'"(.*)"', s)) for s in strs]


def catalogues() -> list[Path]:
    """The project's zh_Hans catalogue and each app's own (xianfeng/<app>/locale/zh_Hans/LC_MESSAGES)."""
    found = [LOCALE / "django.po"]
    found += sorted(Path(settings.BASE_DIR).glob("*/locale/zh_Hans/LC_MESSAGES/django.po"))
    return [p for p in found if p.exists()]


@pytest.mark.parametrize("po", catalogues(), ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_every_message_has_a_chinese_translation(po):
    text = po.read_text(encoding="utf-8")
    untranslated = [msgid for block, msgid, strs in _po_entries(text)
                    if msgid and (not all(strs) or "#, fuzzy" in block)]
    assert not untranslated


def test_every_template_string_is_in_a_catalogue():
    known = {msgid for po in catalogues() for _, msgid, _ in _po_entries(po.read_text(encoding="utf-8"))}
    pattern = re.compile(r"""{%\s*translate\s+(["'])(.+?)\1""")
    missing = []
    for template in Path(settings.BASE_DIR).rglob("templates/**/*.html"):
        for _, msgid in pattern.findall(template.read_text(encoding="utf-8")):
            if msgid.replace('"', '\\"') not in known:
                missing.append(f"{template.relative_to(settings.BASE_DIR)}: {msgid}")
    assert not missing, "run `make messages` and translate:\n" + "\n".join(missing)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
@pytest.mark.parametrize("po", catalogues(), ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_compiled_catalogue_matches_the_po(tmp_path, po):
    out = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(out), str(po)], check=True)
    assert out.read_bytes() == po.with_suffix(".mo").read_bytes(), "run `make messages` to recompile django.mo"
