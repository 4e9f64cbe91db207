"""The MQTT side of device ingress: `xianfeng mqtt` subscribes to one topic per device and feeds services.ingest.

Topic: CARE_MQTT_TOPIC with the device serial in place of the `+` (default `xianfeng/devices/<serial>/events`).
Payload: the same signed envelope a gateway sends over HTTPS, as JSON —
    {"body": "<the event JSON, as a string>", "ts": "<unix seconds>", "nonce": "<8–64 chars>", "sig": "<hex HMAC>"}
so one check (signature, timestamp, nonce, event id) serves both paths. A payload that is not such an envelope is
logged (a DeviceEvent with outcome malformed) and dropped; the subscriber keeps running whatever one message does.

The session is persistent (clean_session off, QoS 1): messages published while the subscriber is down are kept by
the broker and delivered when it reconnects; a message redelivered after a crash is a duplicate event id — harmless.
Callbacks run in the thread that calls `run()`, so the database connection is that thread's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from . import services
from .conf import conf
from .models import DeviceEvent

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
    try:
        envelope = json.loads(payload.decode("utf-8"))
        if not isinstance(envelope, dict) or not all(isinstance(envelope.get(k), str)
                                                     for k in ("body", "ts", "nonce", "sig")):
            raise ValueError("not an envelope")
    except (UnicodeDecodeError, ValueError):
        return services._reject(status=400, outcome=DeviceEvent.Outcome.MALFORMED,
                                detail="MQTT 消息不是签名信封 {body, ts, nonce, sig}", serial=serial,
                                source=DeviceEvent.Source.MQTT, now=timezone.now())
    return services.ingest(serial=serial, body=envelope["body"].encode("utf-8"), timestamp=envelope["ts"],
                           nonce=envelope["nonce"], signature=envelope["sig"], source=DeviceEvent.Source.MQTT)


class Subscriber:
    """One subscriber connection. `run()` returns after `max_messages` messages, after `seconds`, or on stop()."""

    def __init__(self, *, host: str | None = None, port: int | None = None, topic: str | None = None,
                 client_id: str | None = None, clean_session: bool = False, ready: threading.Event | None = None):
        self.host = host or conf("CARE_MQTT_HOST")
        self.port = int(port or conf("CARE_MQTT_PORT"))
        self.topic = topic or conf("CARE_MQTT_TOPIC")
        if self.topic.count("+") != 1 or "#" in self.topic:
            raise ValueError("the topic needs exactly one + (the device serial) and no #")
        self.ready = ready or threading.Event()
        self.handled = 0
        self.outcomes: dict[str, int] = {}
        self._stop = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or conf("CARE_MQTT_CLIENT_ID"),
                                  clean_session=clean_session)
        if conf("CARE_MQTT_USERNAME"):
            self.client.username_pw_set(conf("CARE_MQTT_USERNAME"), conf("CARE_MQTT_PASSWORD") or None)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            logger.error("MQTT connection refused: %s", reason_code)
            return
        client.subscribe(self.topic, qos=1)  # again on every reconnect

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, reason_codes: Any, properties: Any) -> None:
        self.ready.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if not connection.in_atomic_block:  # (it is only inside a test's transaction)
            close_old_connections()  # drop a connection past CONN_MAX_AGE or broken before using it
        try:
            result = handle_message(self.topic, message.topic, message.payload)
            outcome = result.outcome
        except DatabaseError:
            # Stop without acknowledging it: the process exits, its supervisor restarts it, and the broker (persistent
            # session) delivers the message again.
            logger.exception("database error on an MQTT message; stopping so it is delivered again")
            raise
        except Exception:  # one bad message never stops the subscriber
            logger.exception("MQTT message on %s dropped", message.topic)
            outcome = "error"
        self.handled += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def stop(self) -> None:
        self._stop.set()

    def run(self, *, max_messages: int | None = None, seconds: float | None = None) -> int:
        self.client.connect(self.host, self.port, keepalive=30)
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            while not self._stop.is_set():
                if max_messages is not None and self.handled >= max_messages:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                rc = self.client.loop(timeout=0.2)
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    logger.warning("MQTT connection lost (%s); reconnecting", mqtt.error_string(rc))
                    time.sleep(1)
                    try:
                        self.client.reconnect()
                    except OSError:
                        logger.warning("MQTT reconnect failed; retrying")
        finally:
            self.client.disconnect()
        return self.handled


def publish_envelope(envelope: dict, serial: str, *, host: str | None = None, port: int | None = None,
                     topic: str | None = None, qos: int = 1) -> None:
    """Publish one signed envelope as a device gateway would (tests, the demo, benchmarks)."""
    import paho.mqtt.publish as publish

    pattern = topic or conf("CARE_MQTT_TOPIC")
    publish.single(pattern.replace("+", serial), json.dumps(envelope), qos=qos,
                   hostname=host or conf("CARE_MQTT_HOST"), port=int(port or conf("CARE_MQTT_PORT")))
