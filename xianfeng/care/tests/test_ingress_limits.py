"""Device ingress under a flood: both paths (HTTPS, MQTT) cap the message size the same way, and refused messages are
written at most CARE_REFUSED_ROWS_PER_MINUTE rows a minute per path, outcome and device (strangers counting as one)."""

import datetime as dt
import json
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from xianfeng.care import mqtt, services
from xianfeng.care.models import Alert, DeviceEvent
from xianfeng.care.tests.conftest import T0
from xianfeng.care.views import gateway_headers

PATTERN = "xianfeng/devices/+/events"
CAP = 5


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    settings.CARE_REFUSED_ROWS_PER_MINUTE = CAP
    cache.clear()
    yield
    cache.clear()  # the counters must not suppress rows other tests expect


def _mqtt(serial: str, payload: bytes) -> services.IngestResult:
    return mqtt.handle_message(PATTERN, PATTERN.replace("+", serial), payload)


def _one_minute(time_machine) -> None:
    """The flood inside one minute of the clock: the cap is per minute, and 200 requests on a busy machine may
    otherwise straddle two."""
    time_machine.move_to(dt.datetime.now(dt.UTC).replace(second=1, microsecond=0), tick=False)


def test_a_flood_from_unknown_serials_over_https_writes_a_handful_of_rows(care, time_machine):
    _one_minute(time_machine)
    client = Client()
    env = services.signed_envelope(care.device, {"event_id": "x", "type": "press"})
    statuses = set()
    for _ in range(200):
        headers = gateway_headers(env, f"STRANGER-{uuid.uuid4().hex[:8]}")
        statuses.add(client.post(reverse("care:ingress"), env["body"], content_type="application/json",
                                 **headers).status_code)
    assert statuses == {404}
    assert DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.UNKNOWN_DEVICE).count() == CAP
    assert not Alert.objects.exists()


def test_a_flood_from_unknown_serials_over_mqtt_writes_a_handful_of_rows(care, time_machine):
    _one_minute(time_machine)
    env = services.signed_envelope(care.device, {"event_id": "x", "type": "press"})
    outcomes = {_mqtt(f"STRANGER-{i}", json.dumps(env).encode()).outcome for i in range(200)}
    garbage = {_mqtt(f"STRANGER-{i}", b"\xff not json").outcome for i in range(200)}
    assert outcomes == {DeviceEvent.Outcome.UNKNOWN_DEVICE} and garbage == {DeviceEvent.Outcome.MALFORMED}
    assert DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.UNKNOWN_DEVICE).count() == CAP
    assert DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.MALFORMED).count() == CAP


def test_a_known_serial_with_bad_signatures_is_capped_too_and_real_presses_still_pass(care):
    env = services.signed_envelope(care.device, {"event_id": "x", "type": "press"})
    for _ in range(100):
        result = _mqtt(care.device.serial, json.dumps({**env, "sig": "0" * 64}).encode())
        assert result.status == 401
    assert DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.BAD_SIGNATURE).count() == CAP
    good = services.signed_envelope(care.device, {"event_id": "real", "type": "press"})
    assert _mqtt(care.device.serial, json.dumps(good).encode()).status == 201
    assert DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.ACCEPTED).count() == 1


def test_the_next_minute_writes_again_and_carries_the_count(care):
    for _ in range(50):
        services.ingest(serial="NOPE", body=b"{}", timestamp="1", nonce="abcdefgh", signature="0" * 64,
                        source="http", now=T0)
    services.ingest(serial="NOPE", body=b"{}", timestamp="1", nonce="abcdefgh", signature="0" * 64, source="http",
                    now=T0 + dt.timedelta(seconds=61))
    rows = list(DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.UNKNOWN_DEVICE).order_by("id"))
    assert len(rows) == CAP + 1
    assert rows[-1].payload == {"refused_previous_minute": 50}


def test_a_signed_megabyte_over_mqtt_is_refused_before_parsing(care):
    event = {"event_id": "big", "type": "press", "padding": "x" * 1_000_000}
    env = services.signed_envelope(care.device, event)
    result = _mqtt(care.device.serial, json.dumps(env).encode())
    assert result.status == 413 and result.outcome == DeviceEvent.Outcome.MALFORMED and "上限 8,192" in result.detail
    assert not Alert.objects.exists()
    assert not DeviceEvent.objects.filter(outcome=DeviceEvent.Outcome.ACCEPTED).exists()


def test_the_same_cap_over_https(care):
    event = {"event_id": "big", "type": "press", "padding": "x" * 9000}
    env = services.signed_envelope(care.device, event)
    response = Client().post(reverse("care:ingress"), env["body"], content_type="application/json",
                             **gateway_headers(env, care.device.serial))
    assert response.status_code == 413 and "上限 8,192" in response.json()["detail"]
    assert not Alert.objects.exists()


def test_the_cap_is_a_setting(care, settings):
    settings.CARE_INGRESS_MAX_BYTES = 100
    env = services.signed_envelope(care.device, {"event_id": "small", "type": "press"})
    assert _mqtt(care.device.serial, json.dumps(env).encode()).status == 413
