"""MQTT ingress against the real Mosquitto on 127.0.0.1:1883: idempotent by event id, malformed payloads dropped
while the subscriber keeps running. Each test uses its own topic so parallel runs do not meet."""

import contextlib
import io
import os
import socket
import threading
import time
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


# ---- several subscribers, outages -----------------------------------------------------------------------------------


def test_each_process_has_its_own_client_id():
    first, second = Subscriber(topic=topic()), Subscriber(topic=topic())
    assert first.client_id != second.client_id
    assert first.client_id.startswith("xianfeng-care-") and f"-{os.getpid()}-" in first.client_id
    assert first.subscription.startswith("$share/xianfeng/xf-test/")
    with pytest.raises(ValueError):
        Subscriber(topic=topic(), share_group="a/b")


def test_two_subscribers_split_the_messages_and_none_is_processed_twice():
    pattern, group = topic(), f"g{uuid.uuid4().hex[:6]}"
    seen: dict[str, list[bytes]] = {"a": [], "b": []}
    subscribers = {name: Subscriber(host=HOST, port=PORT, topic=pattern, share_group=group, ready=threading.Event(),
                                    handler=lambda _p, _t, payload, name=name: seen[name].append(payload))
                   for name in seen}
    assert subscribers["a"].client_id != subscribers["b"].client_id
    threads = [threading.Thread(target=s.run, kwargs={"seconds": 30}, daemon=True) for s in subscribers.values()]
    for thread in threads:
        thread.start()
    assert all(s.ready.wait(10) for s in subscribers.values())
    import paho.mqtt.publish as publish

    sent = [f"m{i}".encode() for i in range(40)]
    publish.multiple([{"topic": pattern.replace("+", f"YJT-{i % 7}"), "payload": body, "qos": 1}
                      for i, body in enumerate(sent)], hostname=HOST, port=PORT)
    deadline = time.monotonic() + 15
    while len(seen["a"]) + len(seen["b"]) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a duplicate would arrive by now
    for s in subscribers.values():
        s.stop()
    for thread in threads:
        thread.join(5)
    assert sorted(seen["a"] + seen["b"]) == sorted(sent)  # every message once, none twice
    assert seen["a"] and seen["b"]  # both took a share
    assert not set(seen["a"]) & set(seen["b"])


class Proxy:
    """A TCP relay to the broker that a test can cut (connections closed, new ones refused) and restore."""

    def __init__(self):
        self.port = self._free_port()
        self.connections: list[socket.socket] = []
        self.listener: socket.socket | None = None

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def start(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen()
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((HOST, PORT))
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self):
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close() alone would not
        self.listener.close()
        for s in self.connections:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.connections.clear()


def test_an_outage_is_logged_once_when_lost_and_once_when_restored(caplog):
    proxy = Proxy()
    proxy.start()
    pattern = topic()
    received: list[bytes] = []
    subscriber = Subscriber(host="127.0.0.1", port=proxy.port, topic=pattern, ready=threading.Event(),
                            backoff=(0.05, 0.4), handler=lambda _p, _t, payload: received.append(payload))
    thread = threading.Thread(target=subscriber.run, kwargs={"seconds": 30}, daemon=True)
    with caplog.at_level("WARNING", logger="xianfeng.care.mqtt"):
        thread.start()
        assert subscriber.ready.wait(10)
        subscriber.ready.clear()
        proxy.cut()
        time.sleep(1.5)  # several tries at 0.05, 0.1, 0.2, 0.4, 0.4 … s, all refused
        proxy.start()
        assert subscriber.ready.wait(10)  # reconnected and subscribed again
        import paho.mqtt.publish as publish

        publish.single(pattern.replace("+", "YJT-1"), b"after", qos=1, hostname=HOST, port=PORT)
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        subscriber.stop()
        thread.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "xianfeng.care.mqtt"]
    assert received == [b"after"]
    assert subscriber.attempts >= 4  # the first connection and at least three tries during the outage
    assert len(lines) == 2, lines
    assert "lost" in lines[0] and "restored after" in lines[1]
    assert subscriber.outages == 1
