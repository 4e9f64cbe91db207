"""The ledger's nightly self-check: administrators hear of any mismatch the morning after."""

import logging

from xianfeng.jobs.registry import daily

from .services import ledger_verify

logger = logging.getLogger("xianfeng.ledger")


@daily(at="02:00", name="ledger.check")
def nightly_check() -> None:
    check = ledger_verify(limit=20)
    if check.ok:
        return
    logger.error("ledger check found problems: %s", "; ".join(check.problems))
    from django.utils import timezone

    from xianfeng.notify.services import notify_admins

    notify_admins(kind="ledger.check_failed", subject="账本核对发现问题",
                  body="\n".join(check.problems), key=f"ledger.check:{timezone.localdate():%Y-%m-%d}")
