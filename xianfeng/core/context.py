"""Template context shared by every page: the navigation the user's roles allow."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .scoping import scope_paths

# (url name, label, icon, action needed or None for any signed-in user). Modules add their entries here.
NAVIGATION = [
    ("home", _("Home"), "house", None),
    ("orgs:tree", _("Organisations"), "diagram-3", "view"),
    ("orgs:member_list", _("Members"), "people", "view"),
    ("orgs:contact_point_list", _("Contact points"), "pin-map", "view"),
    ("orgs:guidance_group_list", _("Guidance groups"), "people-fill", "view"),
]


def navigation_entries() -> list[tuple]:
    """The core entries, then each xianfeng app's AppConfig.navigation, in INSTALLED_APPS order."""
    from django.apps import apps

    entries = list(NAVIGATION)
    for config in apps.get_app_configs():
        if config.name.startswith("xianfeng."):
            entries.extend(getattr(config, "navigation", []))
    return entries


def navigation(request):
    """The menu entries this user may use; the one whose address is the longest prefix of this page is active."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for name, label, icon, action in navigation_entries():
        if action is not None:
            paths = scope_paths(user, action)
            if paths is not None and not paths:
                continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "icon": icon, "active": False})
    path = request.path
    matches = [item for item in items if path == item["url"] or (item["url"] != "/" and path.startswith(item["url"]))]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": items}
