"""Year-end expiry of points for organisations whose rule says 年底清零."""

from django.utils import timezone

from xianfeng.jobs.registry import daily

from .services import points_expire_year


@daily(at="00:30", name="points.expire_year")
def expire_year() -> None:
    """Every night; from 1 January on, last year's remaining points lapse (idempotent per member and year)."""
    today = timezone.localdate()
    if today.month == 1:
        points_expire_year(year=today.year - 1)
