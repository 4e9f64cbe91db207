"""core.W001: a model that belongs to organisations has a policy (registered, or the default one through
`scope_org_fields`)."""

from django.apps import apps

from xianfeng.core import checks


def _org_models():
    organisation = apps.get_model("orgs", "Organisation")
    return {m for m in apps.get_models() if m.__module__.startswith("xianfeng.")
            and any(f.many_to_one and f.related_model is organisation for f in m._meta.concrete_fields)}


def test_without_any_registered_policy_every_model_of_an_organisation_lacking_scope_org_fields_is_reported(
        monkeypatch):
    monkeypatch.setattr(checks, "registered", lambda: {})
    reported = {m.obj for m in checks.check_org_models_have_a_policy()}
    assert reported == {m for m in _org_models() if not hasattr(m, "scope_org_fields")}
    assert all(m.id == "core.W001" for m in checks.check_org_models_have_a_policy())


def test_a_registered_policy_answers_the_check():
    registered = checks.registered()
    for message in checks.check_org_models_have_a_policy():
        assert message.obj not in registered
    some = next(m for m in _org_models() if m in registered)
    assert some not in {m.obj for m in checks.check_org_models_have_a_policy()}
