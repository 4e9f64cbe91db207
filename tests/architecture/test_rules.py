"""Architecture rules read from the source (docs/ARCHITECTURE.md, issue 17: one policy per app).

1. Views and API modules ask the policy (`core.policy`): none of them names `can`, `scope_paths`, `Http404` or
   `get_object_or_404` — not a call, not an attribute, not an import. A view module is a file named `views*.py` or
   `api*.py`, or any module inside a `views/` or `api/` package, under `xianfeng/` (tests left out).
2. Every app that has models declares their policies in its `policies.py`.

A failure lists each offence as file:line.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "xianfeng"
FORBIDDEN = frozenset({"can", "scope_paths", "Http404", "get_object_or_404"})
# The API's exception handler (core/api.py) is where a 404 becomes the API's JSON answer: it must name Http404.
ALLOWED = {"core/api.py": frozenset({"Http404"})}


def is_view_module(path: Path) -> bool:
    rel = path.relative_to(PACKAGE)
    if "tests" in rel.parts or "migrations" in rel.parts:
        return False
    if any(part in ("views", "api") for part in rel.parts[:-1]):
        return True
    return path.stem.startswith(("views", "api"))


def view_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if is_view_module(p))


def offences(path: Path) -> list[str]:
    """Each use of a forbidden name in `path`, as "file:line: what"."""
    return offences_of_text(path.read_text(encoding="utf-8"), path)


def _called(name: ast.Name, tree: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name for n in ast.walk(tree))


def test_the_rule_finds_view_modules():
    modules = {str(p.relative_to(PACKAGE)) for p in view_modules()}
    assert "orgs/views.py" in modules and "orgs/api.py" in modules
    assert not any("/tests/" in m for m in modules)


def test_the_rule_catches_every_form():
    text = ("from django.http import Http404\nfrom django.shortcuts import get_object_or_404 as g\n"
            "from xianfeng.core import scoping\nfrom xianfeng.core.scoping import can\n"
            "def f(u, o):\n    scoping.scope_paths(u, 'view')\n    if not can(u, 'view', o):\n        raise Http404\n")
    lines = offences_of_text(text, PACKAGE / "sample" / "views.py")
    assert [line.split(": ", 1)[1] for line in lines] == [
        "imports Http404", "imports get_object_or_404", "imports can", "names .scope_paths", "calls can", "names Http404"]


def offences_of_text(text: str, path: Path) -> list[str]:
    tree = ast.parse(text, filename=str(path))
    rel = path.relative_to(ROOT)
    forbidden = FORBIDDEN - ALLOWED.get(str(path.relative_to(PACKAGE)), frozenset())
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            for alias in node.names:
                if alias.name.rsplit(".", 1)[-1] in forbidden:
                    found.append((node.lineno, f"imports {alias.name}"))
        elif isinstance(node, ast.Name) and node.id in forbidden:
            found.append((node.lineno, f"{'calls' if _called(node, tree) else 'names'} {node.id}"))
        elif isinstance(node, ast.Attribute) and node.attr in forbidden:
            found.append((node.lineno, f"names .{node.attr}"))
    return [f"{rel}:{line}: {what}" for line, what in sorted(set(found))]


def test_views_and_api_ask_the_policy():
    found = [line for path in view_modules() for line in offences(path)]
    if found:
        pytest.fail(f"{len(found)} uses of can/scope_paths/Http404/get_object_or_404 in view and API modules "
                    "(use core.policy: get_visible, get_or_404, require_any, allows, ensure):\n" + "\n".join(found),
                    pytrace=False)


def _apps_with_models() -> list:
    return [cfg for cfg in apps.get_app_configs()
            if cfg.name.startswith("xianfeng.") and any(not m._meta.abstract for m in cfg.get_models())]


@pytest.mark.parametrize("app", _apps_with_models(), ids=lambda cfg: cfg.label)
def test_every_app_with_models_has_policies(app):
    if importlib.util.find_spec(f"{app.name}.policies") is None:
        models = ", ".join(sorted(m.__name__ for m in app.get_models()))
        pytest.fail(f"{Path(app.path).relative_to(ROOT)}/policies.py is missing: the app has models ({models}) "
                    "and declares no policy for them", pytrace=False)
