import datetime as dt
import json

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from xianfeng.core.policy import NotFound
from xianfeng.jobs.models import Job
from xianfeng.jobs.worker import Worker
from xianfeng.notify.gateways import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from xianfeng.notify.models import Channel, Delivery, DeliveryAttempt, Notification, SmsMessage
from xianfeng.notify.services import (
    channels_for,
    notify,
    notify_admins,
    notify_many,
    preference_set,
    webhook_endpoint_add,
)


def run_worker(now=None):
    """Run every due job in this process, as the worker would."""
    return Worker(worker_id="test", exit_when_idle=True, sync_periodic=False, heartbeat_thread=False).run()


@pytest.fixture
def member(world):
    user = world.member
    user.email = "zhang@example.org"
    user.save()
    return user


def send(to, key="case:1:escalated", **kwargs):
    args = {"kind": "case.escalated", "subject": "诉求已升级", "body": "河滨社区的诉求超时未办结", "link": "/cases/1/"}
    return notify(to=to, key=key, **(args | kwargs))


def test_notify_twice_with_the_same_key_sends_once(member):
    first = send(member)
    second = send(member, subject="different text, same key")
    assert first.pk == second.pk
    assert Notification.objects.count() == 1
    assert Delivery.objects.filter(channel=Channel.EMAIL).count() == 1
    assert Job.objects.filter(name="notify.deliver").count() == 1
    run_worker()
    run_worker()
    send(member)
    assert len(mail.outbox) == 1


def test_the_same_key_for_another_user_is_another_notification(member, world):
    send(member)
    send(world.hebin_secretary)
    assert Notification.objects.count() == 2


def test_notify_many_and_notify_admins(world):
    notes = notify_many(to=[world.member, world.resident], kind="board.posted", subject="公示", key="board:1")
    assert len(notes) == 2
    admins = notify_admins(kind="ledger.check_failed", subject="账本核对", key="check:1")
    assert [n.recipient for n in admins] == [world.county_admin]


def test_in_app_lands_in_the_inbox_at_once(member):
    n = send(member)
    assert n.in_app and Notification.objects.inbox(member).unread().count() == 1
    delivery = n.deliveries.get(channel=Channel.IN_APP)
    assert delivery.status == Delivery.Status.SENT and delivery.attempt_rows.get().ok


def test_email_goes_out_through_the_worker(member):
    send(member)
    assert mail.outbox == []  # not inside the caller's transaction
    run_worker()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["zhang@example.org"] and message.subject == "诉求已升级"
    assert "http://127.0.0.1:8000/cases/1/" in message.body
    delivery = Delivery.objects.get(channel=Channel.EMAIL)
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 1


def test_a_channel_without_an_address_is_skipped_with_a_reason(world):
    preference_set(user=world.resident, kind="*", channels=["in_app", "email", "sms"], actor=world.resident)
    send(world.resident)
    skipped = Delivery.objects.filter(status=Delivery.Status.SKIPPED)
    assert sorted(skipped.values_list("channel", flat=True)) == ["email", "sms"]
    assert not Job.objects.exists()


def test_sms_goes_to_the_recording_gateway(member):
    preference_set(user=member, kind="case.escalated", channels=["sms"], actor=member)
    n = send(member)
    assert not n.in_app and Notification.objects.inbox(member).count() == 0
    run_worker()
    sms = SmsMessage.objects.get()
    assert sms.phone == "13805735678" and sms.text.startswith("【先锋】诉求已升级") and "/cases/1/" in sms.text
    assert Delivery.objects.get(channel=Channel.SMS).status == Delivery.Status.SENT


