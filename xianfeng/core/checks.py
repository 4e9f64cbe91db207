"""System checks of core (`xianfeng check`): every model that belongs to an organisation has a policy."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks

from .policy import registered


@checks.register(checks.Tags.models)
def check_org_models_have_a_policy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A model with a foreign key to an organisation is read through a policy: one registered in its app's
    `policies.py`, or the default organisation policy, which needs the model to say in `scope_org_fields` which
    organisations its rows belong to. Without either, `restrict()` and the pages would guess."""
    try:
        organisation = apps.get_model("orgs", "Organisation")
    except LookupError:
        return []
    configs = app_configs if app_configs is not None else apps.get_app_configs()
    policies = registered()
    found: list[checks.CheckMessage] = []
    for config in configs:
        if not config.name.startswith("xianfeng."):
            continue
        for model in config.get_models():
            keys = [f.name for f in model._meta.concrete_fields if f.many_to_one and f.related_model is organisation]
            if not keys or hasattr(model, "scope_org_fields"):
                continue
            if any(m in policies for m in model.__mro__ if isinstance(m, type)):
                continue
            found.append(checks.Warning(
                f"{model._meta.label} belongs to organisations ({', '.join(keys)}) but has no policy",
                hint=f"register one in {config.name}.policies (@register({model.__name__})), or name its "
                     "organisation fields in scope_org_fields for the default organisation policy",
                obj=model, id="core.W001"))
    return found
