"""The write-scope matrix: no persona changes anything of another scope, through any API operation or page.

Generated, so a new endpoint is covered without touching this file:
- API: every unsafe operation of the OpenAPI schema (drf-spectacular's endpoint enumerator and SchemaGenerator). An
  operation with `{pk}` is sent the ids of records of the viewset's model (found from its queryset) in another
  town; a plausible body is built from the operation's request schema, with every field that names a record
  (member, org, demand, …) holding an out-of-scope id. A create operation gets such a body.
- Pages: every URL pattern with an `<int:…>` parameter outside /api/ and /admin/, POSTed with out-of-scope ids (the
  model is read from the segment before the parameter, e.g. `records/<int:pk>/confirm/` → ServiceRecord) and the
  same kind of body; every pattern without a parameter (the list and create pages) is POSTed that body too.
The answer must be 400, 403, 404, 405 or 409 and the database must not change. Each case runs in a savepoint that is
rolled back; a change is noticed by the connection's change counter (SQLite `total_changes()`, PostgreSQL
`pg_stat_xact_user_tables`) and then confirmed with a row count + checksum per table against the snapshot taken
before the first case. The data is the demo county at a small scale (every module has records in both towns);
the personas are its logins. `county_admin` and `inspector_demo` have the whole county in scope and are left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from xianfeng.core.scoping import subtree_q

pytestmark = pytest.mark.django_db

SCALE = 0.02
OK = {400, 403, 404, 405, 409}
# Wuyuan personas try Qinshan's records; the Qinshan secretary tries Wuyuan's.
PERSONAS = {"wuyuan_admin": "秦山镇", "hebin_secretary": "秦山镇", "member_demo": "秦山镇", "resident_demo": "秦山镇",
            "hebin_grid": "秦山镇", "hebin_duty": "秦山镇", "qinshan_secretary": "武原镇"}


def home_of(user):
    """The persona's own community or town: its roles' organisation, at most three levels deep (a branch's
    community)."""
    from xianfeng.orgs.models import Organisation

    path = min(user.roles.values_list("org__path", flat=True), key=len)
    return Organisation.objects.get(path=path[:12])
IDS_PER_MODEL = 3  # one per distinct status where the model has one, else the newest
# Writes that name no record of another scope, by design (each with its reason).
BY_DESIGN = {
    ("POST", "/api/v1/notifications/read-all/"): "marks the caller's own notifications read; it names no record",
    ("POST", "/notifications/read-all/"): "the same, as a page",
    ("POST", "/notifications/preferences/"): "the caller's own channel preferences",
    ("POST", "/accounts/login/"): "a failed sign-in is recorded (LoginFailure) for the lockout",
    ("POST", "/i18n/setlang/"): "the language cookie",
    ("POST", "/pledges/signup/"): "a visitor's own sign-up as a resident",
    ("POST", "/points/privacy/"): "the caller's own points-card setting",
    ("POST", "/api/v1/link-requests/"): "the consent path: a pending request for a person of another scope, whose "
                                        "organisation decides; nothing about the person changes",
    ("POST", "/demands/export.xlsx"): "an export writes its audit row (exports are audited); it changes no record",
    ("POST", "/events/teams/<int:pk>/join/"): "an open team takes join requests from anyone signed in "
                                                "(Team.visible_to); the request is the caller's own, the team decides",
}
# Pages not POSTed at all: signing out would end the persona's session for the cases after it.
SKIP_PAGES = {"accounts/logout/"}
# Tables a request may touch without changing the data: the session of the signed-in test client.
VOLATILE = {"django_session"}
# Field names in request bodies and URL parameters that name a record of another model than their own name says.
ALIASES = {"to_org": "orgs.Organisation", "parent": "orgs.Organisation", "holder": "orgs.Organisation",
           "enterprise": "orgs.Organisation", "shop": "orgs.Organisation", "unit": "orgs.Organisation",
           "units": "orgs.Organisation", "handling_unit": "orgs.Organisation", "org": "orgs.Organisation",
           "orgs": "orgs.Organisation", "leader": "orgs.Person", "person": "orgs.Person", "round": "campaigns.AwardRound",
           "batch": "campaigns.AdvisorBatch", "activity": "events.Activity", "plan": "campaigns.CampaignPlan",
           "nomination": "campaigns.Nomination", "record": "demands.ServiceRecord", "records": "demands.ServiceRecord",
           "cockpit": "orgs.Organisation", "org_id": "orgs.Organisation", "hours": "events.Attendance",
           "sent": "notify.Notification", "events": "events.Activity", "news": "campaigns.Bulletin",
           "guidance": "orgs.GuidanceVisit", "public": "inspections.Inspection"}


# ---- the database's state -------------------------------------------------------------------------------------------


def change_counter() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT total_changes()")
        else:
            cursor.execute("SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")
        return int(cursor.fetchone()[0])


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every row, per table."""
    state = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in VOLATILE:
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 — names from the catalogue
            digest = hashlib.sha256()
            rows = sorted(repr(r) for r in cursor.fetchall())
            for row in rows:
                digest.update(row.encode())
            state[table] = (len(rows), digest.hexdigest())
    return state


