"""Device messages (HTTPS or MQTT): signature, replay and size checks, heartbeats, the offline sweep."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from xianfeng.notify.models import Channel
from xianfeng.notify.services import notify

from ..conf import conf
from ..models import (
    Alert,
    AlertEvent,
    Device,
    DeviceEvent,
    DeviceNonce,
)
from .alerts import (
    ChainCache,
    _cancel_pending_steps,
    _first_steps_pending,
    _insert_alert,
    _level_users,
    _new_alert,
    build_chain,
    first_level_people,
)
from .common import _EVENT_ID_RE, _NONCE_RE, _SIG_RE, EVENT_TYPES, CareError, logger
from .devices import _offline_after

# ---------------------------------------------------------------------------------------------------------- ingress


def sign_message(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 over '<timestamp>.<nonce>.<body>', hex: what a gateway sends and the server recomputes."""
    return hmac.new(secret.encode(), f"{timestamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()


def signed_envelope(device: Device, event: dict, *, timestamp: int | None = None, nonce: str | None = None) -> dict:
    """What a gateway sends for `event`: the body, a timestamp, a nonce and the signature (HTTP headers or MQTT)."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    ts = str(int(timestamp if timestamp is not None else timezone.now().timestamp()))
    nonce = nonce or secrets.token_hex(12)
    return {"body": body, "ts": ts, "nonce": nonce, "sig": sign_message(device.secret, ts, nonce, body.encode())}


@dataclass
class IngestResult:
    status: int  # the HTTP status the gateway gets
    outcome: str
    detail: str = ""
    alert: Alert | None = None

    def as_json(self) -> dict:
        data: dict[str, Any] = {"outcome": self.outcome, "detail": self.detail}
        if self.alert is not None:
            data["alert"] = self.alert.pk
        return data


def ingress_max_bytes() -> int:
    """The largest message either path takes (the HTTPS body, the MQTT payload): CARE_INGRESS_MAX_BYTES, 8 KB."""
    return int(getattr(settings, "CARE_INGRESS_MAX_BYTES", 8192))


def refuse_oversize(*, size: int, serial: Any, source: str, now: dt.datetime | None = None) -> IngestResult | None:
    """The size cap, the same for HTTPS and MQTT: a refusal (413, logged like every refusal) for a message larger than
    ingress_max_bytes(), checked before anything parses it; None for one that fits."""
    limit = ingress_max_bytes()
    if size <= limit:
        return None
    return _reject(status=413, outcome=DeviceEvent.Outcome.MALFORMED, detail=f"消息过大（{size:,} 字节，上限 {limit:,}）",
                   serial=str(serial or "")[:40], source=source, now=now or timezone.now())


REFUSAL_WINDOW_SECONDS = 60


def _refusal_rows_allowed(*, source: str, outcome: str, device: Device | None, now: dt.datetime) -> tuple[bool, int]:
    """Whether this refusal may still be written as a row, and how many like it the previous window refused.

    At most CARE_REFUSED_ROWS_PER_MINUTE rows per minute for each (path, outcome, device) — every unknown serial
    counting as one stranger — so a flood of refused messages (random serials, a known serial with a bad signature,
    oversize bodies) cannot grow the table. The database decides (rows already written in this window, one indexed
    range); the cache counts every refusal, written or not, for the next row and the log."""
    from django.core.cache import cache

    cap = int(getattr(settings, "CARE_REFUSED_ROWS_PER_MINUTE", 5))
    window = int(now.timestamp()) // REFUSAL_WINDOW_SECONDS
    who = device.pk if device is not None else "stranger"
    counter = f"care:refused:{source}:{outcome}:{who}:{window}"
    try:
        cache.add(counter, 0, timeout=REFUSAL_WINDOW_SECONDS * 3)
        refused = cache.incr(counter)
        previous = int(cache.get(f"care:refused:{source}:{outcome}:{who}:{window - 1}") or 0)
    except ValueError:  # evicted between add and incr: count this one only
        refused, previous = 1, 0
    if refused <= cap:  # cheap path: this process has not seen the cap yet; the database decides
        start = dt.datetime.fromtimestamp(window * REFUSAL_WINDOW_SECONDS, tz=dt.UTC)
        written = DeviceEvent.objects.filter(source=source, outcome=outcome, device=device, received_at__gte=start,
                                             received_at__lt=start + dt.timedelta(seconds=REFUSAL_WINDOW_SECONDS))
        if written[:cap].count() < cap:
            return True, previous
    if refused == cap + 1:
        logger.warning("device messages refused (%s, %s, %s): more than %d this minute; counting, not storing, the rest",
                       source, outcome, who, cap)
    return False, previous


def _reject(*, status: int, outcome: str, detail: str, serial: str, source: str, now: dt.datetime,
            device: Device | None = None, event_id: str = "", kind: str = "", payload: Any = None) -> IngestResult:
    """Every refusal of both paths: logged as a DeviceEvent row, within the per-minute cap (_refusal_rows_allowed)."""
    allowed, previous = _refusal_rows_allowed(source=source, outcome=outcome, device=device, now=now)
    if allowed:
        logger.warning("device message refused (%s, %s): %s %s", source, serial[:40], outcome, detail)
        if previous:
            payload = {**(payload if isinstance(payload, dict) else {}), "refused_previous_minute": previous}
        DeviceEvent.objects.create(device=device, serial=str(serial)[:40], source=source, event_id=event_id[:100],
                                   kind=kind[:20], outcome=outcome, detail=detail[:300], payload=payload,
                                   received_at=now)
    return IngestResult(status=status, outcome=outcome, detail=detail)


def _parse_event(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CareError("消息体不是 JSON") from None
    if not isinstance(data, dict):
        raise CareError("消息体须为 JSON 对象")
    event_id, kind = data.get("event_id"), data.get("type")
    if not isinstance(event_id, str) or not _EVENT_ID_RE.match(event_id):
        raise CareError("event_id 须为1到100个字母、数字或 _.:-")
    if kind not in EVENT_TYPES:
        raise CareError(f"type 须为 {'/'.join(EVENT_TYPES)}")
    battery = data.get("battery")
    if battery is not None and (not isinstance(battery, int) or isinstance(battery, bool) or not 0 <= battery <= 100):
        raise CareError("battery 须为0到100的整数")
    return {"event_id": event_id, "type": kind, "battery": battery}


def ingest(*, serial: Any, body: bytes, timestamp: Any, nonce: Any, signature: Any, source: str,
           now: dt.datetime | None = None) -> IngestResult:
    """One signed message from a device gateway (HTTPS or MQTT). Checks, in order: the device is known and active
    (404), the signature (401), the timestamp within CARE_INGRESS_MAX_SKEW_SECONDS (401), the body (400), the nonce
    unused (409). Then, idempotently by the event id: a press or test raises an alert (201) whose first call is
    recorded in the same transaction, a repeat answers the first alert (200); every accepted message counts as a
    heartbeat. Every refusal is logged as a DeviceEvent.

    The press path is a few statements: the device, its chain and policy, the first level's people (reads, before
    the transaction), then one transaction of single or bulk INSERTs — nonce, event, heartbeat, alert (the policy
    copied onto it), events, steps, notifications, deliveries, attempts, jobs. A replayed nonce or a repeated
    event id fails on its unique index, the transaction is undone, and the slow path below tells which it was."""
    now = now or timezone.now()
    serial = str(serial or "")[:40]
    device = (Device.objects.select_related("org", "holder", "policy").filter(serial=serial).first()
              if serial else None)
    reject = {"serial": serial, "source": source, "now": now, "device": device}
    if device is None:
        return _reject(status=404, outcome=DeviceEvent.Outcome.UNKNOWN_DEVICE, detail="未登记的设备", **reject)
    if not device.is_active:
        return _reject(status=404, outcome=DeviceEvent.Outcome.INACTIVE, detail="设备已停用", **reject)
    signature, timestamp, nonce = str(signature or "").lower(), str(timestamp or ""), str(nonce or "")
    if not _SIG_RE.match(signature) or not _NONCE_RE.match(nonce) or not hmac.compare_digest(
            sign_message(device.secret, timestamp, nonce, body), signature):
        return _reject(status=401, outcome=DeviceEvent.Outcome.BAD_SIGNATURE, detail="签名不正确", **reject)
    try:
        skew = abs(now.timestamp() - int(timestamp))
    except ValueError:
        skew = float("inf")
    if skew > int(conf("CARE_INGRESS_MAX_SKEW_SECONDS")):
        return _reject(status=401, outcome=DeviceEvent.Outcome.STALE, detail="时间戳超出允许范围", **reject)
    try:
        event = _parse_event(body)
    except CareError as exc:
        return _reject(status=400, outcome=DeviceEvent.Outcome.MALFORMED, detail=exc.messages[0], **reject)
    kind = {"press": Alert.Kind.PRESS, "test": Alert.Kind.TEST}.get(event["type"])
    key = f"event:{device.pk}:{event['event_id']}"
    inline = bool(conf("CARE_INLINE_FIRST_STEP"))
    alert = _new_alert(device=device, kind=kind, key=key, now=now, event=None) if kind else None
    people = first_level_people(alert) if alert is not None and inline else None
    try:
        with transaction.atomic():
            DeviceNonce.objects.create(device=device, nonce=nonce, seen_at=now)
            row = DeviceEvent.objects.create(
                device=device, serial=device.serial, source=source, event_id=event["event_id"], kind=event["type"],
                outcome=DeviceEvent.Outcome.ACCEPTED, received_at=now,
                payload={"battery": event["battery"]} if event["battery"] is not None else None)
            if alert is not None:
                alert.event = row
                _insert_alert(alert, now=now, inline=inline, people=people)
                _heartbeat(device=device, battery=event["battery"], now=now)  # last: the device row stays locked
                return IngestResult(status=201, outcome=DeviceEvent.Outcome.ACCEPTED, alert=alert)  # until commit
            _heartbeat(device=device, battery=event["battery"], now=now)
            if event["type"] == "low_battery" or (event["battery"] is not None
                                                   and event["battery"] <= int(conf("CARE_LOW_BATTERY_PCT"))):
                _low_battery(device=device, battery=event["battery"], now=now)
            return IngestResult(status=200, outcome=DeviceEvent.Outcome.ACCEPTED)
    except IntegrityError:
        pass
    if DeviceNonce.objects.filter(device=device, nonce=nonce).exists():
        return _reject(status=409, outcome=DeviceEvent.Outcome.REPLAY, detail="nonce 已使用（重放）", **reject,
                       event_id=event["event_id"], kind=event["type"])
    return _repeat(device=device, event=event, nonce=nonce, key=key, source=source, now=now)


def _repeat(*, device: Device, event: dict, nonce: str, key: str, source: str, now: dt.datetime) -> IngestResult:
    """An event id seen before (the gateway's retry, or the same press by the other path): logged as a duplicate,
    answered with the first alert."""
    with transaction.atomic():
        DeviceNonce.objects.get_or_create(device=device, nonce=nonce, defaults={"seen_at": now})
        DeviceEvent.objects.create(device=device, serial=device.serial, source=source, event_id=event["event_id"],
                                   kind=event["type"], outcome=DeviceEvent.Outcome.DUPLICATE, received_at=now)
    return IngestResult(status=200, outcome=DeviceEvent.Outcome.DUPLICATE, detail="已处理过",
                        alert=Alert.objects.filter(key=key).first())


def _heartbeat(*, device: Device, battery: int | None, now: dt.datetime) -> None:
    fields: dict[str, Any] = {"last_heartbeat_at": now, "offline_after": _offline_after(device, now),
                              "offline_since": None}
    if battery is not None:
        fields["battery_pct"] = battery
    Device.objects.filter(pk=device.pk).update(**fields)
    if device.offline_since is not None:
        for alert in Alert.objects.filter(device=device, kind=Alert.Kind.OFFLINE, status__in=Alert.OPEN_STATES):
            Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.RESOLVED, resolved_at=now,
                                                     outcome=Alert.Outcome.BACK_ONLINE)
            _cancel_pending_steps(alert)
            AlertEvent.objects.create(alert=alert, at=now, kind=AlertEvent.Kind.RESOLVED, detail="设备恢复在线")
    for name, value in fields.items():
        setattr(device, name, value)


def _low_battery(*, device: Device, battery: int | None, now: dt.datetime) -> None:
    """Tell the level-1 contacts and the community's duty officers, once a day per device."""
    User = get_user_model()
    chain, _ = build_chain(device)
    users = set(_level_users(chain, 1)) | set(_level_users(chain, 3))
    level = f"{battery}%" if battery is not None else "低"
    for user in User.objects.filter(pk__in=users, is_active=True):
        notify(to=user, kind="care.low_battery", subject=f"一键通电量低：{device.holder.name}",
               body=f"{device.address} 的设备 {device.serial} 电量{level}，请尽快充电或更换电池。",
               link=reverse("care:device_detail", args=[device.pk]),
               key=f"care.battery:{device.pk}:{timezone.localdate(now)}", default_channels=[Channel.IN_APP])


def devices_offline_sweep(*, now: dt.datetime | None = None, chunk: int = 500) -> int:
    """Mark active devices whose heartbeat deadline passed as offline and raise an offline alert for each (to the
    duty officers; the worker makes the calls). One indexed query finds them; each device is marked once (a
    conditional UPDATE: of two sweeps at once, each marks and raises for its own devices). Per chunk of devices: the
    chains come from a cache of the organisations above; the alerts, their events, first steps and jobs are four
    bulk INSERTs. (Bulk rows send no save signals; no rollup counts offline alerts — calls are presses and tests.)
    Returns how many were raised."""
    now = now or timezone.now()
    due = list(Device.objects.filter(is_active=True, offline_since__isnull=True, offline_after__lt=now)
               .values_list("pk", flat=True))
    cache = ChainCache()
    raised = 0
    for start in range(0, len(due), chunk):
        with transaction.atomic():
            ids = due[start:start + chunk]
            Device.objects.filter(pk__in=ids, offline_since__isnull=True, offline_after__lt=now).update(
                offline_since=now)
            devices = list(Device.objects.filter(pk__in=ids, offline_since=now).select_related("org", "policy"))
            keys = {d.pk: f"offline:{d.pk}:{d.offline_after.isoformat()}" for d in devices}
            seen = set(Alert.objects.filter(key__in=keys.values()).values_list("key", flat=True))
            alerts = Alert.objects.bulk_create([
                _new_alert(device=device, kind=Alert.Kind.OFFLINE, key=keys[device.pk], now=now, event=None,
                           cache=cache) for device in devices if keys[device.pk] not in seen])
            _first_steps_pending(alerts, now=now)
            raised += len(alerts)
    return raised


def nonces_prune(*, now: dt.datetime | None = None) -> int:
    """Drop nonces older than twice the accepted skew: a request that old is refused for its timestamp anyway."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=2 * int(conf("CARE_INGRESS_MAX_SKEW_SECONDS")))
    deleted, _ = DeviceNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
