"""Property tests for what devices, gateways and people type: amounts, event bodies, MQTT topics and envelopes."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xianfeng.care import services
from xianfeng.care.models import Alert, DeviceEvent
from xianfeng.care.mqtt import handle_message, serial_from_topic
from xianfeng.care.services import ingress

PATTERN = "xianfeng/devices/+/events"


@given(st.integers(min_value=1, max_value=10**13 - 1))
def test_an_amount_in_yuan_reads_back_as_the_same_fen(fen):
    assert services.parse_yuan(services.format_yuan(fen)) == fen
    assert services.parse_yuan(f"{fen // 100}.{fen % 100:02d}元") == fen


@given(st.text(max_size=30))
def test_any_typed_amount_is_positive_fen_or_a_clear_error(text):
    try:
        fen = services.parse_yuan(text)
    except services.CareError as exc:
        assert exc.message_dict["amount"]
    else:
        assert isinstance(fen, int) and 0 < fen < 10**13


@given(st.one_of(st.binary(max_size=200), st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(
    st.sampled_from(["event_id", "type", "battery", "x"]),
    st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.text(max_size=12)), max_size=4))))
def test_any_body_parses_to_a_clean_event_or_a_clear_error(body):
    try:
        event = ingress._parse_event(body)
    except services.CareError as exc:
        assert exc.messages
    else:
        assert event["type"] in services.EVENT_TYPES and 1 <= len(event["event_id"]) <= 100
        assert event["battery"] is None or 0 <= event["battery"] <= 100


@given(st.text(alphabet=st.characters(blacklist_characters="/+#", blacklist_categories=["Cs"]), min_size=1,
               max_size=40), st.text(max_size=60))
def test_topics_give_back_their_serial_and_anything_else_none(serial, garbage):
    assert serial_from_topic(PATTERN, f"xianfeng/devices/{serial}/events") == serial
    found = serial_from_topic(PATTERN, garbage)
    assert found is None or garbage == f"xianfeng/devices/{found}/events"


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(st.binary(max_size=120), st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(
    st.sampled_from(["body", "ts", "nonce", "sig"]), st.one_of(st.text(max_size=20), st.integers()), max_size=4))))
def test_any_mqtt_payload_is_refused_and_logged_without_raising(care, payload):
    result = handle_message(PATTERN, f"xianfeng/devices/{care.device.serial}/events", payload)
    assert result.status in (400, 401, 404) and result.outcome != DeviceEvent.Outcome.ACCEPTED
    assert not Alert.objects.exists()