# ---- records of another scope ---------------------------------------------------------------------------------------


def org_path_field(model) -> str | None:
    names = getattr(model, "scope_org_fields", None)
    if names is None:
        try:
            f = model._meta.get_field("org")
        except Exception:  # noqa: BLE001 — a model without an organisation
            return None
        names = ("org",) if f.is_relation else None
    if not names:
        return None
    return f"{names[0]}__path" if names[0] else "path"


@dataclass
class Others:
    """Ids of another scope's records, per model, for one persona."""

    town: Any
    home: Any
    user: Any
    cache: dict = field(default_factory=dict)

    def ids(self, model) -> list[int]:
        if model in self.cache:
            return self.cache[model]
        qs = self.queryset(model, self.town)
        if qs is not None and not qs.exists():  # nothing in the other town: records outside the persona's home
            qs = self.queryset(model, self.home, outside=True)
        ids: list[int] = []
        if qs is not None:
            if any(f.name == "status" for f in model._meta.concrete_fields):
                for status in qs.order_by().values_list("status", flat=True).distinct()[:IDS_PER_MODEL]:
                    ids.append(qs.filter(status=status).order_by("-pk").values_list("pk", flat=True)[0])
            else:
                ids = list(qs.order_by("-pk").values_list("pk", flat=True)[:1])
        self.cache[model] = ids
        return ids

    def inside(self, model) -> list[int]:
        """Ids of the persona's own records (for bodies whose only out-of-scope reference is a natural key)."""
        qs = self.queryset(model, self.home)
        return list(qs.order_by("-pk").values_list("pk", flat=True)[:1]) if qs is not None else []

    def id_number(self) -> str:
        """The ID number of a non-member outside the persona's scope: a resident of the other town, else of another
        community, else someone with no organisation (the county's). A body that names a person by ID number."""
        from xianfeng.orgs.models import Person

        people = Person.objects.filter(member__isnull=True).exclude(id_number=None).order_by("pk")
        person = (people.filter(subtree_q("resident__org__path", self.town.path)).first()
                  or people.filter(resident__isnull=False).exclude(subtree_q("resident__org__path", self.home.path))
                  .first()
                  or people.filter(resident__isnull=True).first())  # no organisation: the county's
        return person.id_number if person else "测试"

    def queryset(self, model, town, *, outside: bool = False):
        from xianfeng.orgs.models import Person, User

        manager = model._default_manager
        pick = manager.exclude if outside else manager.filter
        path = org_path_field(model)
        if path is not None:
            qs = pick(subtree_q(path, town.path))
            if model._meta.label == "orgs.LinkRequest":  # the holder decides: both sides out of scope
                qs = qs.exclude(subtree_q("holder__path", self.home.path))
            return qs
        if model is Person:
            return pick(subtree_q("member__org__path", town.path))
        if model is User:
            return pick(subtree_q("roles__org__path", town.path))
        for f in model._meta.concrete_fields:  # owned by a user (notifications, …): someone of the other town
            if f.is_relation and f.related_model is User:
                return pick(**{f"{f.name}__roles__org__path__startswith": town.path}).exclude(**{f.name: self.user})
            if f.is_relation and f.related_model is Person:
                return pick(subtree_q(f"{f.name}__member__org__path", town.path))
        return None


