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


@register.filter
def kind_label(kind):
    """{{ n.kind|kind_label }} → 诉求已办结 (see xianfeng.notify.kinds)."""
    from xianfeng.notify.kinds import kind_label as label

    return label(kind or "")
