import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from xianfeng.jobs.worker import Worker
from xianfeng.notify.models import ChannelPreference, Notification, SmsMessage
from xianfeng.notify.services import notify, preference_set


@pytest.fixture
def notes(world):
    made = [notify(to=world.member, kind="pledge.reviewed", subject=f"承诺审定 {i}", body="请查看", link="/pledges/1/",
                   key=f"pledge:{i}") for i in range(3)]
    other = notify(to=world.hebin_secretary, kind="case.escalated", subject="书记的通知", key="case:9")
    return made, other


def test_inbox_lists_my_notifications_only(client_for, notes):
    body = client_for("member").get(reverse("notify:inbox")).content.decode()
    assert body.count('data-testid="notification"') == 3 and "书记的通知" not in body
    assert 'data-testid="unread-count">3<' in body


def test_someone_elses_notification_is_404(client_for, notes):
    _, other = notes
    client = client_for("member")
    assert client.get(reverse("notify:detail", args=[other.pk])).status_code == 404
    assert client.post(reverse("notify:mark_read", args=[other.pk])).status_code == 404
    assert client.get(f"/api/v1/notifications/{other.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{other.pk}/read/").status_code == 404
    other.refresh_from_db()
    assert other.read_at is None


def test_opening_a_notification_marks_it_read(client_for, notes):
    made, _ = notes
    response = client_for("member").get(reverse("notify:detail", args=[made[0].pk]))
    assert response.status_code == 200 and "承诺审定 0" in response.content.decode()
    made[0].refresh_from_db()
    assert made[0].read_at is not None


def test_mark_read_with_htmx_returns_the_row(client_for, notes):
    made, _ = notes
    response = client_for("member").post(reverse("notify:mark_read", args=[made[1].pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "notify-changed"
    assert f'id="n-{made[1].pk}"' in response.content.decode() and "list-group-item-warning" not in response.content.decode()


def test_mark_all_read(client_for, notes, world):
    assert client_for("member").post(reverse("notify:mark_all_read")).status_code == 302
    assert Notification.objects.inbox(world.member).unread().count() == 0
    assert Notification.objects.inbox(world.hebin_secretary).unread().count() == 1


def test_badge_polls_and_counts_unread(client_for, notes, client, world):
    member = client_for("member")
    with CaptureQueriesContext(connection) as few:
        response = member.get(reverse("notify:badge"))
    for i in range(20):
        notify(to=world.member, kind="pledge.reviewed", subject="more", key=f"more:{i}")
    with CaptureQueriesContext(connection) as many:
        member.get(reverse("notify:badge"))
    assert len(many) == len(few)  # one COUNT, however many notifications
    assert sum("notify_notification" in q["sql"] for q in few.captured_queries) == 1
    body = response.content.decode()
    assert 'hx-trigger="every 2s' in body and 'data-testid="notify-unread">3<' in body
    member.post(reverse("notify:mark_all_read"))
    assert "notify-unread" not in member.get(reverse("notify:badge")).content.decode()
    assert client.get(reverse("notify:badge")).status_code == 286  # signed out: htmx stops polling


def test_badge_template_tag_renders_for_a_signed_in_user(rf, world, notes):
    from django.template import Context, Template

    request = rf.get("/")
    request.user = world.member
    html = Template("{% load notify %}{% notify_badge %}").render(Context({"request": request}))
    assert 'data-testid="notify-badge"' in html and ">3<" in html


def test_sent_to_me_lists_every_delivery_with_its_result(client_for, world):
    preference_set(user=world.member, kind="*", channels=["in_app", "sms", "email"], actor=world.member)
    notify(to=world.member, kind="alert.raised", subject="一键通告警", key="alert:1")
    Worker(exit_when_idle=True, sync_periodic=False, heartbeat_thread=False).run()
    body = client_for("member").get(reverse("notify:sent")).content.decode()
    assert body.count("一键通告警") == 3  # in-app, SMS sent, e-mail skipped (no address)
    assert "138****5678" in body and "13805735678" not in body
    assert "没有可用的地址" in body


def test_sms_outbox_is_for_system_admins_only(client_for, world):
    SmsMessage.objects.create(phone="13805735678", text="【先锋】测试", reference="delivery-1")
    assert client_for("county_admin").get(reverse("notify:sms_outbox")).status_code == 200
    for persona in ("wuyuan_admin", "hebin_secretary", "member"):
        assert client_for(persona).get(reverse("notify:sms_outbox")).status_code == 404


def test_preferences_page_saves_channels_and_webhooks(client_for, world, settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = True
    client = client_for("member")
    assert client.get(reverse("notify:preferences")).status_code == 200
    client.post(reverse("notify:preferences"), {"action": "save", "kind": "*", "channels": ["in_app", "sms"]})
    pref = ChannelPreference.objects.get(user=world.member, kind="*")
    assert pref.channels() == {"in_app", "sms"}
    response = client.post(reverse("notify:preferences"), {"action": "save", "kind": "BAD KIND", "channels": []},
                           follow=True)
    assert "类型须为" in response.content.decode()
    client.post(reverse("notify:preferences"), {"action": "add_webhook", "url": "http://127.0.0.1:9/hook"})
    endpoint = world.member.webhook_endpoints.get()
    other = client_for("hebin_secretary")
    assert other.post(reverse("notify:preferences"), {"action": "remove_webhook",
                                                      "endpoint": endpoint.pk}).status_code == 404
    client.post(reverse("notify:preferences"), {"action": "remove_webhook", "endpoint": endpoint.pk})
    endpoint.refresh_from_db()
    assert not endpoint.is_active


def test_api_inbox_read_and_counts(client_for, notes):
    made, _ = notes
    client = client_for("member")
    assert client.get("/api/v1/notifications/").json()["count"] == 3
    assert client.get("/api/v1/notifications/unread_count/").json() == {"unread": 3}
    assert client.post(f"/api/v1/notifications/{made[0].pk}/read/").json()["read_at"]
    assert client.get("/api/v1/notifications/?unread=1").json()["count"] == 2
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    deliveries = client.get("/api/v1/notification-deliveries/").json()
    # in-app sent, e-mail skipped: the member has no address
    assert sorted((d["channel"], d["status"]) for d in deliveries["results"]) == [("email", "skipped")] * 3 + [
        ("in_app", "sent")] * 3


def test_anonymous_is_sent_to_sign_in(client, db):
    assert client.get(reverse("notify:inbox")).status_code == 302
    assert client.get("/api/v1/notifications/").status_code in (401, 403)
