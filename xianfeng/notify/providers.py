"""Mainland providers of text messages and voice calls: Alibaba Cloud (短信服务 Dysms, 语音服务 Dyvms) and Tencent
Cloud (短信 SMS, 语音消息 VMS), through their official Python SDKs.

A mainland provider sends only templates approved in its console, with named (Alibaba: `${name}`) or numbered
(Tencent: `{1}`) parameters, under a registered signature (签名). Which template carries which kind of message is
settings.NOTIFY_SMS_TEMPLATES (and NOTIFY_VOICE_TEMPLATES for calls):

    {"signup.code": {"template": "SMS_465930001", "params": ["code"]},
     "care.alert":  {"template": "SMS_465930002", "params": ["subject", "link"]},
     "*":           {"template": "SMS_465930003", "params": ["subject", "link"]}}

"params" names the values in the order Tencent numbers them; for Alibaba the same names are the template's variables.
The values a message offers: subject, body, link, name (the recipient's), code (a sign-up code). "*" covers every
kind without its own template; `xianfeng check` reports a kind that has neither (notify.E001).

Each provider's answer is kept on the attempt: its message id (BizId, SerialNo, CallId) on the delivery so the
status reports it sends back later (receipts) can be matched, its error code on a failed attempt, explained in
Chinese by `explain()`. Errors that a retry cannot mend (an unapproved template, a wrong number, no balance, bad
credentials) give the delivery up at once; throttling, timeouts and the provider's own faults are retried.

The endpoints are settings (NOTIFY_ALIYUN_SMS_ENDPOINT, …) so that the tests point the same code at local fakes
(`xianfeng.notify.fakes`), which check each request's signature as the providers document it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from .gateways import DeliveryError, SmsGateway

SIGNUP_KIND = "signup.code"
VALUES = ("subject", "body", "link", "name", "code")


class ProviderError(DeliveryError):
    """The provider refused or failed: its code, whether a later try can succeed, and the explanation."""

    def __init__(self, provider: str, code: str, message: str = "", *, retryable: bool | None = None):
        self.provider = provider
        self.code = code or "Unknown"
        known = ERRORS.get(self.code)
        self.retryable = known[1] if retryable is None and known else bool(retryable)
        self.explanation = known[0] if known else (message or "服务商返回错误")
        super().__init__(f"{self.code}：{self.explanation}" + (f"（{message}）" if message and known else ""))


# code → (Chinese explanation, whether a retry can help). Alibaba's codes are from its SMS/voice API error list,
# Tencent's from its SMS 3.0 and common error lists; "Timeout"/"NetworkError" are ours.
ERRORS: dict[str, tuple[str, bool]] = {
    # ours
    "Timeout": ("服务商在规定时间内没有应答", True),
    "NetworkError": ("无法连接服务商", True),
    "NoTemplate": ("这个通知类型没有登记短信模板（NOTIFY_SMS_TEMPLATES）", False),
    "NotConfigured": ("服务商的密钥或应用编号没有配置", False),
    # Alibaba Cloud
    "isv.BUSINESS_LIMIT_CONTROL": ("触发服务商的发送频率限制（同一号码每分钟/每小时/每天的条数）", True),
    "isv.DAY_LIMIT_CONTROL": ("已达到控制台设置的日发送量上限", False),
    "isv.MONTH_LIMIT_CONTROL": ("已达到控制台设置的月发送量上限", False),
    "isv.MOBILE_NUMBER_ILLEGAL": ("手机号码格式不正确", False),
    "isv.MOBILE_COUNT_OVER_LIMIT": ("一次提交的手机号码过多", False),
    "isv.SMS_TEMPLATE_ILLEGAL": ("短信模板不存在或未通过审核", False),
    "isv.TEMPLATE_MISSING_PARAMETERS": ("模板变量缺少对应的参数值", False),
    "isv.TEMPLATE_PARAMS_ILLEGAL": ("模板变量的值不合规（如含链接或超长）", False),
    "isv.PARAM_LENGTH_LIMIT": ("参数超出长度限制", False),
    "isv.SMS_SIGNATURE_ILLEGAL": ("短信签名不存在或未通过审核", False),
    "isv.SMS_SIGN_ILLEGAL": ("短信签名禁止使用", False),
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": ("签名与模板类型不一致（验证码签名只能发验证码模板）", False),
    "isv.SMS_CONTENT_ILLEGAL": ("短信内容包含禁止发送的内容", False),
    "isv.AMOUNT_NOT_ENOUGH": ("账户余额不足", False),
    "isv.OUT_OF_SERVICE": ("业务停机（余额不足）", False),
    "isv.PRODUCT_UN_SUBSCRIPT": ("账号未开通云通信产品", False),
    "isv.PRODUCT_UNSUBSCRIBE": ("账号未开通该产品", False),
    "isv.ACCOUNT_NOT_EXISTS": ("账户不存在", False),
    "isv.ACCOUNT_ABNORMAL": ("账户异常", False),
    "isv.BLACK_KEY_CONTROL_LIMIT": ("内容含有黑名单关键字", False),
    "isv.DENY_IP_RANGE": ("请求来源 IP 所在地区被禁止", False),
    "isp.RAM_PERMISSION_DENY": ("RAM 子账号权限不足", False),
    "isp.SYSTEM_ERROR": ("服务商系统错误", True),
    "SignatureDoesNotMatch": ("请求签名不正确（AccessKey Secret 是否填错）", False),
    "InvalidAccessKeyId.NotFound": ("AccessKey ID 不存在", False),
    "Throttling.User": ("请求过于频繁，被服务商限流", True),
    "ServiceUnavailable": ("服务商暂时不可用", True),
    "InternalError": ("服务商内部错误", True),
    # Alibaba Cloud receipts
    "DELIVERED": ("已送达", False),
    "MK:100D": ("运营商：用户手机关机或不在服务区", False),
    # Tencent Cloud
    "LimitExceeded.PhoneNumberDailyLimit": ("同一号码当天发送条数超过上限", False),
    "LimitExceeded.PhoneNumberThirtySecondLimit": ("同一号码30秒内发送条数超过上限", True),
    "LimitExceeded.PhoneNumberOneHourLimit": ("同一号码1小时内发送条数超过上限", True),
    "LimitExceeded.DeliveryFrequencyLimit": ("命中发送频率限制策略", True),
    "LimitExceeded.DailyLimit": ("当天发送总量超过上限", False),
    "FailedOperation.TemplateIncorrectOrUnapproved": ("短信模板未通过审核或内容不匹配", False),
    "FailedOperation.SignatureIncorrectOrUnapproved": ("短信签名未通过审核或格式错误", False),
    "FailedOperation.InsufficientBalanceInSmsPackage": ("短信套餐包余量不足", False),
    "FailedOperation.PhoneNumberInBlacklist": ("号码在免打扰名单中（用户退订或运营商拦截）", False),
    "FailedOperation.ContainSensitiveWord": ("短信内容含有敏感词", False),
    "InvalidParameterValue.IncorrectPhoneNumber": ("手机号码格式不正确", False),
    "InvalidParameterValue.TemplateParameterFormatError": ("模板参数格式错误", False),
    "InvalidParameterValue.TemplateParameterLengthLimit": ("单个模板变量超出长度限制", False),
    "InvalidParameterValue.SdkAppIdNotExist": ("短信应用编号 SdkAppId 不存在", False),
    "AuthFailure.SignatureFailure": ("请求签名不正确（SecretKey 是否填错）", False),
    "AuthFailure.SecretIdNotFound": ("SecretId 不存在或已停用", False),
    "AuthFailure.SignatureExpire": ("签名过期（服务器时间与标准时间相差超过5分钟）", True),
    "RequestLimitExceeded": ("请求过于频繁，被服务商限流", True),
    "InternalError.Timeout": ("服务商下发超时", True),
    "InternalError.OtherError": ("服务商其他错误", True),
    "ClientNetworkError": ("无法连接服务商", True),
    "ServerNetworkError": ("服务商网络错误", True),
}


def explain(code: str) -> str:
    """The provider's error code in Chinese, for the outbox and a delivery's page ("" for no code)."""
    if not code:
        return ""
    known = ERRORS.get(code)
    return known[0] if known else "服务商错误码（未收录，请查阅服务商文档）"


def _setting(name: str, default: Any = "") -> Any:
    return getattr(settings, name, default)


def template_for(kind: str, *, voice: bool = False) -> dict[str, Any] | None:
    """The template entry for `kind` (its own, else "*"), or None."""
    table = _setting("NOTIFY_VOICE_TEMPLATES" if voice else "NOTIFY_SMS_TEMPLATES", {}) or {}
    entry = table.get(kind) or table.get("*")
    return entry if isinstance(entry, dict) and entry.get("template") else None


def template_problems(kinds: list[str], *, voice: bool = False) -> list[str]:
    """What is wrong with the template table for these kinds: kinds without a template, unknown value names."""
    problems = []
    table = _setting("NOTIFY_VOICE_TEMPLATES" if voice else "NOTIFY_SMS_TEMPLATES", {}) or {}
    for key, entry in table.items():
        if not isinstance(entry, dict) or not entry.get("template"):
            problems.append(f"{key}：缺少 template")
            continue
        unknown = [p for p in entry.get("params", []) if p not in VALUES]
        if unknown:
            problems.append(f"{key}：未知的参数 {', '.join(unknown)}（可用：{', '.join(VALUES)}）")
    problems += [f"{kind}：没有模板" for kind in kinds if template_for(kind, voice=voice) is None]
    return problems


_CODE_RE = re.compile(r"(?<!\d)(\d{4,8})(?!\d)")


def message_values(*, kind: str | None, text: str, reference: str, values: dict[str, str] | None) -> tuple[str, dict]:
    """The kind and template values of one message. A caller that passes only free text (the sign-up code:
    reference "signup:<id>") still works: its kind is read from the reference and its code from the text."""
    found = dict(values or {})
    if not kind and reference.startswith("signup:"):
        kind = SIGNUP_KIND
    if kind == SIGNUP_KIND and "code" not in found:
        match = _CODE_RE.search(text)
        found["code"] = match.group(1) if match else ""
    found.setdefault("subject", text)
    return kind or "*", found


def template_values(entry: dict[str, Any], values: dict[str, str]) -> list[tuple[str, str]]:
    limit = int(_setting("NOTIFY_SMS_PARAM_MAX", 35))
    return [(name, str(values.get(name, ""))[:limit]) for name in entry.get("params", [])]


_CLIENTS: dict[tuple[Any, ...], Any] = {}


def _client(key: tuple[Any, ...], make: Any) -> Any:
    """One SDK client per process and configuration (credentials, region, endpoint): its connection is kept alive
    between messages."""
    client = _CLIENTS.get(key)
    if client is None:
        if len(_CLIENTS) > 32:
            _CLIENTS.clear()
        client = _CLIENTS[key] = make()
    return client


def _endpoint(url: str) -> tuple[str, str]:
    """'https://dysmsapi.aliyuncs.com' → ('https', 'dysmsapi.aliyuncs.com')."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return parts.scheme or "https", parts.netloc


