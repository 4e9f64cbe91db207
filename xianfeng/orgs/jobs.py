"""Background work of the organisation register: roster files uploaded on the web are checked and imported here."""

from xianfeng.jobs.registry import job


@job("orgs.roster_run", max_attempts=1)
def roster_run(*, token: str, user: int, dry_run: bool) -> None:
    """Dry-run or import one uploaded roster (views_roster.roster_run); progress and result go into its note.

    One attempt: the import is all or nothing and a failure leaves the page saying so; the user uploads again."""
    from .views_roster import roster_run as run

    run(token=token, user=user, dry_run=dry_run)
