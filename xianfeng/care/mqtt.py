"""The MQTT side of device ingress: `xianfeng mqtt` subscribes to one topic per device and feeds services.ingest.

Topic: CARE_MQTT_TOPIC with the device serial in place of the `+` (default `xianfeng/devices/<serial>/events`).
Payload: the same signed envelope a gateway sends over HTTPS, as JSON —
    {"body": "<the event JSON, as a string>", "ts": "<unix seconds>", "nonce": "<8–64 chars>", "sig": "<hex HMAC>"}
so one check (signature, timestamp, nonce, event id) serves both paths. A payload that is not such an envelope is
logged (a DeviceEvent with outcome malformed) and dropped; the subscriber keeps running whatever one message does.

Every process has a client id of its own and joins one shared subscription (`$share/<group>/<topic>`, MQTT 5 and
Mosquitto 2): several subscribers split the messages between them, each message processed by one. The session is
clean, so the broker keeps no queue for a process that is gone; run two subscribers (two hosts, or restart them one at
a time) so that one is always connected. A message redelivered after a crash is a duplicate event id — harmless.
Callbacks run in the thread that calls `run()`, so the database connection is that thread's.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from . import services
from .conf import conf
from .models import DeviceEvent
from .services import ingress

logger = logging.getLogger("xianfeng.care.mqtt")


def serial_from_topic(pattern: str, topic: str) -> str | None:
    """The `+` segment of `topic` under `pattern` (one `+` in the pattern), or None if the topic does not match."""
    want, got = pattern.split("/"), topic.split("/")
    if len(want) != len(got):
        return None
    serial = None
    for w, g in zip(want, got, strict=True):
        if w == "+":
            serial = g
        elif w != g:
            return None
    return serial


def handle_message(topic_pattern: str, topic: str, payload: bytes) -> services.IngestResult:
    """Check and ingest one MQTT message; never raises for the message's own faults."""
    serial = serial_from_topic(topic_pattern, topic) or ""
    refused = services.refuse_oversize(size=len(payload), serial=serial, source=DeviceEvent.Source.MQTT)
    if refused is not None:  # the same cap as HTTPS, before the payload is parsed
        return refused
    try:
        envelope = json.loads(payload.decode("utf-8"))
        if not isinstance(envelope, dict) or not all(isinstance(envelope.get(k), str)
                                                     for k in ("body", "ts", "nonce", "sig")):
            raise ValueError("not an envelope")
    except (UnicodeDecodeError, ValueError):
        return ingress._reject(status=400, outcome=DeviceEvent.Outcome.MALFORMED,
                                detail="MQTT 消息不是签名信封 {body, ts, nonce, sig}", serial=serial,
                                source=DeviceEvent.Source.MQTT, now=timezone.now())
    return services.ingest(serial=serial, body=envelope["body"].encode("utf-8"), timestamp=envelope["ts"],
                           nonce=envelope["nonce"], signature=envelope["sig"], source=DeviceEvent.Source.MQTT)


