"""Background work of the demand archive: unstarted claims lapse, demands past their closing date expire."""

from xianfeng.jobs.registry import periodic

from .services import claims_lapse, demands_expire


@periodic(every=3600, name="demands.lapse_claims")
def lapse_claims() -> None:
    """Hourly: claims not started within DEMANDS_CLAIM_LAPSE_DAYS go back to open (member and secretaries told)."""
    claims_lapse()
    demands_expire()
