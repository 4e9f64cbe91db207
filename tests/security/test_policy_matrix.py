"""The read-permission matrix: one object through each front door, as every persona, answers as its policy says.

Generated from the policy registry (`core.policy.registered()`), so a model is covered by declaring its policy:
for every registered policy with a `detail_page` (a URL name taking `pk`) and/or a `detail_api` (an API path with
`{pk}`), and for each persona of the demo county — a visitor, a party member, the secretary of a community of
武原镇, the secretary of a village of the other town (秦山镇), the organisation administrator of 武原镇, the county
administrator, an inspector, a grid worker, a resident — one object of the model inside the persona's scope and
one outside it (when the demo county has them) are read with GET through both doors. The answer must be 200 exactly
when `policy.allows(user, "view", obj)`, and otherwise the very answer a missing object gets: 404 for a signed-in
user (never 403 or 500 for a read), and for a visitor the same sign-in answer as for a missing object.

The data is the demo county (built once and cached; see tests/crawl/conftest.py), so every module has records in
both towns. Policies without either attribute are listed in the output; a policy whose model has an API detail
endpoint or a page named `<app>:<model>_detail` but does not name it fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models
from django.test import Client
from django.urls import NoReverseMatch, get_resolver, reverse

from tests.crawl.conftest import demo_county, demo_county_source  # noqa: F401  (fixtures: the cached demo county)
from xianfeng.core.policy import Policy, registered, visible

pytestmark = pytest.mark.django_db

# Persona → demo login (None: a visitor, not signed in).
PERSONAS: dict[str, str | None] = {
    "anonymous": None,
    "member": "member_demo",
    "secretary": "hebin_secretary",
    "other_town_secretary": "qinshan_secretary",
    "town_admin": "wuyuan_admin",
    "county_admin": "county_admin",
    "inspector": "inspector_demo",
    "grid_worker": "hebin_grid",
    "resident": "resident_demo",
}
MISSING_PK = 2_000_000_000


def label(model: type[models.Model]) -> str:
    return model._meta.label


def with_detail() -> list[Policy]:
    return sorted((p for p in registered().values() if p.detail_page or p.detail_api), key=lambda p: label(p.model))


def without_detail() -> list[Policy]:
    return sorted((p for p in registered().values() if not (p.detail_page or p.detail_api)),
                  key=lambda p: label(p.model))


def doors(policy: Policy, pk: Any) -> list[tuple[str, str]]:
    out = []
    if policy.detail_page:
        out.append(("page", reverse(policy.detail_page, kwargs={"pk": pk})))
    if policy.detail_api:
        out.append(("api", policy.detail_api.format(pk=pk)))
    return out


def samples(policy: Policy, user: Any) -> list[tuple[str, models.Model]]:
    """One object in `user`'s view scope and one outside it, where the county has them (the lowest pk of each)."""
    model = policy.model
    rows = model._default_manager.order_by("pk")
    out: list[tuple[str, models.Model]] = []
    if user is not None:
        inside = visible(rows, user, "view").first()
        if inside is not None:
            out.append(("in scope", inside))
        outside = rows.exclude(pk__in=visible(model, user, "view").values("pk")).first()
    else:
        outside = rows.first()
    if outside is not None:
        out.append(("out of scope", outside))
    return out


@pytest.fixture(scope="module")
def logins(demo_county, django_db_blocker):  # noqa: F811
    from xianfeng.orgs.models import User

    with django_db_blocker.unblock():
        users = {u.username: u for u in User.objects.filter(username__in=[n for n in PERSONAS.values() if n])}
    missing = sorted(n for n in PERSONAS.values() if n and n not in users)
    assert not missing, f"demo logins missing from the demo county: {missing}"
    return users


def client_as(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("policy", with_detail(), ids=lambda p: label(p.model))
def test_one_object_through_each_door_answers_as_the_policy_says(policy, demo_county, logins):  # noqa: F811
    wrong: list[str] = []
    seen = 0
    for persona, username in PERSONAS.items():
        user = logins[username] if username else None
        client = client_as(user)
        missing = {door: client.get(url).status_code for door, url in doors(policy, MISSING_PK)}
        for where, obj in samples(policy, user):
            allowed = user is not None and policy.allows(user, "view", obj)
            if allowed != (where == "in scope"):
                wrong.append(f"{persona:<21} {where:<12} {label(policy.model)} {obj.pk}: the policy's scope and its "
                             f"allows() disagree (allows view: {allowed})")
            for door, url in doors(policy, obj.pk):
                seen += 1
                status = client.get(url).status_code
                if allowed:
                    expected = {200}
                elif user is not None:
                    expected = {404}
                else:  # a visitor: the sign-in answer a missing object gets (a redirect, or the API's 401)
                    expected = {missing[door]} - {200, 403, 500}
                if status not in expected:
                    wrong.append(f"{persona:<21} {where:<12} {door:<4} GET {url} → {status}, expected "
                                 f"{'/'.join(map(str, sorted(expected))) or 'the answer for a missing object'} "
                                 f"(policy.allows view: {allowed})")
    if not seen:
        pytest.skip(f"the demo county has no {label(policy.model)}")
    if wrong:
        pytest.fail(f"{label(policy.model)} ({type(policy).__name__}): {len(wrong)} disagreements with the policy:\n"
                    + "\n".join(wrong), pytrace=False)


def _api_detail_paths() -> dict[type[models.Model], str]:
    """Models with an API retrieve endpoint (GET …/{pk}/ on a viewset whose queryset is of that model)."""
    from drf_spectacular.generators import EndpointEnumerator

    found: dict[type[models.Model], str] = {}
    for path, _regex, method, view in EndpointEnumerator().get_api_endpoints():
        if method != "GET" or not path.endswith("/{pk}/") or getattr(view, "actions", {}).get("get") != "retrieve":
            continue
        qs = getattr(view.cls, "queryset", None)
        if qs is None:
            qs = getattr(view.cls, "base_queryset", None)
        if qs is not None:
            found.setdefault(qs.model, path)
    return found


def _page_name(model: type[models.Model]) -> str | None:
    """The page `<app>:<model>_detail` taking `pk`, if the URLconf has it."""
    name = f"{model._meta.app_label}:{model._meta.model_name}_detail"
    try:
        reverse(name, kwargs={"pk": 1})
    except NoReverseMatch:
        return None
    return name


def test_policies_name_their_detail_views(capsys):
    """Lists the policies without a detail view for the output; fails for a policy whose model has one it does not
    name (an API retrieve endpoint, or a page `<app>:<model>_detail`)."""
    get_resolver()  # the URLconf is loaded before the API's endpoints are enumerated
    api = _api_detail_paths()
    unnamed = []
    for policy in sorted(registered().values(), key=lambda p: label(p.model)):
        if policy.detail_api is None and policy.model in api:
            unnamed.append(f"{label(policy.model)}: detail_api = {api[policy.model]!r} is not set")
        page = _page_name(policy.model)
        if policy.detail_page is None and page is not None:
            unnamed.append(f"{label(policy.model)}: detail_page = {page!r} is not set")
    with capsys.disabled():
        print(f"\npolicy matrix: {len(with_detail())} policies with a detail view, "
              f"{len(without_detail())} without (not in the matrix):")
        for policy in without_detail():
            print(f"  {label(policy.model)} ({type(policy).__name__})")
    assert not unnamed, "policies that do not name their model's detail view:\n" + "\n".join(unnamed)