def unique_client_id(prefix: str | None = None) -> str:
    """`<prefix>-<host>-<pid>-<random>`: never the same for two processes, so two subscribers (a second host, a
    restart overlapping the old process) do not push each other off the broker."""
    return f"{prefix or conf('CARE_MQTT_CLIENT_ID')}-{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class Subscriber:
    """One subscriber connection. `run()` returns after `max_messages` messages, after `seconds`, or on stop().

    It joins the shared subscription `$share/<share_group>/<topic>`: the broker hands each message to one member of the
    group, so several subscribers (on several hosts) split the devices' messages and none is processed twice. A lost
    connection is retried after 1, 2, 4 … seconds (up to CARE_MQTT_BACKOFF_MAX_SECONDS); each outage is logged once
    when it begins and once when the connection is back, with how long it lasted.
    """

    def __init__(self, *, host: str | None = None, port: int | None = None, topic: str | None = None,
                 client_id: str | None = None, share_group: str | None = None, clean_session: bool = True,
                 ready: threading.Event | None = None, backoff: tuple[float, float] | None = None,
                 handler: Callable[[str, str, bytes], Any] | None = None):
        self.host = host or conf("CARE_MQTT_HOST")
        self.port = int(port or conf("CARE_MQTT_PORT"))
        self.topic = topic or conf("CARE_MQTT_TOPIC")
        if self.topic.count("+") != 1 or "#" in self.topic or self.topic.startswith("$"):
            raise ValueError("the topic needs exactly one + (the device serial), no # and no leading $")
        group = conf("CARE_MQTT_SHARE_GROUP") if share_group is None else share_group
        if group and any(c in group for c in "/+#"):
            raise ValueError("the share group may not contain /, + or #")
        self.subscription = f"$share/{group}/{self.topic}" if group else self.topic
        self.client_id = client_id or unique_client_id()
        self.ready = ready or threading.Event()
        self.handled = 0
        self.outcomes: dict[str, int] = {}
        self.outages = 0  # connections lost (or not made) and then restored
        self.attempts = 0  # connection attempts, the first included
        self._handler = handler or handle_message
        self._stop = threading.Event()
        self._backoff_min, self._backoff_max = backoff or (1.0, float(conf("CARE_MQTT_BACKOFF_MAX_SECONDS")))
        self._delay = self._backoff_min
        self._down_since: float | None = None  # monotonic start of the current outage
        self._ever_connected = False
        self._refusal: str | None = None
        # Each process's id is its own, so its session is never resumed by anyone: a clean session leaves nothing
        # behind at the broker (a kept session of a dead process would still be dealt its share of the messages).
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                  clean_session=clean_session)
        if conf("CARE_MQTT_USERNAME"):
            self.client.username_pw_set(conf("CARE_MQTT_USERNAME"), conf("CARE_MQTT_PASSWORD") or None)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self._refusal = f"refused: {reason_code}"  # the broker closes the connection; the outage logs it
            return
        self._refusal = None
        if self._down_since is not None:
            if self._ever_connected:
                logger.warning("MQTT connection to %s:%s restored after %.1f s", self.host, self.port,
                               time.monotonic() - self._down_since)
                self.outages += 1
            else:
                logger.warning("MQTT connected to %s:%s after %.1f s", self.host, self.port,
                               time.monotonic() - self._down_since)
            self._down_since = None
        self._ever_connected = True
        client.subscribe(self.subscription, qos=1)  # again on every reconnect (a clean session keeps none)

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, reason_codes: Any, properties: Any) -> None:
        self.ready.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if not connection.in_atomic_block:  # (it is only inside a test's transaction)
            close_old_connections()  # drop a connection past CONN_MAX_AGE or broken before using it
        try:
            result = self._handler(self.topic, message.topic, message.payload)
            outcome = getattr(result, "outcome", "handled")
        except DatabaseError:
            # Stop without acknowledging it: the process exits, its supervisor restarts it, and the broker hands the
            # message to another member of the group.
            logger.exception("database error on an MQTT message; stopping so it is delivered again")
            raise
        except Exception:  # one bad message never stops the subscriber
            logger.exception("MQTT message on %s dropped", message.topic)
            outcome = "error"
        self.handled += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def stop(self) -> None:
        self._stop.set()

    def _failed(self, reason: str) -> float:
        """Note a failed connection or try; log only the first of an outage. Returns the wait before the next try."""
        now = time.monotonic()
        reason = self._refusal or reason
        if self._down_since is None:
            self._down_since = now
            self._delay = self._backoff_min
            if self._ever_connected:
                logger.warning("MQTT connection to %s:%s lost (%s); reconnecting with backoff up to %g s",
                               self.host, self.port, reason, self._backoff_max)
            else:
                logger.warning("MQTT broker %s:%s unreachable (%s); retrying with backoff up to %g s",
                               self.host, self.port, reason, self._backoff_max)
        else:
            self._delay = min(self._delay * 2, self._backoff_max)
        return self._delay

    def run(self, *, max_messages: int | None = None, seconds: float | None = None) -> int:
        deadline = None if seconds is None else time.monotonic() + seconds
        linked = False  # a socket to the broker is open (its CONNACK may still be on the way)
        next_try = time.monotonic()
        try:
            while not self._stop.is_set():
                if max_messages is not None and self.handled >= max_messages:
                    break
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if linked:
                    rc = self.client.loop(timeout=0.2)
                    if rc != mqtt.MQTT_ERR_SUCCESS:
                        linked = False
                        next_try = time.monotonic() + self._failed(mqtt.error_string(rc))
                elif now >= next_try:
                    self.attempts += 1
                    try:
                        self.client.connect(self.host, self.port, keepalive=30)
                        linked = True
                    except OSError as exc:
                        next_try = time.monotonic() + self._failed(str(exc) or type(exc).__name__)
                else:
                    time.sleep(min(0.2, next_try - now))
        finally:
            if linked and self.client.is_connected():
                self.client.disconnect()
        return self.handled


def publish_envelope(envelope: dict, serial: str, *, host: str | None = None, port: int | None = None,
                     topic: str | None = None, qos: int = 1) -> None:
    """Publish one signed envelope as a device gateway would (tests, the demo, benchmarks)."""
    import paho.mqtt.publish as publish

    pattern = topic or conf("CARE_MQTT_TOPIC")
    publish.single(pattern.replace("+", serial), json.dumps(envelope), qos=qos,
                   hostname=host or conf("CARE_MQTT_HOST"), port=int(port or conf("CARE_MQTT_PORT")))