def _timeout() -> float:
    return float(_setting("NOTIFY_HTTP_TIMEOUT", 10))


# -- Alibaba Cloud --------------------------------------------------------------------------------------------------


def _aliyun_config(endpoint_setting: str, default: str) -> Any:
    from alibabacloud_tea_openapi.models import Config

    key_id, secret = _setting("NOTIFY_ALIYUN_ACCESS_KEY_ID"), _setting("NOTIFY_ALIYUN_ACCESS_KEY_SECRET")
    if not key_id or not secret:
        raise ProviderError("aliyun", "NotConfigured", retryable=False)
    scheme, host = _endpoint(_setting(endpoint_setting) or default)
    ms = int(_timeout() * 1000)
    return Config(access_key_id=key_id, access_key_secret=secret, endpoint=host, protocol=scheme,
                  region_id=_setting("NOTIFY_ALIYUN_REGION", "cn-hangzhou"), read_timeout=ms, connect_timeout=ms)


def _aliyun_runtime() -> Any:
    from darabonba.runtime import RuntimeOptions

    ms = int(_timeout() * 1000)
    return RuntimeOptions(autoretry=False, read_timeout=ms, connect_timeout=ms)


def _aliyun_call(call: Any) -> Any:
    """Run one SDK call; map its exceptions to ProviderError. Returns the response body."""
    try:
        response = call()
    except Exception as exc:  # the SDK raises several families; all are mapped here
        code = str(getattr(exc, "code", "") or "")
        message = str(getattr(exc, "message", "") or exc)[:300]
        if not code or code == "None":
            timeout = "timed out" in str(exc).lower() or "timeout" in type(exc).__name__.lower()
            raise ProviderError("aliyun", "Timeout" if timeout else "NetworkError", message) from None
        status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
        raise ProviderError("aliyun", code, message,
                            retryable=(True if status and int(status) >= 500 else None)) from None
    body = response.body
    if getattr(body, "code", "OK") != "OK":
        raise ProviderError("aliyun", body.code, body.message or "")
    return body


