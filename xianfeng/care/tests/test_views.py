"""Care pages and the API through HTTP: the ingress endpoint, the console, the one-tap link, funds, cases, devices,
figures — and an outsider (Qinshan's secretary) gets 404 everywhere."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from xianfeng.care import services
from xianfeng.care.models import Alert, CareAction, DeviceEvent, Disbursement
from xianfeng.care.views import gateway_headers

from .conftest import press


def post_event(client, device, event, **overrides):
    env = services.signed_envelope(device, event)
    headers = gateway_headers(env, device.serial)
    headers.update(overrides)
    return client.post(reverse("care:ingress"), data=env["body"], content_type="application/json", **headers)


# --- ingress -------------------------------------------------------------------------------------------------------


def test_gateway_post_raises_then_repeats_idempotently(care, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        first = post_event(client, care.device, {"event_id": "g-1", "type": "press"})
    assert first.status_code == 201 and first.json()["alert"]
    again = post_event(client, care.device, {"event_id": "g-1", "type": "press"})
    assert again.status_code == 200 and again.json()["alert"] == first.json()["alert"]
    assert Alert.objects.count() == 1


def test_gateway_refusals_have_their_status_codes(care):
    client = Client()
    assert post_event(client, care.device, {"event_id": "g", "type": "press"},
                      HTTP_X_DEVICE_SIGNATURE="ab" * 32).status_code == 401
    assert post_event(client, care.device, {"event_id": "g", "type": "press"},
                      HTTP_X_DEVICE_SERIAL="NOPE").status_code == 404
    assert post_event(client, care.device, {"event_id": "g", "type": "press"},
                      HTTP_X_DEVICE_TIMESTAMP="100").status_code == 401
    env = services.signed_envelope(care.device, {"event_id": "g2", "type": "press"})
    headers = gateway_headers(env, care.device.serial)
    assert client.post(reverse("care:ingress"), env["body"], content_type="application/json",
                       **headers).status_code == 201
    assert client.post(reverse("care:ingress"), env["body"], content_type="application/json",
                       **headers).status_code == 409
    assert client.get(reverse("care:ingress")).status_code == 405
    assert Alert.objects.count() == 1
    assert DeviceEvent.objects.exclude(outcome="accepted").count() == 4


# --- console and acknowledgement -----------------------------------------------------------------------------------


def test_console_shows_open_alerts_in_scope_only(care, client_for):
    press(care.device)
    html = client_for("hebin_secretary").get(reverse("care:console_rows")).content.decode()
    assert care.device.address in html and "待响应" in html
    html = client_for("qinshan_secretary").get(reverse("care:console_rows")).content.decode()
    assert care.device.address not in html
    page = client_for("hebin_secretary").get(reverse("care:console")).content.decode()
    assert 'hx-trigger="every 2s"' in page


def test_console_shows_the_share_acknowledged_within_60_seconds(care, client_for):
    now = dt.datetime.now(dt.UTC)
    for i, wait in enumerate([10, 30, 90, 200]):
        alert = press(care.device, f"e{i}", now=now - dt.timedelta(seconds=600)).alert
        services.alert_acknowledge(alert=alert, actor=care.volunteer, now=alert.raised_at + dt.timedelta(seconds=wait))
    response = client_for("hebin_secretary").get(reverse("care:console_rows"))
    html = response.content.decode()
    assert response.context["month"].within_60.x == 2 and response.context["month"].within_60.n == 4
    assert "50.0%" in html and "2 / 4" in html


def test_the_one_tap_link_shows_then_acknowledges_without_sign_in(care):
    alert = press(care.device).alert
    link = reverse("care:ack", args=[services.ack_token(alert, care.family)])
    client = Client()
    page = client.get(link)
    assert page.status_code == 200 and care.device.address in page.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN  # a GET (a link preview) changes nothing
    response = client.post(link, {"action": "ack"}, follow=True)
    assert "已响应" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == care.family
    client.post(link, {"action": "arrive"})
    client.post(link, {"action": "resolve", "outcome": "false_alarm", "notes": "误按"})
    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED and alert.outcome == "false_alarm"


def test_a_forged_or_foreign_link_is_404(care):
    alert = press(care.device).alert
    assert Client().get(reverse("care:ack", args=["nonsense"])).status_code == 404
    stranger = care.world.qinshan_secretary
    assert Client().get(reverse("care:ack", args=[services.ack_token(alert, stranger)])).status_code == 404


def test_a_second_responder_sees_the_call_taken(care):
    alert = press(care.device).alert
    services.alert_acknowledge(alert=alert, actor=care.volunteer)
    html = Client().get(reverse("care:ack", args=[services.ack_token(alert, care.family)])).content.decode()
    assert "无需前往" in html and 'data-testid="ack-button"' not in html


def test_alert_pages_and_actions_are_404_out_of_scope(care, client_for):
    alert = press(care.device).alert
    outsider = client_for("qinshan_secretary")
    assert outsider.get(reverse("care:alert_detail", args=[alert.pk])).status_code == 404
    assert outsider.post(reverse("care:alert_action", args=[alert.pk, "ack"])).status_code == 404
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    inside = client_for("hebin_secretary")
    assert inside.get(reverse("care:alert_detail", args=[alert.pk])).status_code == 200
    inside.post(reverse("care:alert_action", args=[alert.pk, "ack"]))
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED


# --- funds, cases, devices, figures --------------------------------------------------------------------------------


@pytest.mark.parametrize("name,kwargs", [("fund_detail", "hebin_fund"), ("case_detail", "case"),
                                         ("device_detail", "device")])
def test_detail_pages_answer_404_to_an_outsider(care, client_for, name, kwargs):
    obj = getattr(care, kwargs)
    assert client_for("hebin_secretary").get(reverse(f"care:{name}", args=[obj.pk])).status_code == 200
    assert client_for("qinshan_secretary").get(reverse(f"care:{name}", args=[obj.pk])).status_code == 404


def test_lists_show_only_what_is_in_scope(care, client_for):
    for name in ["fund_list", "case_list", "device_list", "figures"]:
        assert client_for("hebin_secretary").get(reverse(f"care:{name}")).status_code == 200
    assert care.case.member.person.name in client_for("hebin_secretary").get(reverse("care:case_list")).content.decode()
    assert care.case.member.person.name not in client_for("qinshan_secretary").get(
        reverse("care:case_list")).content.decode()
    assert care.device.serial not in client_for("qinshan_secretary").get(reverse("care:device_list")).content.decode()


def test_a_carer_records_a_visit_and_requests_aid_on_the_case_page(care, client_for):
    from django.utils import timezone

    services.fund_contribute(fund=care.hebin_fund, amount=500_00, memo="捐赠", key="k", actor=care.world.county_admin)
    client = Client()
    client.force_login(care.volunteer)
    url = reverse("care:case_detail", args=[care.case.pk])
    today = timezone.localdate()
    response = client.post(url, {"form": "action", "kind": "visit", "date": today.isoformat(), "notes": "陪同就医"})
    assert response.status_code == 302
    assert CareAction.objects.get().notes == "陪同就医"
    client.post(url, {"form": "disbursement", "fund": care.hebin_fund.pk, "amount": "200.50", "reason": "药费"})
    d = Disbursement.objects.get()
    assert d.amount == 200_50 and d.requested_by == care.volunteer
    bad = client.post(url, {"form": "disbursement", "fund": care.hebin_fund.pk, "amount": "1.234", "reason": "x"})
    assert bad.status_code == 200 and Disbursement.objects.count() == 1
    sec = client_for("hebin_secretary")
    sec.post(reverse("care:disbursement_action", args=[d.pk, "review"]), {"decision": "approve"})
    sec.post(reverse("care:disbursement_action", args=[d.pk, "decide"]), {"decision": "approve"})
    d.refresh_from_db()
    assert d.status == Disbursement.Status.PAID
    assert client_for("qinshan_secretary").post(reverse("care:disbursement_action", args=[d.pk, "review"]),
                                                {"decision": "approve"}).status_code == 404


def test_an_outsider_cannot_write_on_a_case(care, client_for):
    url = reverse("care:case_detail", args=[care.case.pk])
    assert client_for("qinshan_secretary").post(url, {"form": "action", "kind": "visit", "date": "2026-01-01",
                                                      "notes": "x"}).status_code == 404
    assert not CareAction.objects.exists()


def test_the_signing_key_is_shown_to_staff_only_and_audited(care, client_for):
    from xianfeng.core.models import AuditEvent

    url = reverse("care:device_detail", args=[care.device.pk])
    html = client_for("hebin_secretary").get(url + "?secret=1").content.decode()
    assert care.device.secret in html
    assert AuditEvent.objects.filter(action="unmask", model="care.Device").count() == 1
    client = Client()
    client.force_login(care.hebin_duty)
    assert care.device.secret not in client.get(url + "?secret=1").content.decode()


def test_allocation_through_the_page(care, client_for):
    services.fund_contribute(fund=care.county_fund, amount=1_000_00, memo="x", key="k", actor=care.world.county_admin)
    client = client_for("county_admin")
    url = reverse("care:fund_allocate", args=[care.county_fund.pk])
    data = {"target": care.wuyuan_fund.pk, "amount": "300", "memo": "一季度", "token": "tok-1"}
    client.post(url, data)
    client.post(url, data)  # a double submit: the same token moves the money once
    care.wuyuan_fund.account.refresh_from_db()
    assert care.wuyuan_fund.account.balance == 300_00
    client_for("hebin_secretary").post(url, {**data, "token": "tok-2"})
    care.wuyuan_fund.account.refresh_from_db()
    assert care.wuyuan_fund.account.balance == 300_00


def test_figures_page_counts_by_community(care, client_for):
    now = dt.datetime.now(dt.UTC)
    alert = press(care.device, now=now - dt.timedelta(minutes=5)).alert
    services.alert_acknowledge(alert=alert, actor=care.volunteer, now=alert.raised_at + dt.timedelta(seconds=40))
    response = client_for("hebin_secretary").get(reverse("care:figures"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r.name, r.figures.calls, r.figures.within_60.x) for r in rows] == [("海盐县/武原镇/河滨社区", 1, 1)]
    assert client_for("qinshan_secretary").get(reverse("care:figures")).context["rows"] == []


# --- API -----------------------------------------------------------------------------------------------------------


def test_api_lists_in_scope_and_alert_actions(care, client_for):
    alert = press(care.device).alert
    inside, outsider = client_for("hebin_secretary"), client_for("qinshan_secretary")
    for name in ["care-funds", "care-cases", "care-devices", "care-alerts"]:
        assert inside.get(f"/api/v1/{name}/").json()["count"] >= 1
        assert outsider.get(f"/api/v1/{name}/").json()["count"] == 0
    assert outsider.get(f"/api/v1/care-alerts/{alert.pk}/").status_code == 404
    assert outsider.post(f"/api/v1/care-alerts/{alert.pk}/acknowledge/").status_code == 404
    assert inside.post(f"/api/v1/care-alerts/{alert.pk}/acknowledge/").json()["status"] == "acknowledged"
    assert inside.post(f"/api/v1/care-alerts/{alert.pk}/acknowledge/").status_code == 409
    bad = inside.post(f"/api/v1/care-alerts/{alert.pk}/resolve/", json.dumps({"outcome": "nope"}),
                      content_type="application/json")
    assert bad.status_code == 400
    ok = inside.post(f"/api/v1/care-alerts/{alert.pk}/resolve/", json.dumps({"outcome": "false_alarm"}),
                     content_type="application/json")
    assert ok.json()["status"] == "resolved"


def test_figures_page_counts_every_call_like_the_registered_indicator(care, client_for):
    """All calls by default and every call in n, an unanswered one just raised too: the figures page, the cockpit,
    the rates panel and the report give one value."""
    from xianfeng.core.indicators import indicators

    now = dt.datetime.now(dt.UTC)
    answered = press(care.device, "f1", now=now - dt.timedelta(days=400)).alert  # older than the old 365-day default
    services.alert_acknowledge(alert=answered, actor=care.volunteer, now=answered.raised_at + dt.timedelta(seconds=40))
    press(care.device, "f2", now=now - dt.timedelta(seconds=5))  # not yet answered
    total = client_for("county_admin").get(reverse("care:figures")).context["total"]
    w = care.world
    assert (total.within_60.x, total.within_60.n) == (1, 2)
    assert indicators()["care.ack_60s"].counts([w.county])[w.county.pk] == (1, 2)
    # the figure's list: the calls acknowledged within 60 s, in the organisation's subtree
    for org, expected in ((w.county, 1), (w.hebin, 1), (w.qinshan, 0)):
        listed = client_for("county_admin").get(indicators()["care.ack_60s"].list_url(org.pk))
        assert listed.status_code == 200 and listed.context["page"].paginator.count == expected
    assert client_for("qinshan_secretary").get(reverse("care:alert_list"), {"within": w.hebin.pk}).status_code == 404
    assert client_for("county_admin").get(reverse("care:alert_list"), {"within": "x"}).status_code == 404
