"""Alerts: the responder chain, raising, calling level by level, acknowledging, arriving, resolving.

In one paragraph: a press raises an Alert with the responder chain and the policy copied onto it. Its first
call is written in the same transaction (CARE_INLINE_FIRST_STEP): the first level's notifications, step 1 done and
step 2 due after `ack_timeout_seconds` with its job (`care.alert_step`), all recorded exactly when the alert is — so
no crash between "alert saved" and "first call made" exists. If that first call fails, its savepoint is undone and
step 1 is left pending with its job: the worker makes the call. A step is run once: its row is locked and moved
from pending to done together with the notifications (keyed `care.alert:<id>:step:<seq>`, so a responder is never
paged twice for one step) and the next step (the next level after `ack_timeout_seconds`, or the last level again
after `repeat_seconds`). Acknowledgement cancels pending steps. A worker killed mid-step leaves its job running
without a heartbeat; the jobs sweeper hands it back after the job's own short threshold (`stale_after`) and the
step runs again — its notifications were never committed, or were and the step is done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.policy import allows
from xianfeng.jobs.services import job_cancel, jobs_schedule_new
from xianfeng.notify import bulk as notify_bulk_rows
from xianfeng.notify.models import Channel
from xianfeng.notify.services import notify
from xianfeng.orgs.models import Organisation, OrgKind, Role

from ..conf import alert_channels, conf
from ..models import (
    Alert,
    AlertEvent,
    AlertStep,
    Device,
    DeviceContact,
    DeviceEvent,
    EscalationPolicy,
)
from .common import ACK_SALT, ALERT_KIND, LEVEL_LABELS, STEP_JOB, CareError, _ancestor_ids, _role_holders, clean_text, display_name, logger

# -------------------------------------------------------------------------------------------------- responder chain


class ChainCache:
    """Look-ups shared while building many chains at once (the offline sweep)."""

    def __init__(self) -> None:
        self.ancestors: dict[int, list[int]] = {}
        self.kinds: dict[int, str] = {}
        self.policies: dict[int, EscalationPolicy | None] = {}
        self.duty: dict[int, list[int]] = {}

    def load(self, org: Organisation) -> None:
        if org.pk in self.ancestors:
            return
        ids = _ancestor_ids(org)
        self.ancestors[org.pk] = ids
        missing = [i for i in ids if i not in self.kinds]
        if missing:
            self.kinds.update(dict(Organisation.objects.filter(pk__in=missing).values_list("pk", "kind")))
            self.duty.update({i: [] for i in missing})
            self.duty.update(_role_holders(missing, ("duty_officer",)))
            defaults = {p.org_id: p for p in EscalationPolicy.objects.filter(org_id__in=missing, is_default=True)}
            self.policies.update({i: defaults.get(i) for i in missing})


def _prefixes(path: str) -> list[str]:
    """The paths of an organisation and its ancestors, nearest first."""
    return [path[:i] for i in range(len(path), 0, -4)]


def _assemble(contacts: dict[int, list[int]], community: list[int], town: list[int]) -> list[dict]:
    """The chain's four levels (empty ones kept, skipped when called); the county administrators as a last resort
    when nobody at all is in it."""
    chain = [{"level": 1, "users": contacts.get(1, [])}, {"level": 2, "users": contacts.get(2, [])},
             {"level": 3, "users": community}, {"level": 4, "users": [u for u in town if u not in community]}]
    if not any(level["users"] for level in chain):
        chain.append({"level": 5, "users": _county_admins()})
    for level in chain:
        level["label"] = LEVEL_LABELS[int(level["level"])]  # type: ignore[call-overload]
    return chain


def _chain_people(device: Device, *, offline: bool) -> tuple[dict[int, list[int]], list[int], list[int]]:
    """(contacts by level, the community's duty officers, the nearest town's) in one query: the device's active
    contacts UNION the active duty officers of its organisation and of the towns (streets) above it."""
    level = Case(When(org_id=device.org_id, then=Value(3)), default=Value(4), output_field=IntegerField())
    duty = (Role.objects.filter(kind=Role.Kind.DUTY_OFFICER, user__is_active=True,
                                org__path__in=_prefixes(device.org.path))
            .filter(Q(org_id=device.org_id) | Q(org__kind__in=[OrgKind.TOWN, OrgKind.STREET]))
            .order_by().annotate(lv=level, uid=F("user_id"), dep=F("org__depth")).values_list("lv", "uid", "dep"))
    rows = duty
    if not offline:
        contacts = (DeviceContact.objects.filter(device_id=device.pk, user__is_active=True).order_by()
                    .annotate(lv=F("level"), uid=F("user_id"), dep=Value(0, output_field=IntegerField()))
                    .values_list("lv", "uid", "dep"))
        rows = contacts.union(duty, all=True)
    by_level: dict[int, list[int]] = {1: [], 2: []}
    community: list[int] = []
    towns: dict[int, list[int]] = {}
    for lv, uid, depth in sorted(set(rows)):
        if lv in (1, 2):
            by_level[lv].append(uid)
        elif lv == 3:
            community.append(uid)
        else:
            towns.setdefault(depth, []).append(uid)
    return by_level, community, towns[max(towns)] if towns else []


def _policy_for(device: Device) -> EscalationPolicy | None:
    """The device's own policy, else the default of its organisation or the nearest one above."""
    if device.policy_id:
        return device.policy
    return (EscalationPolicy.objects.filter(is_default=True, org__path__in=_prefixes(device.org.path))
            .order_by("-org__depth").first())


