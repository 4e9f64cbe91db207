from django import template

from xianfeng.care.services import display_name, format_yuan

register = template.Library()


@register.filter
def yuan(fen):
    """Fen as yuan with two decimals and thousands separators: 315000000 → 3,150,000.00."""
    return "" if fen is None else format_yuan(int(fen))


@register.filter
def seconds(value):
    """Seconds as a short duration: 45 s, 3 min 5 s, 2 h 10 min."""
    if value is None:
        return "—"
    s = int(round(float(value)))
    if s < 60:
        return f"{s} 秒"
    if s < 3600:
        return f"{s // 60} 分 {s % 60} 秒"
    return f"{s // 3600} 小时 {s % 3600 // 60} 分"


@register.filter
def who(user):
    """The name responders know a user by (full name, else the person's name, else the username)."""
    return display_name(user)
