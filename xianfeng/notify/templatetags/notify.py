from django import template

register = template.Library()


@register.inclusion_tag("notify/_badge.html", takes_context=True)
def notify_badge(context):
    """{% load notify %}{% notify_badge %}: the bell with the unread count, re-polled by htmx."""
    from xianfeng.notify.views import badge_context

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"hidden": True}
    return badge_context(user)