class AliyunSmsGateway(SmsGateway):
    """Alibaba Cloud SMS (dysmsapi 2017-05-25, SendSms): TemplateParam is a JSON object of the template's named
    variables; the answer's BizId matches the status report (SmsReport) sent back later."""

    provider = "aliyun"

    def send(self, *, phone: str, text: str, reference: str, kind: str | None = None,
             values: dict[str, str] | None = None) -> str:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest

        kind, found = message_values(kind=kind, text=text, reference=reference, values=values)
        entry = template_for(kind)
        if entry is None:
            raise ProviderError(self.provider, "NoTemplate", retryable=False)
        config = _aliyun_config("NOTIFY_ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com")
        client = _client(("aliyun-sms", config.access_key_id, config.access_key_secret, config.protocol,
                          config.endpoint, config.read_timeout), lambda: Client(config))
        request = SendSmsRequest(phone_numbers=phone, sign_name=_setting("NOTIFY_SMS_SIGN_NAME"),
                                 template_code=entry["template"], out_id=reference[:60],
                                 template_param=json.dumps(dict(template_values(entry, found)), ensure_ascii=False))
        body = _aliyun_call(lambda: client.send_sms_with_options(request, _aliyun_runtime()))
        self.provider_ref = body.biz_id or ""
        return f"aliyun OK BizId={body.biz_id}"


