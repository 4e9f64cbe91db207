"""SMS, voice and group robots through the providers' official SDKs, against the local fake server (which checks
each request's signature and template as the providers document them)."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from xianfeng.notify import fakes
from xianfeng.notify.models import Channel, Delivery, DeliveryAttempt, DeliveryReceipt, GroupPost, GroupRobot
from xianfeng.notify.receipts import call_result
from xianfeng.notify.services import notify

from .conftest import use_aliyun, use_tencent
from .test_services import run_worker

PHONE = "13805735678"  # the member's phone in the test county


def sms_to(user, key="case:1:dispatched", kind="grids.dispatched", channels=("sms",)):
    return notify(to=user, kind=kind, subject="新派诉求：路灯不亮", body="河滨社区3幢", link="/grids/cases/1/",
                  key=key, default_channels=list(channels))


def delivery(channel=Channel.SMS):
    return Delivery.objects.get(channel=channel)


# -- SMS: Alibaba Cloud ---------------------------------------------------------------------------------------------


def test_aliyun_sms_sends_the_kinds_template_with_named_parameters_and_the_signature(world, providers, settings):
    use_aliyun(settings)
    sms_to(world.member)
    run_worker()
    d = delivery()
    assert d.status == Delivery.Status.SENT and d.provider == "aliyun"
    [message] = providers.inbox(PHONE)
    assert message.template == "SMS_100002" and message.sign_name == providers.sign_name
    assert message.params == {"subject": "新派诉求：路灯不亮", "link": "http://127.0.0.1:8000/grids/cases/1/"[:35]}
    assert d.provider_ref == message.ref
    assert providers.refused == []


def test_aliyun_unapproved_template_is_given_up_at_once_with_its_code_in_chinese(world, providers, settings, client):
    use_aliyun(settings)
    providers.fail_next("isv.SMS_TEMPLATE_ILLEGAL")
    sms_to(world.member)
    run_worker()
    d = delivery()
    assert d.status == Delivery.Status.FAILED and d.attempts == 1
    attempt = DeliveryAttempt.objects.get(delivery=d)
    assert attempt.code == "isv.SMS_TEMPLATE_ILLEGAL"
    assert "短信模板不存在或未通过审核" in d.last_error
    client.force_login(world.county_admin)
    page = client.get(reverse("notify:sms_outbox")).content.decode()
    assert "isv.SMS_TEMPLATE_ILLEGAL" in page and "短信模板不存在或未通过审核" in page


@pytest.mark.parametrize("failure, code", [("isv.BUSINESS_LIMIT_CONTROL", "isv.BUSINESS_LIMIT_CONTROL"),
                                           ("timeout", "Timeout"), ("http500", "ServiceUnavailable")])
def test_aliyun_throttling_timeouts_and_faults_are_retried(world, providers, settings, failure, code):
    use_aliyun(settings)
    providers.fail_next(failure)
    sms_to(world.member)
    run_worker()
    d = delivery()
    assert d.status == Delivery.Status.PENDING and d.next_attempt_at is not None
    assert DeliveryAttempt.objects.get(delivery=d).code == code


def test_aliyun_wrong_secret_is_refused_by_the_signature_check(world, providers, settings):
    use_aliyun(settings)
    settings.NOTIFY_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"
    sms_to(world.member)
    run_worker()
    d = delivery()
    assert d.status == Delivery.Status.FAILED
    assert DeliveryAttempt.objects.get(delivery=d).code == "SignatureDoesNotMatch"
    assert providers.refused and providers.messages == []


def test_aliyun_invalid_phone(world, providers, settings):
    use_aliyun(settings)
    person = world.member.person
    person.phone = "1380573"
    person.save()
    sms_to(world.member)
    run_worker()
    assert DeliveryAttempt.objects.get().code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert delivery().status == Delivery.Status.FAILED


# -- SMS: Tencent Cloud ---------------------------------------------------------------------------------------------


def test_tencent_sms_sends_numbered_parameters_in_order(world, providers, settings):
    use_tencent(settings)
    sms_to(world.member)
    run_worker()
    d = delivery()
    assert d.status == Delivery.Status.SENT and d.provider == "tencent"
    [message] = providers.inbox(PHONE)
    assert message.phone == "+86" + PHONE and message.template == "1000002"
    assert message.params == ["新派诉求：路灯不亮", "http://127.0.0.1:8000/grids/cases/1/"[:35]]
    assert d.provider_ref == message.ref


@pytest.mark.parametrize("failure, status", [
    ("LimitExceeded.PhoneNumberDailyLimit", Delivery.Status.FAILED),
    ("FailedOperation.InsufficientBalanceInSmsPackage", Delivery.Status.FAILED),
    ("AuthFailure.SignatureFailure", Delivery.Status.FAILED),
    ("RequestLimitExceeded", Delivery.Status.PENDING),
    ("timeout", Delivery.Status.PENDING),
])
def test_tencent_error_classes(world, providers, settings, failure, status):
    use_tencent(settings)
    providers.fail_next(failure)
    sms_to(world.member)
    run_worker()
    assert delivery().status == status
    assert DeliveryAttempt.objects.get().code == ("Timeout" if failure == "timeout" else failure)


def test_a_kind_without_template_fails_without_calling_the_provider(world, providers, settings):
    use_tencent(settings)
    settings.NOTIFY_SMS_TEMPLATES = {"signup.code": {"template": "1000001", "params": ["code"]}}
    sms_to(world.member)
    run_worker()
    assert DeliveryAttempt.objects.get().code == "NoTemplate"
    assert delivery().status == Delivery.Status.FAILED and providers.messages == []


def test_check_reports_kinds_without_a_template(settings):
    from django.core import checks

    use_aliyun(settings)
    settings.NOTIFY_ALIYUN_ACCESS_KEY_ID, settings.NOTIFY_ALIYUN_ACCESS_KEY_SECRET = fakes.ALIYUN_KEY
    settings.NOTIFY_SMS_SIGN_NAME = "先锋"
    assert not [m for m in checks.run_checks() if m.id and m.id.startswith("notify.")]
    settings.NOTIFY_SMS_TEMPLATES = {"signup.code": {"template": "SMS_100001", "params": ["code", "pin"]}}
    found = [m.msg for m in checks.run_checks() if m.id == "notify.E001"]
    assert any("grids.dispatched：没有模板" in m for m in found)
    assert any("未知的参数 pin" in m for m in found)
    with pytest.raises(Exception, match="notify.E001"):
        call_command("check", fail_level="ERROR")


# -- sign-up codes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use", [use_aliyun, use_tencent])
def test_signup_code_reaches_the_phone_through_the_provider(db, providers, settings, use):
    from xianfeng.pledges import services as pledges

    use(settings)
    row = pledges.signup_code_send(phone="13912345678")
    [message] = providers.inbox("13912345678")
    code = message.params["code"] if isinstance(message.params, dict) else message.params[0]
    assert pledges.signup_code_check(phone="13912345678", code=code).pk == row.pk


# -- receipts -------------------------------------------------------------------------------------------------------


def receipt_url(provider, token="receipt-token-123"):
    return reverse("notify:receipts", args=[provider, token])


def test_aliyun_status_report_is_kept_on_the_delivery(world, providers, settings, client):
    use_aliyun(settings)
    sms_to(world.member)
    run_worker()
    d = delivery()
    body = [{"phone_number": PHONE, "send_time": "2026-12-07 20:00:00", "report_time": "2026-12-07 20:00:05",
             "success": False, "err_code": "MK:100D", "err_msg": "关机", "sms_size": "1", "biz_id": d.provider_ref,
             "out_id": f"delivery-{d.pk}"}]
    response = client.post(receipt_url("aliyun"), json.dumps(body), content_type="application/json")
    assert response.status_code == 200 and response.json()["code"] == 0
    receipt = DeliveryReceipt.objects.get(delivery=d)
    assert receipt.result == DeliveryReceipt.Result.UNDELIVERED and receipt.code == "MK:100D"
    d.refresh_from_db()
    assert d.receipt == "undelivered"


def test_tencent_status_report_is_kept_on_the_delivery(world, providers, settings, client):
    use_tencent(settings)
    sms_to(world.member)
    run_worker()
    d = delivery()
    body = [{"user_receive_time": "2026-12-07 20:00:05", "nationcode": "86", "mobile": PHONE,
             "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": d.provider_ref}]
    response = client.post(receipt_url("tencent"), json.dumps(body), content_type="application/json")
    assert response.json()["result"] == 0
    assert DeliveryReceipt.objects.get(delivery=d).result == DeliveryReceipt.Result.DELIVERED


def test_a_receipt_with_a_wrong_token_or_shape_is_refused_and_changes_nothing(world, providers, settings, client,
                                                                             caplog):
    use_aliyun(settings)
    sms_to(world.member)
    run_worker()
    d = delivery()
    body = json.dumps([{"biz_id": d.provider_ref, "success": True, "err_code": "DELIVERED"}])
    assert client.post(receipt_url("aliyun", "guess"), body, content_type="application/json").status_code == 403
    assert "wrong token" in caplog.text
    assert client.post(receipt_url("aliyun"), "{not json", content_type="application/json").status_code == 400
    assert client.post(receipt_url("pigeon"), body, content_type="application/json").status_code == 400
    assert not DeliveryReceipt.objects.exists()


# -- voice ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use, provider", [(use_aliyun, "aliyun"), (use_tencent, "tencent")])
def test_voice_call_and_its_not_answered_result_reaches_the_caller(world, providers, settings, client, use,
                                                                   provider):
    use(settings)
    heard = []

    def listener(sender, delivery, notification, result, digits, **kwargs):
        heard.append((notification.key, result, digits))

    call_result.connect(listener)
    try:
        notify(to=world.member, kind="care.alert", subject="一键通紧急呼叫：李秀英", key="care.alert:1:step:2",
               default_channels=["voice"])
        run_worker()
        d = delivery(Channel.VOICE)
        assert d.status == Delivery.Status.SENT and d.provider == provider
        [call] = providers.inbox(PHONE)
        assert call.action in ("SingleCallByTts", "SendTtsVoice")
        if provider == "aliyun":
            body = [{"call_id": d.provider_ref, "status_code": "200005", "status_msg": "用户未接听", "dtmf": "",
                     "out_id": f"delivery-{d.pk}"}]
        else:
            body = {"voiceprompt_callback": {"result": "1", "callid": d.provider_ref, "mobile": PHONE,
                                             "nationcode": "86", "call_from": "", "fee": "0"}}
        with __import__("django").test.TestCase.captureOnCommitCallbacks(execute=True):
            assert client.post(receipt_url(provider), json.dumps(body), content_type="application/json").status_code == 200
    finally:
        call_result.disconnect(listener)
    assert heard == [("care.alert:1:step:2", "no_answer", "")]


def test_voice_key_pressed_acknowledges(world, providers, settings, client):
    use_tencent(settings)
    notify(to=world.member, kind="care.alert", subject="一键通紧急呼叫", key="k1", default_channels=["voice"])
    run_worker()
    d = delivery(Channel.VOICE)
    body = {"voicekey_callback": {"callid": d.provider_ref, "keypress": "1", "mobile": PHONE, "nationcode": "86",
                                  "call_from": ""}}
    client.post(receipt_url("tencent"), json.dumps(body), content_type="application/json")
    assert DeliveryReceipt.objects.get().result == DeliveryReceipt.Result.ACKNOWLEDGED


def test_voice_without_a_configured_provider_is_given_up_with_the_reason(world, settings):
    settings.NOTIFY_VOICE_GATEWAY = ""
    notify(to=world.member, kind="care.alert", subject="一键通紧急呼叫", key="k1", default_channels=["voice"])
    run_worker()
    d = delivery(Channel.VOICE)
    assert d.status == Delivery.Status.FAILED and "NOTIFY_VOICE_GATEWAY" in d.last_error


# -- group robots ---------------------------------------------------------------------------------------------------


def robot(world, providers, platform, *, kinds=("grids.dispatched",), secret=fakes.DINGTALK_SECRET):
    if platform == GroupRobot.Platform.DINGTALK:
        url = f"{providers.url}/robot/send?access_token={providers.dingtalk_token}"
    else:
        url = f"{providers.url}/cgi-bin/webhook/send?key={providers.wecom_key}"
        secret = ""
    return GroupRobot.objects.create(org=world.hebin, name="河滨社区网格群", platform=platform, webhook=url,
                                     secret=secret, kinds=list(kinds))


@pytest.mark.parametrize("platform", [GroupRobot.Platform.DINGTALK, GroupRobot.Platform.WECOM])
def test_a_new_case_is_posted_once_to_the_communitys_group(world, providers, settings, platform):
    robot(world, providers, platform)
    for user in (world.hebin_secretary, world.member):  # two staff told of one case: one group post
        sms_to(user, channels=("in_app",))
    sms_to(world.qinshan_secretary, channels=("in_app",))  # another community: not this group's
    run_worker()
    post = GroupPost.objects.get()
    assert post.status == GroupPost.Status.SENT
    [sent] = providers.robot_posts
    assert sent["platform"] == platform and sent["msgtype"] == "markdown"
    text = sent["markdown"].get("text") or sent["markdown"].get("content")
    assert "新派诉求：路灯不亮" in text and "/grids/cases/1/" in text


def test_dingtalk_wrong_secret_parks_the_post_and_the_inbox_keeps_the_notice(world, providers, settings):
    robot(world, providers, GroupRobot.Platform.DINGTALK, secret="SECwrong")
    n = sms_to(world.hebin_secretary, channels=("in_app",))
    run_worker()
    post = GroupPost.objects.get()
    assert post.status == GroupPost.Status.PARKED and "310000" in post.last_error
    assert n.in_app and providers.robot_posts == []


def test_robot_throttling_is_retried_before_parking(world, providers, settings):
    robot(world, providers, GroupRobot.Platform.WECOM)
    providers.fail_next("45009")
    sms_to(world.hebin_secretary, channels=("in_app",))
    run_worker()
    post = GroupPost.objects.get()
    assert post.status == GroupPost.Status.PENDING and "45009" in post.last_error


def test_dingtalk_signature_matches_the_documented_algorithm():
    url = fakes.dingtalk_sign("SECabc", "1700000000000")
    from xianfeng.notify.robots import dingtalk_signed_url

    signed = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECabc", 1700000000000)
    from urllib.parse import parse_qs, urlsplit

    assert parse_qs(urlsplit(signed).query)["sign"] == [url]


# -- quiet hours and the daily digest -------------------------------------------------------------------------------


def test_quiet_hours_hold_a_notice_and_the_digest_but_not_an_alert(world, providers, settings, member_with_email):
    import datetime as dt

    from django.core import mail
    from django.utils import timezone

    from xianfeng.notify.services import digests_send, schedule_set

    use_aliyun(settings)
    user = member_with_email
    now = timezone.localtime()
    start = (now - dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    schedule_set(user=user, quiet_from=start.strftime("%H:%M"), quiet_until=end.strftime("%H:%M"),
                 daily_digest=True, actor=user)
    sms_to(user, key="case:7", channels=("in_app", "sms", "email"))
    notify(to=user, kind="care.alert", subject="一键通紧急呼叫：李秀英", key="care.alert:9:step:1",
           default_channels=["in_app", "sms", "email"])
    run_worker()
    notice = Delivery.objects.filter(notification__key="case:7")
    alert = Delivery.objects.filter(notification__key="care.alert:9:step:1")
    assert notice.get(channel=Channel.SMS).status == Delivery.Status.PENDING  # waits for the end of quiet hours
    assert notice.get(channel=Channel.SMS).next_attempt_at > timezone.now()
    assert notice.get(channel=Channel.EMAIL).status == Delivery.Status.HELD  # for the digest
    assert alert.get(channel=Channel.SMS).status == Delivery.Status.SENT  # alerts ring through
    assert alert.get(channel=Channel.EMAIL).status == Delivery.Status.SENT
    assert [m.params["subject"] for m in providers.inbox(PHONE)] == ["一键通紧急呼叫：李秀英"]
    mail.outbox.clear()
    assert digests_send() == 1
    assert "新派诉求：路灯不亮" in mail.outbox[0].body
    assert notice.get(channel=Channel.EMAIL).status == Delivery.Status.SENT


def test_schedule_refuses_half_a_period_and_other_peoples_settings(world):
    from django.core.exceptions import ValidationError

    from xianfeng.core.policy import NotFound
    from xianfeng.notify.services import schedule_set

    with pytest.raises(ValidationError):
        schedule_set(user=world.member, quiet_from="22:00", quiet_until="", daily_digest=False, actor=world.member)
    with pytest.raises(ValidationError):
        schedule_set(user=world.member, quiet_from="25:99", quiet_until="07:00", daily_digest=False,
                     actor=world.member)
    with pytest.raises(NotFound):
        schedule_set(user=world.member, quiet_from="22:00", quiet_until="07:00", daily_digest=False,
                     actor=world.hebin_secretary)


@pytest.fixture
def member_with_email(world):
    user = world.member
    user.email = "zhang@example.org"
    user.save()
    return user