def test_http_sms_gateway_posts_the_template(member, receiver, settings):
    settings.NOTIFY_SMS_GATEWAY = "xianfeng.notify.gateways.HttpSmsGateway"
    settings.NOTIFY_SMS_URL = receiver.url + "/sms"
    settings.NOTIFY_SMS_TEMPLATE = '{"mobile": "$phone", "content": "$text", "sign": "先锋"}'
    preference_set(user=member, kind="*", channels=["sms"], actor=member)
    send(member, body='quote " and backslash \\ survive')
    run_worker()
    sent = receiver.json()
    assert sent["mobile"] == "13805735678" and 'quote " and backslash \\ survive' in sent["content"]
    assert Delivery.objects.get(channel=Channel.SMS).status == Delivery.Status.SENT


def test_webhook_posts_signed_json(member, receiver):
    endpoint = webhook_endpoint_add(user=member, url=receiver.url + "/hook", actor=member)
    preference_set(user=member, kind="*", channels=["webhook"], actor=member)
    n = send(member)
    run_worker()
    request = receiver.requests[0]
    payload = json.loads(request["body"])
    assert payload["key"] == "case:1:escalated" and payload["notification"] == n.pk
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert verify_signature(endpoint.secret, headers[TIMESTAMP_HEADER.lower()], request["body"],
                            headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature("wrong-secret", headers[TIMESTAMP_HEADER.lower()], request["body"],
                                headers[SIGNATURE_HEADER.lower()])


def test_a_failing_channel_is_retried_with_backoff_then_given_up(member, receiver, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.NOTIFY_RETRY_SECONDS = 60
    webhook_endpoint_add(user=member, url=receiver.url + "/hook", actor=member)
    preference_set(user=member, kind="*", channels=["webhook"], actor=member)
    receiver.status = 503
    send(member)
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    waits = []
    for attempt in (1, 2, 3):
        started = timezone.now()
        run_worker()
        delivery.refresh_from_db()
        assert delivery.attempts == attempt and len(receiver.requests) == attempt
        if attempt < 3:
            assert delivery.status == Delivery.Status.PENDING
            waits.append(round((delivery.next_attempt_at - started).total_seconds() / 60))
            run_worker()  # the retry is not due yet: nothing happens
            assert len(receiver.requests) == attempt
            Job.objects.filter(status=Job.Status.PENDING).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    assert waits == [1, 2]  # 60 s, then 120 s
    assert delivery.status == Delivery.Status.FAILED and "HTTP 503" in delivery.last_error
    rows = list(DeliveryAttempt.objects.filter(delivery=delivery))
    assert len(rows) == 3 and not any(r.ok for r in rows) and all("503" in r.error for r in rows)


def test_a_retry_that_succeeds_marks_the_delivery_sent(member, receiver):
    webhook_endpoint_add(user=member, url=receiver.url + "/hook", actor=member)
    preference_set(user=member, kind="*", channels=["webhook"], actor=member)
    receiver.status = 500
    send(member)
    run_worker()
    receiver.status = 200
    Job.objects.filter(status=Job.Status.PENDING).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    run_worker()
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2
    assert [a.ok for a in delivery.attempt_rows.all()] == [False, True]


def test_a_broken_backend_is_a_failed_attempt_not_a_crash(member, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    send(member)
    stats = run_worker()
    assert stats.failed == 0  # the job itself succeeded: it recorded a failed try and scheduled the next
    delivery = Delivery.objects.get(channel=Channel.EMAIL)
    assert delivery.status == Delivery.Status.PENDING and delivery.attempt_rows.get().ok is False
    assert Job.objects.filter(name="notify.deliver", status=Job.Status.PENDING).count() == 1


def test_preferences_kind_beats_module_default_beats_star_beats_settings(member, settings):
    settings.NOTIFY_DEFAULT_CHANNELS = ["in_app"]
    assert channels_for(member, "x.y") == {"in_app"}
    preference_set(user=member, kind="*", channels=["email"], actor=member)
    assert channels_for(member, "x.y") == {"email"}
    assert channels_for(member, "alert.raised", default=["sms", "in_app"]) == {"sms", "in_app"}
    preference_set(user=member, kind="alert.raised", channels=["webhook"], actor=member)
    assert channels_for(member, "alert.raised", default=["sms"]) == {"webhook"}


@pytest.mark.parametrize("bad", [
    {"kind": "Not A Kind"}, {"subject": ""}, {"key": ""}, {"link": "javascript:alert(1)"}, {"link": "//evil.example"},
    {"subject": "x" * 201},
])
def test_bad_input_is_refused_and_writes_nothing(member, bad):
    with pytest.raises(ValidationError):
        send(member, **bad)
    assert not Notification.objects.exists() and not Job.objects.exists()


def test_notify_needs_a_saved_user(db):
    with pytest.raises(ValidationError):
        notify(to="someone", kind="a.b", subject="s", key="k")


def test_webhook_urls_into_the_servers_own_network_are_refused(member, settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "ftp://example.org/x", "not a url"):
        with pytest.raises(ValidationError):
            webhook_endpoint_add(user=member, url=url, actor=member)


def test_delivery_attempt_leaves_missing_finished_and_taken_deliveries_alone(member):
    from xianfeng.notify.services import delivery_attempt

    assert delivery_attempt(delivery_id=10**9) == "missing"
    send(member)
    run_worker()
    delivery = Delivery.objects.get(channel=Channel.EMAIL)
    assert delivery_attempt(delivery_id=delivery.pk) == Delivery.Status.SENT
    assert len(mail.outbox) == 1


def test_marking_someone_elses_notification_is_refused(member, world):
    from xianfeng.notify.services import notification_mark_read

    n = send(member)
    with pytest.raises(NotFound):  # somebody else's notification is like a missing one
        notification_mark_read(notification=n, actor=world.hebin_secretary)
    assert notification_mark_read(notification=n, actor=member)
    assert not notification_mark_read(notification=n, actor=member)


def test_preferences_refuse_unknown_channels_and_can_be_cleared(member, settings):
    from xianfeng.notify.services import preference_clear

    settings.NOTIFY_DEFAULT_CHANNELS = ["in_app"]
    with pytest.raises(ValidationError):
        preference_set(user=member, kind="*", channels=["pigeon"], actor=member)
    preference_set(user=member, kind="a.b", channels=["email"], actor=member)
    assert channels_for(member, "a.b") == {"email"}
    assert preference_clear(user=member, kind="a.b", actor=member)
    assert not preference_clear(user=member, kind="a.b", actor=member)
    assert channels_for(member, "a.b") == {"in_app"}


def test_the_same_webhook_twice_is_refused(member, receiver):
    webhook_endpoint_add(user=member, url=receiver.url + "/hook", actor=member)
    with pytest.raises(ValidationError, match="登记过"):
        webhook_endpoint_add(user=member, url=receiver.url + "/hook", actor=member)


def test_a_removed_webhook_fails_its_pending_delivery_cleanly(member, receiver):
    from xianfeng.notify.services import webhook_endpoint_remove

    endpoint = webhook_endpoint_add(user=member, url=receiver.url + "/hook", actor=member)
    preference_set(user=member, kind="*", channels=["webhook"], actor=member)
    send(member)
    webhook_endpoint_remove(endpoint=endpoint, actor=member)
    run_worker()
    attempt = DeliveryAttempt.objects.get()
    assert not attempt.ok and "停用" in attempt.error and receiver.requests == []


def test_http_sms_gateway_without_a_url_or_with_a_broken_template_fails_the_attempt(member, settings):
    settings.NOTIFY_SMS_GATEWAY = "xianfeng.notify.gateways.HttpSmsGateway"
    settings.NOTIFY_SMS_URL = ""
    preference_set(user=member, kind="*", channels=["sms"], actor=member)
    send(member, key="a")
    run_worker()
    settings.NOTIFY_SMS_URL = "http://127.0.0.1:9/sms"
    settings.NOTIFY_SMS_TEMPLATE = '{"text": $text}'
    send(member, key="b")
    run_worker()
    errors = list(DeliveryAttempt.objects.order_by("id").values_list("error", flat=True))
    assert "NOTIFY_SMS_URL" in errors[0] and "JSON" in errors[1]