def models_by_name() -> dict[str, Any]:
    found = {}
    for model in apps.get_models():
        if model.__module__.startswith("xianfeng."):
            found.setdefault(model.__name__.lower(), model)
            found.setdefault(model._meta.model_name, model)
    return found


def singular(word: str) -> str:
    word = word.lower().replace("-", "").replace("_", "")
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def model_for_name(name: str, app_label: str | None = None):
    """The model a field or path segment names: `member` → Member, `records` → ServiceRecord (in the app)."""
    if name in ALIASES:
        return apps.get_model(ALIASES[name])
    base = singular(name.removesuffix("_id").removesuffix("_pk"))
    if not base or base in ("pk", "id"):
        return None
    xianfeng_models = [m for m in apps.get_models() if m.__module__.startswith("xianfeng.")]
    for app_first in ((True, False) if app_label else (False,)):
        pool = [m for m in xianfeng_models if not app_first or m._meta.app_label == app_label]
        exact = [m for m in pool if m._meta.model_name == base]
        if exact:
            return exact[0]
        ending = [m for m in pool if m._meta.model_name.endswith(base)]
        if len(ending) == 1 or (ending and app_first):
            return ending[0]
    return None


# ---- bodies ---------------------------------------------------------------------------------------------------------


def sample(schema: dict, components: dict, name: str, others: Others, depth: int = 0, *, inside: bool = False) -> Any:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:
        return sample(schema["allOf"][0], components, name, others, depth, inside=inside)
    if "oneOf" in schema or "anyOf" in schema:
        return sample((schema.get("oneOf") or schema.get("anyOf"))[0], components, name, others, depth, inside=inside)
    kind = schema.get("type")
    if schema.get("default") is not None:
        return schema["default"]
    if "enum" in schema:
        values = [v for v in schema["enum"] if v not in (None, "")]
        return values[0] if values else None
    if kind == "object" or "properties" in schema:
        if depth > 2:
            return {}
        return {k: sample(v, components, k, others, depth + 1, inside=inside)
                for k, v in schema.get("properties", {}).items() if not v.get("readOnly") and k not in LEFT_OUT}
    if kind == "array":
        item = sample(schema.get("items", {}), components, name, others, depth + 1, inside=inside)
        return [item] if item is not None else []
    if kind == "integer":
        if model_for_name(name) is None and "minimum" in schema:  # a count or a score, not a record
            return max(int(schema["minimum"]), min(int(schema.get("maximum", 5)), 5))
        return reference(name, others, inside=inside)
    if kind == "number":
        return max(1.5, float(schema.get("minimum", 1.5)))
    if kind == "boolean":
        return True
    fmt = schema.get("format")
    if fmt == "date":
        return "2015-06-01"  # a plausible past date (a join date, a start, a visit)
    if fmt == "date-time":
        return dt.datetime.now(dt.UTC).isoformat()
    if name == "id_number":  # a natural key: the ID number of a person of another scope
        return others.id_number()
    if name in PLAIN:
        return PLAIN[name]
    if fmt == "uri":
        return "https://example.org/x"
    if fmt == "email":
        return "x@example.org"
    text = "测试说明" * max(1, (schema.get("minLength") or 0) // 4 + 1)  # a valid length, so the scope is reached
    return text[:schema.get("maxLength") or len(text)]


def reference(name: str, others: Others, *, inside: bool = False) -> int:
    model = model_for_name(name)
    ids = (others.inside(model) if inside else others.ids(model)) if model is not None else []
    return ids[0] if ids else MISSING_ID  # never a record of the persona's own scope by accident


# Text fields whose value must look right for the scope check to be reached (a phone that is no phone is a 400 first).
PLAIN = {"phone": "13905731234", "gender": "", "ethnicity": "汉族", "name": "测试人"}
MISSING_ID = 2_000_000_000
# Optional fields left out of bodies because a sampled value would make the body invalid before the scope is checked
# (a probationary member has no full date).
LEFT_OUT = {"full_date"}

PAGE_FIELDS = ("member", "org", "resident", "demand", "pairing", "team", "activity", "case", "grid", "household",
               "person", "reward", "to_org", "parent", "leader", "alert", "device", "fund", "pledge")


def page_body(others: Others) -> dict[str, Any]:
    body: dict[str, Any] = {name: reference(name, others) for name in PAGE_FIELDS}
    body.update({"reason": "测试", "note": "测试", "notes": "测试", "comment": "测试", "rating": "satisfied",
                 "decision": "accept", "action": "end", "date": dt.date.today().isoformat(), "minutes": 30,
                 "hours": 1, "served_on": dt.date.today().isoformat(), "text": "测试", "score": 5, "status": "done"})
    return body


# ---- the cases ------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    kind: str  # "api" or "page"
    method: str
    route: str
    model: Any
    path_ids: bool


def api_cases() -> tuple[list[Case], dict, dict]:
    from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    cases = []
    for path, _regex, method, view in EndpointEnumerator().get_api_endpoints():
        if method not in ("POST", "PUT", "PATCH", "DELETE") or path.startswith("/api/v1/auth/"):
            continue
        model = None
        for attr in ("queryset", "base_queryset"):
            qs = getattr(view.cls, attr, None)
            if qs is not None:
                model = qs.model
                break
        if model is None:
            model = model_for_name(view.initkwargs.get("basename") or "", None) or model_for_name(
                (view.initkwargs.get("basename") or "").rsplit("-", 1)[-1], None)
        cases.append(Case("api", method, path, model, "{pk}" in path or "{id}" in path))
    return cases, schema["paths"], schema.get("components", {}).get("schemas", {})


def walk(resolver, prefix="", namespace=None):
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from walk(p, route, p.namespace or namespace)
        elif isinstance(p, URLPattern):
            yield route, namespace, p


def page_cases() -> list[Case]:
    cases = []
    for route, namespace, _pattern in walk(get_resolver()):
        if route.startswith(("api/", "admin/", "^")):
            continue
        if route in SKIP_PAGES:
            continue
        if "<" not in route:  # a list or create page: only the body names records of another scope
            cases.append(Case("page", "POST", "/" + route, None, False))
            continue
        if "<int:" not in route:
            continue
        app_label = {"orgs": "orgs"}.get(namespace or "", namespace)
        segments = [s for s in route.split("/") if s]
        model = None
        for i, seg in enumerate(segments):
            if seg.startswith("<int:"):
                param = seg[5:-1]
                model = model_for_name(param, app_label) if param not in ("pk", "id") else None
                if model is None:
                    before = segments[i - 1] if i and not segments[i - 1].startswith("<") else (namespace or "")
                    model = model_for_name(before, app_label)
                break
        cases.append(Case("page", "POST", "/" + route, model, True))
    return cases


def fill(route: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}|<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1) or m.group(2), MISSING_ID)),
                  route)