def build_chain(device: Device, *, offline: bool = False, cache: ChainCache | None = None):
    """The responder chain for an alert on `device` now, and the policy in force.

    Level 1: the device's paired volunteer and family; 2: its grid team; 3: duty officers of its community (village);
    4: duty officers of the town (street) above. Offline alerts go to the duty officers only. Levels nobody holds are
    kept empty and skipped when called. If no level has anyone, the county administrators are the last resort.
    Without `cache`: two queries (one with a device policy of its own). With it (the offline sweep): none once the
    organisations above are cached, plus one for the contacts of a press.
    """
    if cache is None:
        contacts, community, town = _chain_people(device, offline=offline)
        return _assemble(contacts, community, town), _policy_for(device)
    cache.load(device.org)
    ancestors = cache.ancestors[device.org.pk]
    policy = device.policy or next((cache.policies[o] for o in ancestors if cache.policies.get(o)), None)
    contacts = {1: [], 2: []}
    if not offline:
        for user_id, level in device.contacts.filter(user__is_active=True).values_list("user_id", "level"):
            contacts[level].append(user_id)
    town_id = next((o for o in ancestors[1:] if cache.kinds.get(o) in (OrgKind.TOWN, OrgKind.STREET)), None)
    return _assemble(contacts, cache.duty.get(device.org.pk, []), cache.duty.get(town_id, []) if town_id else []), policy


def _county_admins() -> list[int]:
    return list(Role.objects.filter(kind="county_admin", org__depth=1, user__is_active=True)
                .order_by("user_id").values_list("user_id", flat=True).distinct())


def _next_level(chain: list[dict], after: int) -> int | None:
    return next((lv["level"] for lv in chain if lv["level"] > after and lv["users"]), None)


def _level_users(chain: list[dict], level: int) -> list[int]:
    return next((lv["users"] for lv in chain if lv["level"] == level), [])


# ----------------------------------------------------------------------------------------------------------- alerts


class AlertClosed(CareError):
    """The alert is no longer in the state the action needs (acknowledged already, resolved …)."""


def ack_token(alert: Alert, user: Any) -> str:
    """A signed token naming the alert and the responder: the one-tap link's proof, valid CARE_ACK_LINK_MAX_AGE."""
    return signing.dumps({"a": alert.pk, "u": getattr(user, "pk", user)}, salt=ACK_SALT, compress=True)


