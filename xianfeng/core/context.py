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
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for name, label, icon, action in NAVIGATION:
        if action is not None:
            paths = scope_paths(user, action)
            if paths is not None and not paths:
                continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "icon": icon, "active": request.path.startswith(url) and url != "/"
                      or request.path == url})
    return {"nav_items": items}
