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


# -- 3. the front doors always name the actor -------------------------------------------------------------------------
# Services take the acting user as `actor=`; None means the system (jobs, commands, the demo), for which some
# services skip the policy. A page or an API call that forgot `actor=` would act as the system, so every call from a
# front door to a service with an `actor` parameter must pass it — directly, or through page_call/api_call.


def _actor_services() -> dict[str, set[str]]:
    """{services module name: names of its functions that take `actor`}, for every app's services module/package."""
    import inspect
    import pkgutil

    found: dict[str, set[str]] = {}
    for cfg in apps.get_app_configs():
        if not cfg.name.startswith("xianfeng.") or importlib.util.find_spec(f"{cfg.name}.services") is None:
            continue
        module = importlib.import_module(f"{cfg.name}.services")
        modules = [module]
        if hasattr(module, "__path__"):
            modules += [importlib.import_module(f"{module.__name__}.{m.name}")
                        for m in pkgutil.iter_modules(module.__path__)]
        for mod in modules:
            names = {name for name, fn in vars(mod).items()
                     if inspect.isfunction(fn) and "actor" in inspect.signature(fn).parameters}
            found[mod.__name__] = names
    return found


def _service_names(tree: ast.AST, path: Path, services: dict[str, set[str]]) -> tuple[set[str], set[str]]:
    """(module aliases bound to a services module, function names imported from one) in a view module."""
    package = "xianfeng." + ".".join(path.relative_to(PACKAGE).parts[:-1])
    aliases: set[str] = set()
    functions: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = node.module or ""
        if node.level:
            parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            base = f"{parent}.{base}" if base else parent
        for alias in node.names:
            full = f"{base}.{alias.name}"
            if full in services:
                aliases.add(alias.asname or alias.name)
            elif base in services and alias.name in services[base]:
                functions.add(alias.asname or alias.name)
    return aliases, functions


def actor_offences_of_text(text: str, path: Path, services: dict[str, set[str]]) -> list[str]:
    tree = ast.parse(text, filename=str(path))
    aliases, functions = _service_names(tree, path, services)
    takes_actor = set().union(*services.values()) if services else set()
    rel = path.relative_to(ROOT)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target, keywords = node.func, node.keywords
        if isinstance(target, ast.Name) and target.id in ("page_call", "api_call"):
            index = 1 if target.id == "page_call" else 0
            if len(node.args) <= index:
                continue
            target = node.args[index]
        name = None
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in aliases:
            name = target.attr if target.attr in takes_actor else None
        elif isinstance(target, ast.Name) and target.id in functions:
            name = target.id
        if name and not any(k.arg == "actor" or k.arg is None for k in keywords):
            found.append(f"{rel}:{node.lineno}: calls {name} without actor=")
    return found


def test_the_actor_rule_catches_a_forgotten_actor():
    services = {"xianfeng.sample.services": {"thing_create"}}
    text = ("from . import services\nfrom .services import thing_create\nfrom xianfeng.core.frontdoor import page_call\n"
            "def v(request):\n    services.thing_create(name='x')\n    thing_create(name='y', actor=request.user)\n"
            "    page_call(request, services.thing_create, name='z')\n")
    lines = actor_offences_of_text(text, PACKAGE / "sample" / "views.py", services)
    assert [line.split(":", 2)[1] for line in lines] == ["5", "7"]


def test_front_doors_always_name_the_actor():
    services = _actor_services()
    found = [line for path in view_modules()
             for line in actor_offences_of_text(path.read_text(encoding="utf-8"), path, services)]
    if found:
        pytest.fail(f"{len(found)} service calls from pages or the API without actor= (they would act as the "
                    "system):\n" + "\n".join(found), pytrace=False)