def ack_token_read(token: str) -> tuple[int, int] | None:
    """(alert id, user id) from a token, or None if it is forged, malformed or expired."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=int(conf("CARE_ACK_LINK_MAX_AGE")))
        return int(data["a"]), int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def _new_alert(*, device: Device, kind: str, key: str, now: dt.datetime, event: DeviceEvent | None,
               cache: ChainCache | None = None) -> Alert:
    """An unsaved alert with the responder chain and the policy in force copied onto it."""
    chain, policy = build_chain(device, offline=kind == Alert.Kind.OFFLINE, cache=cache)
    timeout = policy.ack_timeout_seconds if policy else int(conf("CARE_ACK_TIMEOUT_SECONDS"))
    repeat = policy.repeat_seconds if policy else int(conf("CARE_REPEAT_SECONDS"))
    if kind == Alert.Kind.OFFLINE:
        timeout = max(timeout, int(conf("CARE_OFFLINE_ACK_TIMEOUT_SECONDS")))
        repeat = max(repeat, int(conf("CARE_OFFLINE_REPEAT_SECONDS")))
    return Alert(device=device, org_id=device.org_id, kind=kind, key=key, event=event, raised_at=now, chain=chain,
                 ack_timeout_seconds=timeout, repeat_seconds=repeat,
                 channels=list(policy.channels) if policy and policy.channels else alert_channels())


def _alert_text(alert: Alert) -> tuple[str, str]:
    device = alert.device
    holder = device.holder.name
    at = timezone.localtime(alert.raised_at)
    if alert.kind == Alert.Kind.OFFLINE:
        return f"一键通离线：{holder}", f"{device.address}（{device.serial}）的设备 {at:%H:%M} 起无心跳，请联系确认。"
    what = "测试呼叫" if alert.kind == Alert.Kind.TEST else "紧急呼叫"
    return f"一键通{what}：{holder}", f"{holder} 在 {device.address} 按下了呼叫键（{at:%H:%M:%S}）。请点链接确认响应。"


@dataclass
class _Call:
    """What calling one level writes: its people paged, the event, the next step, the jobs to queue."""

    notified: list[int]
    event: AlertEvent
    following: AlertStep
    jobs: list[tuple[str, dict[str, Any], dt.datetime, str]]


def _call_level(alert: Alert, *, seq: int, level: int, now: dt.datetime,
                people: list[notify_bulk_rows.Recipient] | None = None) -> _Call:
    """Page `level` of `alert`'s chain as step `seq` (inside the caller's transaction; one query for the people,
    three INSERTs for their notifications) and work out the next step: the next level with anyone in it after
    `ack_timeout_seconds`, or this level again after `repeat_seconds`."""
    if people is None:
        people = notify_bulk_rows.recipients(_level_users(alert.chain, level), ALERT_KIND, alert.channels)
    subject, body = _alert_text(alert)
    links = {p.pk: reverse("care:ack", args=[ack_token(alert, p.pk)]) for p in people}
    jobs = notify_bulk_rows.notify_bulk(people=people, kind=ALERT_KIND, subject=subject, body=body, links=links,
                       key=f"care.alert:{alert.pk}:step:{seq}", default_channels=alert.channels, now=now)
    names = "、".join(p.name for p in people) or "无人"
    event = AlertEvent(alert=alert, at=now, kind=AlertEvent.Kind.CALLED if people else AlertEvent.Kind.SKIPPED,
                       level=level, detail=f"{LEVEL_LABELS.get(level, '')}：{names}"[:500])
    following = _next_level(alert.chain, level)
    if following is not None:
        nxt, due = following, now + dt.timedelta(seconds=alert.ack_timeout_seconds)
    else:
        nxt, due = level, now + dt.timedelta(seconds=alert.repeat_seconds)
    return _Call(notified=[p.pk for p in people], event=event, jobs=jobs,
                 following=AlertStep(alert=alert, seq=seq + 1, level=nxt, due_at=due))


def _step_job(step: AlertStep) -> tuple[str, dict[str, Any], dt.datetime, str]:
    return STEP_JOB, {"step_id": step.pk}, step.due_at, f"{STEP_JOB}:{step.pk}"


def _first_call(alert: Alert, *, now: dt.datetime, people: list[notify_bulk_rows.Recipient] | None = None) -> None:
    """Call the first level now, in the raising transaction (the alert row exists, with calls = 1): the raised and
    called events, step 1 done and step 2 pending, the notifications, and the jobs (step 2, the deliveries)."""
    level = alert.current_level
    call = _call_level(alert, seq=1, level=level, now=now, people=people)
    raised = AlertEvent(alert=alert, at=now, kind=AlertEvent.Kind.RAISED,
                        detail=f"{alert.get_kind_display()}，{alert.device.address}"[:500])
    AlertEvent.objects.bulk_create([raised, call.event])
    first = AlertStep(alert=alert, seq=1, level=level, due_at=now, status=AlertStep.Status.DONE, ran_at=now,
                      ran_by="inline", notified=call.notified)
    AlertStep.objects.bulk_create([first, call.following])
    jobs_schedule_new([*call.jobs, _step_job(call.following)])


def _first_steps_pending(alerts: list[Alert], *, now: dt.datetime) -> None:
    """Leave the first calls to the worker: for each alert its raised event and step 1 due now with its job (three
    INSERTs however many alerts)."""
    AlertEvent.objects.bulk_create([
        AlertEvent(alert=a, at=now, kind=AlertEvent.Kind.RAISED, detail=f"{a.get_kind_display()}，{a.device.address}"[:500])
        for a in alerts])
    steps = AlertStep.objects.bulk_create([
        AlertStep(alert=a, seq=1, level=a.current_level or _first_level(a.chain), due_at=now) for a in alerts])
    jobs_schedule_new([_step_job(step) for step in steps])


def _first_level(chain: list[dict]) -> int:
    return _next_level(chain, 0) or chain[0]["level"]


def first_level_people(alert: Alert) -> list[notify_bulk_rows.Recipient]:
    """The people the first call of a new alert pages (read before the raising transaction, to keep it short)."""
    return notify_bulk_rows.recipients(_level_users(alert.chain, _first_level(alert.chain)), ALERT_KIND, alert.channels)


def _insert_alert(alert: Alert, *, now: dt.datetime, inline: bool,
                  people: list[notify_bulk_rows.Recipient] | None = None) -> Alert:
    """Save a new alert and make or schedule its first call (inside the caller's transaction). With `inline`, the
    first call is written in this transaction, so it is recorded exactly when the alert is; if it fails, the
    savepoint is undone and the first step is left pending with its job — the worker makes the call. Raises
    IntegrityError if an alert with the key exists (the caller answers with that one)."""
    level = _first_level(alert.chain)
    alert.current_level, alert.calls = (level, 1) if inline else (0, 0)
    alert.save(force_insert=True)
    if inline:
        try:
            with transaction.atomic():
                _first_call(alert, now=now, people=people)
            return alert
        except Exception:
            logger.exception("first call of alert %s failed in its transaction; the worker will make it", alert.pk)
            Alert.objects.filter(pk=alert.pk).update(current_level=0, calls=0)
            alert.current_level, alert.calls = 0, 0
    _first_steps_pending([alert], now=now)
    return alert


@transaction.atomic
def alert_raise(*, device: Device, kind: str, key: str, now: dt.datetime | None = None,
                event: DeviceEvent | None = None) -> tuple[Alert, bool]:
    """Raise an alert on `device` (idempotent by `key`). The first call is recorded in this transaction
    (CARE_INLINE_FIRST_STEP; else the worker's job makes it). `device` needs its org, holder and policy loaded
    (select_related) to save queries. Returns (alert, created)."""
    if kind not in Alert.Kind.values:
        raise CareError({"kind": ["未知的警报类型"]})
    now = now or timezone.now()
    existing = Alert.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    alert = _new_alert(device=device, kind=kind, key=key, now=now, event=event)
    try:
        with transaction.atomic():
            return _insert_alert(alert, now=now, inline=bool(conf("CARE_INLINE_FIRST_STEP"))), True
    except IntegrityError:
        return Alert.objects.get(key=key), False


def alert_step_run(*, step_id: int, now: dt.datetime | None = None, ran_by: str = "worker") -> str:
    """Call one step's level (the `care.alert_step` job, the clock in tests, the rescue). Safe to run any number
    of times and at the same time: the step row is locked and only a pending step is called, in the transaction
    that marks it done. Returns the step's status afterwards ("missing" if there is no such step)."""
    with transaction.atomic():
        step = AlertStep.objects.select_for_update().filter(pk=step_id).first()
        if step is None:
            return "missing"
        if step.status != AlertStep.Status.PENDING:
            return step.status
        alert = (Alert.objects.select_for_update(of=("self",)).select_related("device__holder")
                 .get(pk=step.alert_id))
        now = now or timezone.now()
        if alert.status != Alert.Status.OPEN:
            AlertStep.objects.filter(pk=step.pk).update(status=AlertStep.Status.CANCELLED)
            return AlertStep.Status.CANCELLED
        call = _call_level(alert, seq=step.seq, level=step.level, now=now)
        AlertStep.objects.filter(pk=step.pk).update(status=AlertStep.Status.DONE, ran_at=now, ran_by=ran_by[:100],
                                                    notified=call.notified)
        Alert.objects.filter(pk=alert.pk).update(current_level=step.level, calls=F("calls") + 1)
        call.event.save()
        call.following.save()
        jobs_schedule_new([*call.jobs, _step_job(call.following)])
    return AlertStep.Status.DONE


def steps_run_due(*, now: dt.datetime | None = None, ran_by: str = "clock") -> int:
    """Run every pending step due by `now`, oldest first, until none is left (a clock-driven loop for tests and the
    rescue). Returns how many steps were called."""
    now = now or timezone.now()
    called = 0
    while True:
        ids = list(AlertStep.objects.filter(status=AlertStep.Status.PENDING, due_at__lte=now)
                   .order_by("due_at", "id").values_list("pk", flat=True)[:200])
        if not ids:
            return called
        for step_id in ids:
            called += alert_step_run(step_id=step_id, now=now, ran_by=ran_by) == AlertStep.Status.DONE


def steps_rescue(*, now: dt.datetime | None = None) -> int:
    """Run pending steps overdue by more than CARE_RESCUE_AFTER_SECONDS — their job was lost or parked. A step whose
    job is merely slow is run here or there, once. Returns how many were called."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=float(conf("CARE_RESCUE_AFTER_SECONDS")))
    called = 0
    for step_id in AlertStep.objects.filter(status=AlertStep.Status.PENDING, due_at__lt=cutoff).order_by(
            "due_at").values_list("pk", flat=True)[:500]:
        if alert_step_run(step_id=step_id, ran_by="rescue") == AlertStep.Status.DONE:
            called += 1
            logger.warning("rescued alert step %s (its job did not run it in time)", step_id)
    return called


def _cancel_pending_steps(alert: Alert) -> None:
    pending = list(alert.steps.filter(status=AlertStep.Status.PENDING).values_list("pk", flat=True))
    AlertStep.objects.filter(pk__in=pending).update(status=AlertStep.Status.CANCELLED)
    for step_id in pending:
        job_cancel(key=f"{STEP_JOB}:{step_id}")


@transaction.atomic
def alert_acknowledge(*, alert: Alert, actor: Any, now: dt.datetime | None = None) -> Alert:
    """A responder takes the alert: escalation stops (pending steps cancelled) and those already called are told who
    took it. Raises AlertClosed if somebody acknowledged first, CareError if `by` may not respond."""
    if not allows(actor, "respond", alert):
        raise CareError("您不在该警报的响应人之列")
    now = now or timezone.now()
    seconds = max(0.0, (now - alert.raised_at).total_seconds())
    if Alert.objects.filter(pk=alert.pk, status=Alert.Status.OPEN).update(
            status=Alert.Status.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=actor, ack_seconds=seconds) != 1:
        alert.refresh_from_db()
        raise AlertClosed(f"该警报已由 {alert.acknowledged_by or '他人'} 响应")
    alert.refresh_from_db()
    _cancel_pending_steps(alert)
    name = display_name(actor)
    AlertEvent.objects.create(alert=alert, at=now, kind=AlertEvent.Kind.ACKNOWLEDGED, by=actor,
                              detail=f"{name} 响应（{seconds:.0f} 秒）")
    User = get_user_model()
    called = {u for s in alert.steps.filter(status=AlertStep.Status.DONE) for u in s.notified} - {actor.pk}
    for user in User.objects.filter(pk__in=called):
        notify(to=user, kind="care.alert_taken", subject=f"已有人响应：{alert.device.holder.name}",
               body=f"{name} 已响应该呼叫，您无需前往。", link=reverse("care:alert_detail", args=[alert.pk]),
               key=f"care.alert:{alert.pk}:acknowledged", default_channels=[Channel.IN_APP])
    audit_record(by=actor, action="update", obj=alert, after={"status": alert.status, "ack_seconds": seconds},
                 summary=f"响应警报 #{alert.pk}")
    return alert


@transaction.atomic
def alert_arrive(*, alert: Alert, actor: Any, now: dt.datetime | None = None) -> Alert:
    """The responder is at the member's home. Raises AlertClosed unless the alert is acknowledged."""
    if not allows(actor, "respond", alert):
        raise CareError("您不在该警报的响应人之列")
    now = now or timezone.now()
    seconds = max(0.0, (now - alert.raised_at).total_seconds())
    if Alert.objects.filter(pk=alert.pk, status=Alert.Status.ACKNOWLEDGED).update(
            status=Alert.Status.ON_SITE, arrived_at=now, arrived_by=actor, arrive_seconds=seconds) != 1:
        raise AlertClosed("该警报不在“已响应”状态")
    alert.refresh_from_db()
    AlertEvent.objects.create(alert=alert, at=now, kind=AlertEvent.Kind.ARRIVED, by=actor,
                              detail=f"到场（{seconds / 60:.0f} 分钟）")
    audit_record(by=actor, action="update", obj=alert, after={"status": alert.status}, summary=f"到场 警报 #{alert.pk}")
    return alert


@transaction.atomic
def alert_resolve(*, alert: Alert, actor: Any, outcome: str, notes: str = "", now: dt.datetime | None = None) -> Alert:
    """Close an acknowledged alert with its outcome (false alarm, test, helped, hospital …) and notes."""
    if not allows(actor, "respond", alert):
        raise CareError("您不在该警报的响应人之列")
    if outcome not in Alert.Outcome.values or outcome == Alert.Outcome.BACK_ONLINE:
        raise CareError({"outcome": ["请选择处置结果"]})
    notes = clean_text(notes, "notes", 2000, required=outcome in (Alert.Outcome.HOSPITAL, Alert.Outcome.OTHER), multiline=True)
    now = now or timezone.now()
    if Alert.objects.filter(pk=alert.pk, status__in=[Alert.Status.ACKNOWLEDGED, Alert.Status.ON_SITE]).update(
            status=Alert.Status.RESOLVED, resolved_at=now, resolved_by=actor, outcome=outcome, notes=notes) != 1:
        raise AlertClosed("该警报须先响应，且尚未处置")
    alert.refresh_from_db()
    AlertEvent.objects.create(alert=alert, at=now, kind=AlertEvent.Kind.RESOLVED, by=actor,
                              detail=f"{alert.get_outcome_display()}：{notes}"[:500])
    audit_record(by=actor, action="update", obj=alert, after={"status": alert.status, "outcome": outcome},
                 summary=f"处置警报 #{alert.pk}")
    return alert
