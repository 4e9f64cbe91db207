"""Every kind of notification the code sends has a label, and the pages show the label, not the key."""

import ast
from pathlib import Path

from django.urls import reverse

from xianfeng.notify.kinds import LABELS, kind_label
from xianfeng.notify.services import notify

SOURCES = Path(__file__).resolve().parents[2]


def sent_kinds() -> set[str]:
    """The `kind="app.word"` literals passed to any call whose name mentions notify (notify, notify_bulk,
    _notify_org …), plus module constants named *_KIND that such calls pass."""
    kinds: set[str] = set()
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in SOURCES.rglob("*.py")
             if "tests" not in path.parts and "migrations" not in path.parts]
    # constants from every module: a package's shared module may define one that its siblings import
    constants = {t.id: node.value.value for tree in trees for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name) and t.id.endswith("_KIND")
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if "notify" not in name:
                continue
            for kw in node.keywords:
                if kw.arg != "kind":
                    continue
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    kinds.add(kw.value.value)
                elif isinstance(kw.value, ast.Name) and kw.value.id in constants:
                    kinds.add(constants[kw.value.id])
    return kinds


def test_every_kind_the_code_sends_has_a_label():
    kinds = sent_kinds()
    assert "grids.closed" in kinds and "care.alert" in kinds  # the scan finds what it should
    assert sorted(kinds - set(LABELS)) == []


def test_unknown_kinds_show_as_they_are_and_star_means_every_kind():
    assert kind_label("grids.closed") == "诉求已办结"
    assert kind_label("x.unknown") == "x.unknown"
    assert kind_label("*") == "全部类型"


def test_inbox_and_notification_show_the_kind_by_its_label(world, client_for):
    n = notify(to=world.users["member"], kind="events.team_invitation", subject="邀请加入志愿服务队", link="/events/",
               key="test:kinds")
    client = client_for("member")
    for url in (reverse("notify:inbox"), reverse("notify:detail", args=[n.pk])):
        html = client.get(url).content.decode()
        assert "志愿服务队邀请" in html and "events.team_invitation" not in html