class AliyunVoiceGateway:
    """Alibaba Cloud voice notification (dyvmsapi 2017-05-25, SingleCallByTts): a text-to-speech template read to
    the called number; the call's result (VoiceReport: status_code 200000 answered, the dtmf key pressed) comes back
    as a receipt matched by CallId."""

    provider = "aliyun"

    def call(self, *, phone: str, kind: str, values: dict[str, str], reference: str) -> str:
        from alibabacloud_dyvmsapi20170525.client import Client
        from alibabacloud_dyvmsapi20170525.models import SingleCallByTtsRequest

        entry = template_for(kind, voice=True)
        if entry is None:
            raise ProviderError(self.provider, "NoTemplate", retryable=False)
        config = _aliyun_config("NOTIFY_ALIYUN_VOICE_ENDPOINT", "https://dyvmsapi.aliyuncs.com")
        client = _client(("aliyun-vms", config.access_key_id, config.access_key_secret, config.protocol,
                          config.endpoint, config.read_timeout), lambda: Client(config))
        request = SingleCallByTtsRequest(
            called_number=phone, called_show_number=_setting("NOTIFY_VOICE_SHOW_NUMBER") or None,
            tts_code=entry["template"], out_id=reference[:60], play_times=int(_setting("NOTIFY_VOICE_PLAY_TIMES", 2)),
            tts_param=json.dumps(dict(template_values(entry, values)), ensure_ascii=False))
        body = _aliyun_call(lambda: client.single_call_by_tts_with_options(request, _aliyun_runtime()))
        self.provider_ref = body.call_id or ""
        return f"aliyun OK CallId={body.call_id}"


# -- Tencent Cloud --------------------------------------------------------------------------------------------------


def _tencent_credential() -> Any:
    from tencentcloud.common import credential

    secret_id, secret_key = _setting("NOTIFY_TENCENT_SECRET_ID"), _setting("NOTIFY_TENCENT_SECRET_KEY")
    if not secret_id or not secret_key:
        raise ProviderError("tencent", "NotConfigured", retryable=False)
    return credential.Credential(secret_id, secret_key)


def _tencent_key(endpoint_setting: str) -> tuple[Any, ...]:
    _tencent_credential()  # NotConfigured before anything is built
    return (_setting("NOTIFY_TENCENT_SECRET_ID"), _setting("NOTIFY_TENCENT_SECRET_KEY"),
            _setting("NOTIFY_TENCENT_REGION", "ap-guangzhou"), _setting(endpoint_setting), _timeout())


