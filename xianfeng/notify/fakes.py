"""Local stand-ins for the providers, for the tests, the benchmark and a demo without the internet.

`FakeProviders` is one HTTP server on 127.0.0.1 that answers as Alibaba Cloud (SMS and voice, RPC API with the V3
signature ACS3-HMAC-SHA256), Tencent Cloud (SMS and voice, API 3.0 with TC3-HMAC-SHA256), a DingTalk group robot
(`/robot/send?access_token=…&timestamp=…&sign=…`, HMAC-SHA256 of "timestamp\\nsecret", base64) and a WeCom group
robot (`/cgi-bin/webhook/send?key=…`). Each request is checked the way the provider documents it — the signature
recomputed from the request with the shared secret, the required fields present, the template known and its
parameters exactly the registered ones — and answered with the provider's documented success or error shape. What
was accepted is kept in `messages` (the fake's inbox: the sign-up code can be read from it).

Scripting failures: `fail_next(code)` makes the next request answer with that provider error code; "timeout"
makes it answer late; "http500" answers 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

ALIYUN_KEY = ("LTAI-fake-key", "fake-aliyun-secret")
TENCENT_KEY = ("AKID-fake-id", "fake-tencent-secret")
TENCENT_APP_ID = "1400000001"
DINGTALK_SECRET = "SECfake-dingtalk-secret"


@dataclass
class Accepted:
    provider: str
    action: str
    phone: str
    template: str
    params: Any
    ref: str
    sign_name: str = ""
    at: float = field(default_factory=time.time)


class SignatureError(Exception):
    pass


def aliyun_v3_signature(method: str, path: str, query: str, headers: dict[str, str], signed: list[str],
                        payload_hash: str, secret: str) -> str:
    """ACS3-HMAC-SHA256 as the provider documents it: CanonicalRequest = method, URI, sorted percent-encoded query,
    the signed headers (lower-case name:trimmed value), their names joined by ';', the hex SHA-256 of the body;
    StringToSign = 'ACS3-HMAC-SHA256\\n' + hex SHA-256 of the canonical request; the signature is its hex HMAC-SHA256
    under the AccessKey secret."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    canonical = "\n".join([method, path or "/", canonical_query, canonical_headers, ";".join(signed), payload_hash])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def tencent_tc3_signature(*, secret_key: str, service: str, timestamp: str, payload: bytes, content_type: str,
                          host: str) -> str:
    """TC3-HMAC-SHA256 as the provider documents it (POST, JSON body, signed headers content-type;host)."""
    canonical = "\n".join(["POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
                           hashlib.sha256(payload).hexdigest()])
    date = time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def _hmac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    secret_date = _hmac(("TC3" + secret_key).encode(), date)
    secret_service = _hmac(secret_date, service)
    secret_signing = _hmac(secret_service, "tc3_request")
    return hmac.new(secret_signing, to_sign.encode(), hashlib.sha256).hexdigest()