def route_ids(route: str, model, others: Others) -> list[dict[str, int]]:
    """Id assignments for a route's parameters: the case's model's out-of-scope ids for pk/id, the other parameters
    from their names."""
    params = re.findall(r"\{(\w+)\}|<(?:\w+:)?(\w+)>", route)
    names = [a or b for a, b in params]
    fixed = {n: reference(n, others) for n in names if n not in ("pk", "id")}
    if not any(n in ("pk", "id") for n in names):
        return [fixed]
    return [{**fixed, "pk": i, "id": i} for i in (others.ids(model) if model is not None else [])]


# ---- the test -------------------------------------------------------------------------------------------------------


def test_no_persona_writes_across_scopes(settings, capsys):
    from xianfeng.core.demo import run_demo
    from xianfeng.orgs.models import Organisation, User

    started = time.perf_counter()
    run_demo(seed=2010, scale=SCALE, log=lambda _line: None)
    built = time.perf_counter() - started
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    link_requests()
    api, paths, components = api_cases()
    pages = page_cases()
    clients = {}
    for username in PERSONAS:
        clients[username] = Client(raise_request_exception=False)
        clients[username].force_login(User.objects.get(username=username))  # last_login is written here, not below
    baseline = snapshot()
    failures: list[str] = []
    unresolved: set[str] = set()
    counts = {"api": 0, "page": 0}
    answers: dict[int, int] = {}
    for username, town_name in PERSONAS.items():
        user = User.objects.get(username=username)
        town = Organisation.objects.get(name=town_name, depth=2)
        others = Others(town=town, home=home_of(user), user=user)
        client = clients[username]
        for case in api + pages:
            assignments = route_ids(case.route, case.model, others)
            if not assignments:
                unresolved.add(f"{case.kind} {case.method} {case.route} (model {getattr(case.model, '__name__', '?')}"
                               f" has no record in {town_name})")
                continue
            if case.kind == "api":
                operation = paths.get(case.route, {}).get(case.method.lower(), {})
                content = operation.get("requestBody", {}).get("content", {})
                body_schema = (content.get("application/json") or next(iter(content.values()), {})).get("schema", {})
                body = sample(body_schema, components, "", others) if body_schema else {}
                bodies = [body]
                if isinstance(body, dict) and "id_number" in body:
                    bodies.append(sample(body_schema, components, "", others, inside=True))
            else:
                bodies = [page_body(others)]
            for ids, body in [(i, b) for i in assignments for b in bodies]:
                url = fill(case.route, ids)
                counts[case.kind] += 1
                before = change_counter()
                try:
                    with transaction.atomic():
                        if case.kind == "api":
                            response = client.generic(case.method, url, data=_json(body),
                                                      content_type="application/json")
                        else:
                            response = client.post(url, body)
                        changed = change_counter() != before and snapshot() != baseline
                        status = response.status_code
                        transaction.set_rollback(True)
                except Exception as exc:  # noqa: BLE001 — reported as a failure of this case
                    failures.append(f"{username} {case.method} {url}: {type(exc).__name__}: {exc}")
                    continue
                answers[status] = answers.get(status, 0) + 1
                # A list or create page may answer 200 (a POST it reads as a GET) or 302; it must change nothing.
                refused = status in OK or (not case.path_ids and status < 500)
                if (changed or not refused) and (case.method, case.route) not in BY_DESIGN:
                    failures.append(f"{username} {case.method} {url}: {status}{' and the database changed' if changed else ''}")
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nwrite matrix: {len(api)} API operations, {len(pages)} page patterns, {len(PERSONAS)} personas: "
              f"{counts['api']} API and {counts['page']} page requests in {seconds:.1f} s "
              f"(demo county built in {built:.1f} s); {len(unresolved)} operations without an out-of-scope record; "
              f"answers {dict(sorted(answers.items()))}")
        for line in sorted(unresolved):
            print("  no record:", line)
    assert not failures, f"{len(failures)} cross-scope writes were not refused:\n" + "\n".join(failures)


def link_requests() -> None:
    """One pending link request inside each town (asked by one of its organisations, for a resident of another of
    its villages), so the link-request endpoints have records of another scope too."""
    from xianfeng.core.testing import make_person
    from xianfeng.orgs import services
    from xianfeng.orgs.models import Organisation, OrgKind, User

    for username in ("hebin_secretary", "qinshan_secretary"):
        user = User.objects.get(username=username)
        home = home_of(user)
        town = Organisation.objects.get(path=home.path[:8])
        org = Organisation.objects.filter(subtree_q("path", home.path), kind=OrgKind.BRANCH).first() or home
        neighbour = (Organisation.objects.filter(subtree_q("path", town.path), depth=3)
                     .exclude(pk=home.pk).exclude(kind__in=["branch", "committee", "general_branch"]).first())
        person = make_person(f"关联{username}", birth=dt.date(1979, 1, 2))
        services.resident_create(person=person, org=neighbour)
        services.link_request_create(actor=user, id_number=person.id_number, org=org, join_date=dt.date(2010, 1, 1))


def _json(body: Any) -> str:
    import json

    return json.dumps(body, ensure_ascii=False, default=str)
