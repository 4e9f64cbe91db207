"""A one-key call: the device gateway POSTs a signed press; within 2 s the duty console shows it; the paired
volunteer acknowledges on a phone-sized window through the one-tap link; the console updates and shows the share
acknowledged within 60 s."""

import json
import time
import urllib.request

import pytest
from django.urls import reverse

from xianfeng.care import services
from xianfeng.care.models import Alert
from xianfeng.care.tests.conftest import care  # noqa: F401 (the care module's test county fixture)
from xianfeng.notify.models import Notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def gateway_post(base_url: str, device, event: dict) -> dict:
    env = services.signed_envelope(device, event)
    request = urllib.request.Request(base_url + reverse("care:ingress"), data=env["body"].encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-Device-Serial": device.serial,
                                              "X-Device-Timestamp": env["ts"], "X-Device-Nonce": env["nonce"],
                                              "X-Device-Signature": env["sig"]})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the test server)
        assert response.status == 201
        return json.loads(response.read())


def test_a_press_reaches_the_console_and_is_acknowledged_on_a_phone(care, live_server, open_page, sign_in):  # noqa: F811
    console = open_page("desktop")
    sign_in(console, "hebin_duty")
    console.goto(live_server.url + reverse("care:console"))
    console.get_by_test_id("no-alerts").wait_for()

    pressed = time.monotonic()
    alert_id = gateway_post(live_server.url, care.device, {"event_id": "journey-1", "type": "press"})["alert"]
    card = console.get_by_test_id(f"alert-{alert_id}")
    card.wait_for(timeout=2500)
    assert time.monotonic() - pressed <= 2.5  # polled every 2 s
    assert care.device.address in card.inner_text() and "待响应" in card.inner_text()

    link = Notification.objects.get(recipient=care.volunteer, key=f"care.alert:{alert_id}:step:1").link
    phone = open_page("phone")
    phone.goto(live_server.url + link)
    assert care.device.address in phone.inner_text("main")
    phone.get_by_test_id("ack-button").click()
    phone.get_by_test_id("arrive-button").wait_for()
    assert "已响应" in phone.get_by_test_id("ack-status").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # nothing overflows the phone

    console.locator(f"[data-testid=alert-{alert_id}][data-status=acknowledged]").wait_for(timeout=3000)
    assert "赵志愿" in card.get_by_test_id("acked-by").inner_text()
    assert console.get_by_test_id("ack60").inner_text() == "100.0%"
    assert Alert.objects.get(pk=alert_id).status == Alert.Status.ACKNOWLEDGED