def _tencent_profile(endpoint_setting: str, default: str) -> Any:
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    scheme, host = _endpoint(_setting(endpoint_setting) or default)
    http = HttpProfile(protocol=scheme, endpoint=host, reqTimeout=int(max(1, _timeout())))
    return ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http)


def _tencent_call(call: Any) -> Any:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    try:
        return call()
    except TencentCloudSDKException as exc:
        code = exc.get_code() or "InternalError"
        message = str(exc.get_message() or "")[:300]
        if code == "ClientNetworkError" and "timed out" in message.lower():
            code = "Timeout"
        raise ProviderError("tencent", code, message,
                            retryable=True if code.startswith(("InternalError", "RequestLimitExceeded")) else None
                            ) from None


def e164(phone: str) -> str:
    return phone if phone.startswith("+") else f"+86{phone}"


class TencentSmsGateway(SmsGateway):
    """Tencent Cloud SMS (sms 2021-01-11, SendSms): TemplateParamSet is the list of the template's numbered
    parameters in order; each number's outcome is in SendStatusSet (Code "Ok"); its SerialNo matches the status
    report sent back later."""

    provider = "tencent"

    def send(self, *, phone: str, text: str, reference: str, kind: str | None = None,
             values: dict[str, str] | None = None) -> str:
        from tencentcloud.sms.v20210111 import models, sms_client

        kind, found = message_values(kind=kind, text=text, reference=reference, values=values)
        entry = template_for(kind)
        if entry is None:
            raise ProviderError(self.provider, "NoTemplate", retryable=False)
        client = _client(("tencent-sms", *_tencent_key("NOTIFY_TENCENT_SMS_ENDPOINT")), lambda: sms_client.SmsClient(
            _tencent_credential(), _setting("NOTIFY_TENCENT_REGION", "ap-guangzhou"),
            _tencent_profile("NOTIFY_TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com")))
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [e164(phone)]
        request.SmsSdkAppId = str(_setting("NOTIFY_TENCENT_SMS_APP_ID"))
        request.SignName = _setting("NOTIFY_SMS_SIGN_NAME")
        request.TemplateId = str(entry["template"])
        request.TemplateParamSet = [value for _, value in template_values(entry, found)]
        request.SessionContext = reference[:60]
        response = _tencent_call(lambda: client.SendSms(request))
        status = (response.SendStatusSet or [None])[0]
        if status is None:
            raise ProviderError(self.provider, "InternalError", "SendStatusSet 为空")
        if status.Code != "Ok":
            raise ProviderError(self.provider, status.Code, status.Message or "")
        self.provider_ref = status.SerialNo or ""
        return f"tencent Ok SerialNo={status.SerialNo}"


class TencentVoiceGateway:
    """Tencent Cloud voice notification (vms 2020-09-02, SendTtsVoice): numbered template parameters; the result
    (voiceprompt_callback: result 0 answered, 1 not answered; voicekey_callback: the key pressed) comes back as a
    receipt matched by CallId."""

    provider = "tencent"

    def call(self, *, phone: str, kind: str, values: dict[str, str], reference: str) -> str:
        from tencentcloud.vms.v20200902 import models, vms_client

        entry = template_for(kind, voice=True)
        if entry is None:
            raise ProviderError(self.provider, "NoTemplate", retryable=False)
        client = _client(("tencent-vms", *_tencent_key("NOTIFY_TENCENT_VMS_ENDPOINT")), lambda: vms_client.VmsClient(
            _tencent_credential(), _setting("NOTIFY_TENCENT_REGION", "ap-guangzhou"),
            _tencent_profile("NOTIFY_TENCENT_VMS_ENDPOINT", "https://vms.tencentcloudapi.com")))
        request = models.SendTtsVoiceRequest()
        request.TemplateId = str(entry["template"])
        request.TemplateParamSet = [value for _, value in template_values(entry, values)]
        request.CalledNumber = e164(phone)
        request.VoiceSdkAppid = str(_setting("NOTIFY_TENCENT_VOICE_APP_ID"))
        request.PlayTimes = int(_setting("NOTIFY_VOICE_PLAY_TIMES", 2))
        request.SessionContext = reference[:60]
        response = _tencent_call(lambda: client.SendTtsVoice(request))
        call_id = response.SendStatus.CallId if response.SendStatus else ""
        self.provider_ref = call_id or ""
        return f"tencent Ok CallId={call_id}"
