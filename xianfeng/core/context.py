"""Template context shared by every page: the navigation the user's roles allow."""

from typing import Any

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .policy import policy_for

# (url name, label, icon, action needed — or a tuple of actions, any of which will do — or None for any signed-in
# user, or "member" for party members only).
# Modules add their entries here.
NAVIGATION = [
    ("home", _("Home"), "house", None),
    ("orgs:tree", _("Organisations"), "diagram-3", "view"),
    ("orgs:member_list", _("Members"), "people", "view"),
    ("orgs:contact_point_list", _("Contact points"), "pin-map", "view"),
    ("orgs:guidance_group_list", _("Guidance groups"), "people-fill", "view"),
    ("orgs:link_request_list", _("Link requests"), "person-plus", "change"),
]


def navigation_entries() -> list[tuple]:
    """The core entries, then each xianfeng app's AppConfig.navigation, in INSTALLED_APPS order."""
    return [entry for _group, _label, entries in navigation_groups() for entry in entries]


def navigation_groups() -> list[tuple[str, Any, list[tuple]]]:
    """(group key, group label, entries): the home page, the organisation pages, then one group per app."""
    groups: list[tuple[str, Any, list[tuple]]] = [("home", _("Home"), NAVIGATION[:1]),
                                                  ("orgs", _("Organisations"), NAVIGATION[1:])]
    for config in apps.get_app_configs():
        if config.name.startswith("xianfeng.") and (entries := getattr(config, "navigation", None)):
            groups.append((config.label, config.verbose_name, list(entries)))
    return groups


def is_member(user) -> bool:
    """Whether the user is a party member (a Member row for their person); cached on the user object."""
    cache = user.__dict__.setdefault("_scope_cache", {})
    if "_member" not in cache:
        member = apps.get_model("orgs", "Member")
        cache["_member"] = bool(user.person_id) and member.objects.filter(person_id=user.person_id).exists()
    return cache["_member"]


def navigation(request):
    """Menu context, computed only if the template uses it (htmx partials don't)."""
    from django.utils.functional import SimpleLazyObject

    computed = SimpleLazyObject(lambda: _navigation(request))
    return {"nav_items": SimpleLazyObject(lambda: computed["nav_items"]),
            "nav_groups": SimpleLazyObject(lambda: computed["nav_groups"])}


def _navigation(request):
    """The menu entries this user may use; the one whose address is the longest prefix of this page is active."""
    organisation = apps.get_model("orgs", "Organisation")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_groups": []}
    items, groups = [], []
    for key, group_label, entries in navigation_groups():
        group = {"key": key, "label": group_label, "icon": entries[0][2] if entries else "", "items": []}
        for name, label, icon, action in entries:
            if action == "member":
                if not is_member(user):
                    continue
            elif action is not None and not any(policy_for(organisation).any(user, a)
                                                for a in (action if isinstance(action, tuple) else (action,))):
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            item = {"url": url, "label": label, "icon": icon, "active": False}
            items.append(item)
            group["items"].append(item)
        if group["items"]:
            groups.append(group)
    path = request.path
    matches = [item for item in items if path == item["url"] or (item["url"] != "/" and path.startswith(item["url"]))]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    for group in groups:
        group["active"] = any(item["active"] for item in group["items"])
    return {"nav_items": items, "nav_groups": groups}
