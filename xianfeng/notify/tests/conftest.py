import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers with `status` (settable)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if receiver.status < 400 else b"gateway unavailable")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json(self, i: int = -1) -> dict:
        return json.loads(self.requests[i]["body"])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = True
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


SMS_TEMPLATES = {"SMS_100001": ["code"], "SMS_100002": ["subject", "link"],
                 "1000001": ["code"], "1000002": ["subject", "link"],
                 "TTS_200001": ["subject"], "2000001": ["subject"]}


@pytest.fixture
def providers(settings):
    """The fake provider server, with the settings pointing every adapter at it (only the endpoints change)."""
    from xianfeng.notify import fakes

    fake = fakes.FakeProviders(SMS_TEMPLATES, timeout_seconds=1.5)
    settings.NOTIFY_WEBHOOK_ALLOW_PRIVATE = True
    settings.NOTIFY_HTTP_TIMEOUT = 0.5
    settings.NOTIFY_SMS_SIGN_NAME = fake.sign_name
    settings.NOTIFY_ALIYUN_ACCESS_KEY_ID, settings.NOTIFY_ALIYUN_ACCESS_KEY_SECRET = fakes.ALIYUN_KEY
    settings.NOTIFY_TENCENT_SECRET_ID, settings.NOTIFY_TENCENT_SECRET_KEY = fakes.TENCENT_KEY
    settings.NOTIFY_TENCENT_SMS_APP_ID = fakes.TENCENT_APP_ID
    settings.NOTIFY_TENCENT_VOICE_APP_ID = "1400000002"
    settings.NOTIFY_ALIYUN_SMS_ENDPOINT = settings.NOTIFY_ALIYUN_VOICE_ENDPOINT = fake.url
    settings.NOTIFY_TENCENT_SMS_ENDPOINT = settings.NOTIFY_TENCENT_VMS_ENDPOINT = fake.url
    settings.NOTIFY_RECEIPT_TOKEN = "receipt-token-123"
    yield fake
    fake.close()


def use_aliyun(settings):
    settings.NOTIFY_SMS_GATEWAY = "xianfeng.notify.providers.AliyunSmsGateway"
    settings.NOTIFY_SMS_TEMPLATES = {"signup.code": {"template": "SMS_100001", "params": ["code"]},
                                     "*": {"template": "SMS_100002", "params": ["subject", "link"]}}
    settings.NOTIFY_VOICE_GATEWAY = "xianfeng.notify.providers.AliyunVoiceGateway"
    settings.NOTIFY_VOICE_TEMPLATES = {"care.alert": {"template": "TTS_200001", "params": ["subject"]}}


def use_tencent(settings):
    settings.NOTIFY_SMS_GATEWAY = "xianfeng.notify.providers.TencentSmsGateway"
    settings.NOTIFY_SMS_TEMPLATES = {"signup.code": {"template": "1000001", "params": ["code"]},
                                     "*": {"template": "1000002", "params": ["subject", "link"]}}
    settings.NOTIFY_VOICE_GATEWAY = "xianfeng.notify.providers.TencentVoiceGateway"
    settings.NOTIFY_VOICE_TEMPLATES = {"care.alert": {"template": "2000001", "params": ["subject"]}}


@pytest.fixture(autouse=True)
def _fresh_robots():
    """Each test reads the robots it set up (the list is kept per process for a few seconds)."""
    from xianfeng.notify import robots

    robots._forget()
    yield
    robots._forget()
