"""How a delivery leaves the building: e-mail (Django's backends), SMS (a pluggable gateway), webhooks (signed POST).

Each sender returns a short answer to keep on the attempt row, or raises DeliveryError with the reason.

SMS gateways are chosen by settings.NOTIFY_SMS_GATEWAY:
- RecordingSmsGateway (the default): stores each message as an SmsMessage row — for tests and the demo; admins can
  read them on the SMS outbox page.
- HttpSmsGateway: POSTs NOTIFY_SMS_TEMPLATE (JSON with $phone, $text, $reference) to NOTIFY_SMS_URL, with
  NOTIFY_SMS_HEADERS; any 2xx answer counts as sent.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import string
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from .models import SmsMessage

SIGNATURE_HEADER = "X-Xianfeng-Signature"
TIMESTAMP_HEADER = "X-Xianfeng-Timestamp"
DELIVERY_HEADER = "X-Xianfeng-Delivery"


class DeliveryError(Exception):
    """The channel did not take the message; the reason is kept on the attempt row and the delivery is retried
    unless `retryable` is False (a retry cannot mend it: it is given up at once). `code` is the provider's."""

    retryable = True
    code = ""


class PermanentError(DeliveryError):
    retryable = False


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def absolute_link(link: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link
    return _setting("SITE_URL", "http://127.0.0.1:8000").rstrip("/") + "/" + link.lstrip("/")


def check_public_url(url: str) -> None:
    """Refuse URLs that are not http(s), and — unless NOTIFY_WEBHOOK_ALLOW_PRIVATE — hosts on loopback, private or
    link-local addresses (a webhook must not become a way to reach the server's own network). Raises DeliveryError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError("地址须以 http:// 或 https:// 开头")
    if _setting("NOTIFY_WEBHOOK_ALLOW_PRIVATE", False):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        raise DeliveryError(f"无法解析主机 {parts.hostname}：{exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            raise DeliveryError(f"不允许向内部地址 {address} 发送")


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> str:
    """POST `body` as JSON; return 'HTTP <status>: <start of answer>' for a 2xx, raise DeliveryError otherwise."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError("地址须以 http:// 或 https:// 开头")
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 (scheme checked above)
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            text = response.read(2000).decode("utf-8", "replace")
            return f"HTTP {response.status}: {text}"[:500]
    except urllib.error.HTTPError as exc:
        text = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        raise DeliveryError(f"HTTP {exc.code}: {text}"[:1000]) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DeliveryError(f"连接失败：{getattr(exc, 'reason', exc)}"[:1000]) from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over '<timestamp>.<body>', hex; the receiver recomputes it with the shared secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str, max_age: float = 300) -> bool:
    """What a receiver does: check the signature header and that the timestamp is recent."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= max_age
    except ValueError:
        return False
    expected = "sha256=" + sign(secret, timestamp, body)
    return fresh and hmac.compare_digest(expected, header)


class SmsGateway:
    """`send()` takes the phone, the message's full text and a reference; `kind` and `values` (subject, body, link,
    name, code) are what template-based providers fill their approved templates with — callers that pass only text
    still work (xianfeng.notify.providers.message_values). After a send, `provider_ref` is the provider's message id
    (kept on the delivery to match its status reports)."""

    provider = ""
    provider_ref = ""

    def send(self, *, phone: str, text: str, reference: str, kind: str | None = None,
             values: dict[str, str] | None = None) -> str:
        raise NotImplementedError


class RecordingSmsGateway(SmsGateway):
    """Sends nothing: keeps what would have been sent, for tests and the demo."""

    def send(self, *, phone: str, text: str, reference: str, kind: str | None = None,
             values: dict[str, str] | None = None) -> str:
        message = SmsMessage.objects.create(phone=phone, text=text[:500], reference=reference[:60])
        return f"recorded #{message.pk}"


class HttpSmsGateway(SmsGateway):
    """An HTTP SMS provider: NOTIFY_SMS_TEMPLATE filled in and POSTed to NOTIFY_SMS_URL."""

    def send(self, *, phone: str, text: str, reference: str, kind: str | None = None,
             values: dict[str, str] | None = None) -> str:
        url = _setting("NOTIFY_SMS_URL", "")
        if not url:
            raise DeliveryError("未配置短信网关地址 NOTIFY_SMS_URL")
        template = string.Template(_setting("NOTIFY_SMS_TEMPLATE",
                                            '{"phone": "$phone", "text": "$text", "ref": "$reference"}'))
        esc = {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in
               {"phone": phone, "text": text, "reference": reference}.items()}
        body = template.safe_substitute(esc).encode("utf-8")
        try:
            json.loads(body)
        except ValueError:
            raise DeliveryError("NOTIFY_SMS_TEMPLATE 填入后不是合法的 JSON") from None
        return post_json(url, body, dict(_setting("NOTIFY_SMS_HEADERS", {})),
                         float(_setting("NOTIFY_HTTP_TIMEOUT", 10)))


def sms_gateway() -> SmsGateway:
    return import_string(_setting("NOTIFY_SMS_GATEWAY", "xianfeng.notify.gateways.RecordingSmsGateway"))()


def sms_text(notification: Any) -> str:
    link = absolute_link(notification.link)
    text = f"【先锋】{notification.subject}"
    if notification.body:
        text += f"：{notification.body}"
    text = text[: 280 - len(link)]
    return f"{text} {link}".strip()


def send_email(delivery: Any) -> str:
    n = delivery.notification
    body = n.body
    if n.link:
        body = f"{body}\n\n{absolute_link(n.link)}".strip()
    sent = send_mail(n.subject, body, None, [delivery.target], fail_silently=False)
    if sent != 1:
        raise DeliveryError("邮件后端未发送")
    return "sent by the e-mail backend"


def message_values(delivery: Any) -> dict[str, str]:
    """What a provider's template may show of a delivery's notification."""
    n = delivery.notification
    recipient = n.recipient
    name = getattr(getattr(recipient, "person", None), "name", "") or recipient.get_full_name() or ""
    return {"subject": n.subject, "body": n.body, "link": absolute_link(n.link), "name": name}


def send_sms(delivery: Any) -> str:
    gateway = sms_gateway()
    answer = gateway.send(phone=delivery.target, text=sms_text(delivery.notification),
                          reference=f"delivery-{delivery.pk}", kind=delivery.notification.kind,
                          values=message_values(delivery))
    delivery.provider, delivery.provider_ref = gateway.provider, gateway.provider_ref
    return answer


def voice_gateway() -> Any:
    path = _setting("NOTIFY_VOICE_GATEWAY", "")
    if not path:
        raise PermanentError("未配置语音电话服务商 NOTIFY_VOICE_GATEWAY")
    return import_string(path)()


def send_voice(delivery: Any) -> str:
    """A text-to-speech call reading the notification's voice template to the target phone; the result (answered,
    not answered, key pressed) comes back later as a receipt."""
    gateway = voice_gateway()
    answer = gateway.call(phone=delivery.target, kind=delivery.notification.kind, values=message_values(delivery),
                          reference=f"delivery-{delivery.pk}")
    delivery.provider, delivery.provider_ref = gateway.provider, gateway.provider_ref
    return str(answer)


def webhook_payload(delivery: Any) -> bytes:
    n = delivery.notification
    return json.dumps({
        "delivery": delivery.pk,
        "notification": n.pk,
        "key": n.key,
        "kind": n.kind,
        "subject": n.subject,
        "body": n.body,
        "link": absolute_link(n.link),
        "created_at": n.created_at.isoformat(),
    }, ensure_ascii=False).encode("utf-8")


def send_webhook(delivery: Any) -> str:
    endpoint = delivery.endpoint
    if endpoint is None or not endpoint.is_active:
        raise DeliveryError("Webhook 地址已删除或停用")
    check_public_url(endpoint.url)
    body = webhook_payload(delivery)
    timestamp = str(int(time.time()))
    headers = {
        SIGNATURE_HEADER: "sha256=" + sign(endpoint.secret, timestamp, body),
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: str(delivery.pk),
    }
    return post_json(endpoint.url, body, headers, float(_setting("NOTIFY_HTTP_TIMEOUT", 10)))


SENDERS = {"email": send_email, "sms": send_sms, "webhook": send_webhook, "voice": send_voice}