def dingtalk_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FakeProviders:
    """The fake server. `templates` maps template code → the parameter names it was registered with."""

    def __init__(self, templates: dict[str, list[str]] | None = None, *, sign_name: str = "先锋县委组织部",
                 dingtalk_secret: str = DINGTALK_SECRET, wecom_key: str = "fake-wecom-key",
                 dingtalk_token: str = "fake-dingtalk-token", timeout_seconds: float = 3.0):  # noqa: S107
        self.templates = templates or {}
        self.sign_name = sign_name
        self.dingtalk_secret = dingtalk_secret
        self.dingtalk_token = dingtalk_token
        self.wecom_key = wecom_key
        self.timeout_seconds = timeout_seconds
        self.messages: list[Accepted] = []
        self.robot_posts: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self._failures: list[str] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = fake.handle(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                             body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (a scripted timeout)
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # -- scripting and reading ---------------------------------------------------------------------------------

    def fail_next(self, *codes: str) -> None:
        with self._lock:
            self._failures.extend(codes)

    def _failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def inbox(self, phone: str) -> list[Accepted]:
        return [m for m in self.messages if m.phone.removeprefix("+86") == phone]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- dispatch ----------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        parts = urlsplit(path)
        failure = self._failure()
        if failure == "timeout":
            time.sleep(self.timeout_seconds)
        if failure == "http500":
            return 500, {"Code": "ServiceUnavailable", "Message": "fake: unavailable"}
        if parts.path == "/robot/send":
            return self._dingtalk(parts.query, body, failure)
        if parts.path == "/cgi-bin/webhook/send":
            return self._wecom(parts.query, body, failure)
        if "x-tc-action" in headers:
            return self._tencent(headers, body, failure)
        if "x-acs-action" in headers:
            return self._aliyun(method, parts.path, parts.query, headers, body, failure)
        return 404, {"error": "unknown endpoint"}

    # -- Alibaba Cloud -----------------------------------------------------------------------------------------

    def _aliyun(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                failure: str | None) -> tuple[int, dict]:
        request_id = str(uuid.uuid4()).upper()
        try:
            self._aliyun_check_signature(method, path, query, headers, body)
        except SignatureError as exc:
            self.refused.append(str(exc))
            return 400, {"RequestId": request_id, "Code": "SignatureDoesNotMatch", "Message": str(exc)}
        params = dict(parse_qsl(query))
        action = headers["x-acs-action"]
        if failure and failure not in ("timeout",):
            return 200, {"RequestId": request_id, "Code": failure, "Message": f"fake: {failure}"}
        if action == "SendSms":
            missing = [f for f in ("PhoneNumbers", "SignName", "TemplateCode") if not params.get(f)]
            phone, code, variables = params.get("PhoneNumbers", ""), params.get("TemplateCode", ""), {}
            error = self._template_error(code, params.get("TemplateParam", "{}"), named=True)
            if missing:
                return 200, {"RequestId": request_id, "Code": "isv.INVALID_PARAMETERS", "Message": f"缺少 {missing}"}
            if not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
                return 200, {"RequestId": request_id, "Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
            if params["SignName"] != self.sign_name:
                return 200, {"RequestId": request_id, "Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "签名不合法"}
            if error:
                return 200, {"RequestId": request_id, "Code": error, "Message": "模板不合法"}
            variables = json.loads(params.get("TemplateParam") or "{}")
            biz_id = f"{int(time.time() * 1000)}^{uuid.uuid4().int % 10**10}"
            self.messages.append(Accepted("aliyun", action, phone, code, variables, biz_id, params["SignName"]))
            return 200, {"RequestId": request_id, "Code": "OK", "Message": "OK", "BizId": biz_id}
        if action == "SingleCallByTts":
            phone, code = params.get("CalledNumber", ""), params.get("TtsCode", "")
            error = self._template_error(code, params.get("TtsParam", "{}"), named=True)
            if not phone:
                return 200, {"RequestId": request_id, "Code": "isv.INVALID_PARAMETERS", "Message": "缺少 CalledNumber"}
            if error:
                return 200, {"RequestId": request_id, "Code": error, "Message": "模板不合法"}
            call_id = f"{uuid.uuid4().int % 10**12}^{uuid.uuid4().int % 10**11}"
            self.messages.append(Accepted("aliyun", action, phone, code, json.loads(params.get("TtsParam") or "{}"),
                                          call_id))
            return 200, {"RequestId": request_id, "Code": "OK", "Message": "OK", "CallId": call_id}
        return 404, {"RequestId": request_id, "Code": "InvalidAction.NotFound", "Message": action}

    def _aliyun_check_signature(self, method: str, path: str, query: str, headers: dict[str, str],
                                body: bytes) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("ACS3-HMAC-SHA256 "):
            raise SignatureError("Authorization 不是 ACS3-HMAC-SHA256")
        fields = dict(part.split("=", 1) for part in auth[len("ACS3-HMAC-SHA256 "):].split(","))
        if fields.get("Credential") != ALIYUN_KEY[0]:
            raise SignatureError("AccessKeyId 不对")
        signed = fields.get("SignedHeaders", "").split(";")
        required = {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce",
                    "x-acs-version"}
        if not required <= set(signed) or signed != sorted(signed):
            raise SignatureError(f"SignedHeaders 须按序包含 {sorted(required)}")
        if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            raise SignatureError("x-acs-content-sha256 与请求体不符")
        expected = aliyun_v3_signature(method, path, query, headers, signed, headers["x-acs-content-sha256"],
                                       ALIYUN_KEY[1])
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            raise SignatureError("签名不符")

    def _template_error(self, code: str, raw: Any, *, named: bool) -> str | None:
        if code not in self.templates:
            return "isv.SMS_TEMPLATE_ILLEGAL" if named else "FailedOperation.TemplateIncorrectOrUnapproved"
        try:
            values = json.loads(raw) if named else raw
        except ValueError:
            return "isv.TEMPLATE_PARAMS_ILLEGAL"
        expected = self.templates[code]
        if named:
            if not isinstance(values, dict) or set(values) != set(expected):
                return "isv.TEMPLATE_MISSING_PARAMETERS"
        elif not isinstance(values, list) or len(values) != len(expected):
            return "InvalidParameterValue.TemplateParameterFormatError"
        return None

    # -- Tencent Cloud -----------------------------------------------------------------------------------------

    def _tencent(self, headers: dict[str, str], body: bytes, failure: str | None) -> tuple[int, dict]:
        request_id = str(uuid.uuid4())

        def error(code: str, message: str) -> tuple[int, dict]:
            return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}

        auth = headers.get("authorization", "")
        try:
            head, rest = auth.split(" ", 1)
            fields = dict(part.strip().split("=", 1) for part in rest.split(","))
            secret_id, date, service, terminal = fields["Credential"].split("/")
        except (ValueError, KeyError):
            return error("AuthFailure.InvalidAuthorization", "Authorization 不符合 TC3 格式")
        timestamp = headers.get("x-tc-timestamp", "0")
        if head != "TC3-HMAC-SHA256" or terminal != "tc3_request" or fields.get("SignedHeaders") != "content-type;host":
            return error("AuthFailure.InvalidAuthorization", "Authorization 不符合 TC3 格式")
        if secret_id != TENCENT_KEY[0]:
            return error("AuthFailure.SecretIdNotFound", "SecretId 不存在")
        if abs(time.time() - int(timestamp)) > 300:
            return error("AuthFailure.SignatureExpire", "签名过期")
        expected = tencent_tc3_signature(secret_key=TENCENT_KEY[1], service=service, timestamp=timestamp,
                                         payload=body, content_type=headers.get("content-type", ""),
                                         host=headers.get("host", ""))
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            self.refused.append("tencent signature")
            return error("AuthFailure.SignatureFailure", "签名错误")
        data = json.loads(body or b"{}")
        action = headers["x-tc-action"]
        if failure in ("RequestLimitExceeded", "InternalError") or (failure or "").startswith("AuthFailure"):
            return error(failure or "", f"fake: {failure}")
        if action == "SendSms" and service == "sms":
            if str(data.get("SmsSdkAppId")) != TENCENT_APP_ID:
                return error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId 不存在")
            if not data.get("PhoneNumberSet") or not data.get("TemplateId"):
                return error("MissingParameter", "缺少 PhoneNumberSet 或 TemplateId")
            statuses = []
            for phone in data["PhoneNumberSet"]:
                code: str = failure or ""
                code = code or self._template_error(str(data["TemplateId"]), data.get("TemplateParamSet") or [],
                                                    named=False) or ""
                if not code and data.get("SignName") != self.sign_name:
                    code = "FailedOperation.SignatureIncorrectOrUnapproved"
                if not code and not (phone.startswith("+861") and len(phone) == 14 and phone[1:].isdigit()):
                    code = "InvalidParameterValue.IncorrectPhoneNumber"
                serial = f"{uuid.uuid4().int % 10**4}:{uuid.uuid4().hex[:20]}"
                if not code:
                    self.messages.append(Accepted("tencent", action, phone, str(data["TemplateId"]),
                                                  list(data.get("TemplateParamSet") or []), serial,
                                                  data.get("SignName", "")))
                statuses.append({"SerialNo": serial if not code else "", "PhoneNumber": phone, "Fee": 0 if code else 1,
                                 "SessionContext": data.get("SessionContext", ""), "Code": code or "Ok",
                                 "Message": "send success" if not code else f"fake: {code}", "IsoCode": "CN"})
            return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}
        if action == "SendTtsVoice" and service == "vms":
            if failure:
                return error(failure, f"fake: {failure}")
            problem = self._template_error(str(data.get("TemplateId")), data.get("TemplateParamSet") or [],
                                           named=False)
            if problem:
                return error(problem, "模板不合法")
            call_id = uuid.uuid4().hex
            self.messages.append(Accepted("tencent", action, data.get("CalledNumber", ""), str(data["TemplateId"]),
                                          list(data.get("TemplateParamSet") or []), call_id))
            return 200, {"Response": {"SendStatus": {"CallId": call_id, "SessionContext":
                                                     data.get("SessionContext", "")}, "RequestId": request_id}}
        return error("InvalidAction", f"{service} 没有 {action}")

    # -- group robots ------------------------------------------------------------------------------------------

    def _dingtalk(self, query: str, body: bytes, failure: str | None) -> tuple[int, dict]:
        params = dict(parse_qsl(query))
        if params.get("access_token") != self.dingtalk_token:
            return 200, {"errcode": 300005, "errmsg": "token is not exist"}
        timestamp = params.get("timestamp", "0")
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
            return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
        if not hmac.compare_digest(dingtalk_sign(self.dingtalk_secret, timestamp), params.get("sign", "")):
            self.refused.append("dingtalk sign")
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if failure:
            return 200, {"errcode": int(failure) if failure.isdigit() else 410100, "errmsg": f"fake: {failure}"}
        message = json.loads(body or b"{}")
        if message.get("msgtype") not in ("text", "markdown", "link", "actionCard"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 msgtype"}
        self.robot_posts.append({"platform": "dingtalk", **message})
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _wecom(self, query: str, body: bytes, failure: str | None) -> tuple[int, dict]:
        params = dict(parse_qsl(query))
        if params.get("key") != self.wecom_key:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        if failure:
            return 200, {"errcode": int(failure) if failure.isdigit() else 45009, "errmsg": f"fake: {failure}"}
        message = json.loads(body or b"{}")
        if message.get("msgtype") not in ("text", "markdown", "news", "template_card"):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        self.robot_posts.append({"platform": "wecom", **message})
        return 200, {"errcode": 0, "errmsg": "ok"}
