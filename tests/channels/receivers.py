"""Local receivers that speak each platform's side, for the channel tests.

Each verifies a request the way its platform documents, written here from the documentation
and not from duban's adapters: DingTalk recomputes 加签 from the query's timestamp and its own
secret, Feishu recomputes 签名校验 from the body's timestamp, Alibaba Cloud SMS recomputes the
RPC signature from the received form, the generic webhook receiver recomputes the HMAC over the
raw body. A refused request gets the platform's own error body; a good one its success body.
``mode`` makes a receiver answer as a platform in trouble (500, its rate-limit code).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, Any]  # status, JSON body (or bytes)


@dataclass
class Receiver:
    """A threaded HTTP server on 127.0.0.1 answering each POST with ``answer(request)``."""

    answer: Callable[[Received], Answer]
    mode: str = "normal"  # "normal" | "error_500" | "rate_limited"
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Received(
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k: v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                receiver.received.append(request)
                if receiver.mode == "error_500":
                    status, body = 500, b"<html>502 Bad Gateway</html>"
                else:
                    status, body = receiver.answer(request)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def _b64_hmac_sha256(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


# ----------------------------------------------------------------------------- WeCom (企业微信)


def wecom(key: str) -> Receiver:
    """The group robot at /cgi-bin/webhook/send?key=<key>."""

    def answer(request: Received) -> Answer:
        if request.query.get("key") != [key]:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1] ..."}
        body = request.json()
        kind = body.get("msgtype")
        content = body.get(kind, {}).get("content", "")
        limit = {"markdown": 4096, "text": 2048}.get(kind)
        if limit is None or not content:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode()) > limit:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length"}
        if receiver.mode == "rate_limited":
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    receiver = Receiver(answer)
    return receiver


# ------------------------------------------------------------------------------ DingTalk (钉钉)


def dingtalk(token: str, secret: str | None) -> Receiver:
    """The custom robot at /robot/send?access_token=<token>; with a secret it requires 加签:
    sign = urlEncode(base64(HmacSHA256(key=secret, timestamp + "\\n" + secret))), timestamp in
    milliseconds within an hour."""

    def answer(request: Received) -> Answer:
        if request.query.get("access_token") != [token]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if secret is not None:
            timestamp = (request.query.get("timestamp") or [""])[0]
            sign = (request.query.get("sign") or [""])[0]  # parse_qs has URL-decoded it
            expected = _b64_hmac_sha256(secret.encode(), f"{timestamp}\n{secret}".encode())
            fresh = timestamp.isdigit() and abs(time.time() * 1000 - int(timestamp)) < 3600_000
            if not fresh or not hmac.compare_digest(sign, expected):
                return 200, {
                    "errcode": 310000,
                    "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
                }
        body = request.json()
        if body.get("msgtype") not in ("text", "markdown"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}
        if receiver.mode == "rate_limited":
            return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    receiver = Receiver(answer)
    return receiver


# --------------------------------------------------------------------------- Feishu (飞书)


def feishu(token: str, secret: str | None) -> Receiver:
    """The custom bot at /open-apis/bot/v2/hook/<token>; with a secret it requires 签名校验:
    sign = base64(HmacSHA256(key=timestamp + "\\n" + secret, message="")), timestamp in seconds
    within an hour, both in the body."""

    def answer(request: Received) -> Answer:
        if request.path != f"/open-apis/bot/v2/hook/{token}":
            return 200, {
                "code": 19001,
                "data": {},
                "msg": "param invalid: incoming webhook access token invalid",
            }
        body = request.json()
        if secret is not None:
            timestamp = str(body.get("timestamp", ""))
            expected = _b64_hmac_sha256(f"{timestamp}\n{secret}".encode(), b"")
            fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 3600
            if not fresh or not hmac.compare_digest(str(body.get("sign", "")), expected):
                return 200, {
                    "code": 19021,
                    "data": {},
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
        if body.get("msg_type") not in ("text", "post"):
            return 200, {"code": 19002, "data": {}, "msg": "params error, msg_type need"}
        if receiver.mode == "rate_limited":
            return 200, {"code": 11232, "data": {}, "msg": "frequency limited psm[lark.oapi]"}
        return 200, {
            "StatusCode": 0,
            "StatusMessage": "success",
            "code": 0,
            "data": {},
            "msg": "success",
        }

    receiver = Receiver(answer)
    return receiver


# ---------------------------------------------------------------------------- the generic webhook


def signed_webhook(secret: str) -> Receiver:
    """A program of the bureau's: checks X-Duban-Signature = sha256=hex(HMAC-SHA256(secret,
    timestamp + "." + raw body)) with the timestamp within five minutes; 401 otherwise."""

    def answer(request: Received) -> Answer:
        timestamp = request.headers.get("X-Duban-Timestamp", "")
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256)
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        signature = request.headers.get("X-Duban-Signature", "")
        if not fresh or not hmac.compare_digest(signature, "sha256=" + mac.hexdigest()):
            return 401, {"error": "bad signature"}
        if receiver.mode == "rate_limited":
            return 429, {"error": "slow down"}
        return 200, {"id": f"rcv-{len(receiver.received)}"}

    receiver = Receiver(answer)
    return receiver


# ------------------------------------------------------------------ Alibaba Cloud SMS (SendSms)

UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


def documented_percent_encode(text: str) -> str:
    """The documented rule, byte by byte: only A-Z a-z 0-9 - _ . ~ stay literal."""
    return "".join(chr(b) if b in UNRESERVED else f"%{b:02X}" for b in text.encode())


def aliyun_sms(access_key_id: str, access_key_secret: str) -> Receiver:
    """dysmsapi's SendSms: recomputes the RPC signature (HMAC-SHA1 keyed secret + "&" over
    POST&%2F&percentEncode(canonicalised query)) from the received form, refuses a reused
    SignatureNonce and a Timestamp off by more than 15 minutes, as Alibaba Cloud does."""
    nonces: set[str] = set()

    def answer(request: Received) -> Answer:
        params = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        request_id = f"REQ-{len(receiver.received):04d}"
        signature = params.pop("Signature", "")
        if params.get("AccessKeyId") != access_key_id:
            return 404, {
                "RequestId": request_id,
                "Code": "InvalidAccessKeyId.NotFound",
                "Message": "Specified access key is not found.",
            }
        canonical = "&".join(
            f"{documented_percent_encode(k)}={documented_percent_encode(v)}"
            for k, v in sorted(params.items())
        )
        to_sign = "POST&%2F&" + documented_percent_encode(canonical)
        key = f"{access_key_secret}&".encode()
        expected = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(signature, expected):
            return 400, {
                "RequestId": request_id,
                "HostId": "dysmsapi.aliyuncs.com",
                "Code": "SignatureDoesNotMatch",
                "Message": f"Specified signature is not matched with our calculation. "
                f"server string to sign is:{to_sign}",
            }
        stamped = calendar.timegm(time.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        if abs(time.time() - stamped) > 900:
            return 400, {
                "RequestId": request_id,
                "Code": "InvalidTimeStamp.Expired",
                "Message": "Specified time stamp or date value is expired.",
            }
        if params["SignatureNonce"] in nonces:
            return 400, {
                "RequestId": request_id,
                "Code": "SignatureNonceUsed",
                "Message": "Specified signature nonce was used already.",
            }
        nonces.add(params["SignatureNonce"])
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return 400, {"RequestId": request_id, "Code": "InvalidParameter", "Message": "Action"}
        json.loads(params["TemplateParam"])  # a JSON object, or this request is malformed
        if not params["PhoneNumbers"].isdigit() or len(params["PhoneNumbers"]) != 11:
            return 200, {
                "RequestId": request_id,
                "Code": "isv.MOBILE_NUMBER_ILLEGAL",
                "Message": "非法手机号",
            }
        if receiver.mode == "rate_limited":
            return 200, {
                "RequestId": request_id,
                "Code": "isv.BUSINESS_LIMIT_CONTROL",
                "Message": "触发小时级流控Permits:5",
            }
        return 200, {
            "RequestId": request_id,
            "Code": "OK",
            "Message": "OK",
            "BizId": f"9006197469364984{len(receiver.received):03d}",
        }

    receiver = Receiver(answer)
    return receiver
