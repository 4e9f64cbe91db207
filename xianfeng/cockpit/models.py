"""Rollups: per-organisation, per-day counts that the cockpit sums over subtrees instead of counting live rows."""

from django.db import models


class Rollup(models.Model):
    """One organisation's own count of one metric on one day (its own records only, not its subtree's).

    A subtree's figure is the sum over the organisations whose path lies in the subtree's range; a re-parented
    organisation therefore needs no rollup change. Rows are derived: `metrics.refresh` rewrites an organisation's
    rows from the live tables, so a row is never edited by hand.
    """

    org = models.ForeignKey("orgs.Organisation", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=40)
    value = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "metric", "day"], name="cockpit_rollup_unique")]
        indexes = [models.Index(fields=["metric", "day"])]

    def __str__(self) -> str:
        return f"{self.org_id} {self.day} {self.metric}={self.value}"


class DirtyOrg(models.Model):
    """A mark that an organisation's rollups may be stale: inserted in the same transaction as the write that made
    them stale (model signals), consumed by the worker's `cockpit.refresh` job. One row per write, no uniqueness:
    the job deletes exactly the rows it read, so a mark committed while it runs is kept for the next run."""

    org_id = models.BigIntegerField(db_index=True)
    marked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"dirty {self.org_id}"


class SubtreeMonth(models.Model):
    """One organisation's whole-subtree total of one metric in one month (the month's first day).

    Derived from `Rollup`: rebuilt bottom-up level by level, and kept current by adding each recomputed
    organisation's change to it and to every ancestor. A page reads its organisation's and its children's rows only,
    so its cost does not grow with the subtree (a province root reads as few rows as a village).
    """

    org = models.ForeignKey("orgs.Organisation", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    metric = models.CharField(max_length=40)
    value = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "metric", "month"], name="cockpit_subtreemonth_unique")]

    def __str__(self) -> str:
        return f"{self.org_id} {self.month:%Y-%m} {self.metric}={self.value}"
