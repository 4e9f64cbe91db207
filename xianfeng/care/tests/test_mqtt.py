"""MQTT ingress against the real Mosquitto on 127.0.0.1:1883: idempotent by event id, malformed payloads dropped
while the subscriber keeps running. Each test uses its own topic so parallel runs do not meet."""

import io
import socket
import threading
import uuid

import pytest
from django.core.management import call_command

from xianfeng.care import services
from xianfeng.care.models import Alert, DeviceEvent
from xianfeng.care.mqtt import Subscriber, publish_envelope, serial_from_topic

HOST, PORT = "127.0.0.1", 1883


def broker_up() -> bool:
    try:
        socket.create_connection((HOST, PORT), timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not broker_up(), reason="Mosquitto is not running on 127.0.0.1:1883")


def topic() -> str:
    return f"xf-test/{uuid.uuid4().hex[:10]}/+/events"


def publish_when_ready(ready: threading.Event, messages: list[tuple[str, object]], pattern: str) -> threading.Thread:
    """Publish (serial, envelope or raw bytes) messages once the subscriber's subscription is acknowledged."""
    import paho.mqtt.publish as publish

    def go():
        if not ready.wait(10):
            return
        for serial, payload in messages:
            if isinstance(payload, bytes):
                publish.single(pattern.replace("+", serial), payload, qos=1, hostname=HOST, port=PORT)
            else:
                publish_envelope(payload, serial, host=HOST, port=PORT, topic=pattern)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def test_serial_from_topic():
    assert serial_from_topic("xianfeng/devices/+/events", "xianfeng/devices/YJT-1/events") == "YJT-1"
    assert serial_from_topic("xianfeng/devices/+/events", "xianfeng/devices/YJT-1/other") is None
    assert serial_from_topic("xianfeng/devices/+/events", "xianfeng/YJT-1/events") is None


def test_a_press_over_mqtt_is_idempotent_and_garbage_is_dropped(care, django_capture_on_commit_callbacks):
    pattern = topic()
    device = care.device
    press = services.signed_envelope(device, {"event_id": "m1", "type": "press"})
    again = services.signed_envelope(device, {"event_id": "m1", "type": "press"})  # the gateway's retry, new nonce
    messages = [(device.serial, b"\xff not json"), (device.serial, {"body": 1}), (device.serial, press),
                (device.serial, press),  # the very same message twice: a replay
                (device.serial, again), ("NOPE-9", services.signed_envelope(device, {"event_id": "m2",
                                                                                      "type": "press"}))]
    ready = threading.Event()
    subscriber = Subscriber(host=HOST, port=PORT, topic=pattern, client_id=f"xf-test-{uuid.uuid4().hex[:8]}",
                            clean_session=True, ready=ready)
    thread = publish_when_ready(ready, messages, pattern)
    with django_capture_on_commit_callbacks(execute=True):
        handled = subscriber.run(max_messages=len(messages), seconds=20)
    thread.join(5)
    assert handled == len(messages)
    assert Alert.objects.count() == 1
    outcomes = sorted(DeviceEvent.objects.values_list("outcome", flat=True))
    assert outcomes == sorted(["malformed", "malformed", "accepted", "replay", "duplicate", "unknown_device"])
    assert subscriber.outcomes["accepted"] == 1
    alert = Alert.objects.get()
    assert alert.event.source == "mqtt" and alert.steps.filter(status="done").count() == 1


def test_the_mqtt_command_runs_and_summarises(care):
    pattern = topic()
    ready = threading.Event()
    heartbeat = services.signed_envelope(care.device, {"event_id": "hb-1", "type": "heartbeat", "battery": 88})

    import xianfeng.care.management.commands.mqtt as command

    original = command.Subscriber

    def make(**kwargs):
        return original(ready=ready, clean_session=True, **kwargs)

    command.Subscriber = make
    try:
        thread = publish_when_ready(ready, [(care.device.serial, heartbeat)], pattern)
        out = io.StringIO()
        call_command("mqtt", "--topic", pattern, "--max-messages", "1", "--seconds", "20",
                     "--client-id", f"xf-test-{uuid.uuid4().hex[:8]}", stdout=out)
        thread.join(5)
    finally:
        command.Subscriber = original
    assert "handled 1 messages" in out.getvalue() and "1 accepted" in out.getvalue()
    care.device.refresh_from_db()
    assert care.device.battery_pct == 88
