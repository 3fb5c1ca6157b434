"""DingTalk (钉钉) custom robot: POST JSON to the robot's webhook, signed in the query string.

Format per DingTalk's 自定义机器人 documentation (open.dingtalk.com, 自定义机器人发送群消息 and
its 加签 security setting): ``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN``
with ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}`` or
``{"msgtype": "text", "text": {"content": …}}``.

Signing (加签), as documented: the string to sign is ``timestamp + "\\n" + secret`` (timestamp
in milliseconds, within one hour of DingTalk's clock); its HMAC-SHA256 keyed with the secret
(the ``SEC…`` string), Base64-encoded, then URL-encoded, is appended to the webhook URL as
``&timestamp=<timestamp>&sign=<sign>``. A robot without the setting takes no signature.

The answer is ``{"errcode": 0, "errmsg": "ok"}``; an error is another ``errcode`` with HTTP
200: 130101 and 410100 are the rate limit (20 messages a minute) and -1 the platform busy —
retried; any other code is final, among them 310000, the robot's security refusing the message
(a sign that does not match, a keyword the text lacks, an IP outside the allowed list), and a
token that names no robot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import quote_plus

import httpx

from activities.channels.base import (
    Address,
    DeliveryOutcome,
    RenderedMessage,
    RobotWebhook,
    http_status_failure,
    json_body,
    transport_failure,
    unreadable_answer,
    wrong_address,
)

RATE_LIMIT_ERRCODES = frozenset({130101, 410100})


def dingtalk_sign(timestamp_ms: str, secret: str) -> str:
    """The documented 加签: the URL-encoded Base64 of
    HMAC-SHA256(key=secret, message=timestamp + "\\n" + secret)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def signed_url(url: str, secret: str | None, timestamp_ms: str) -> str:
    if not secret:
        return url
    joint = "&" if "?" in url else "?"
    return f"{url}{joint}timestamp={timestamp_ms}&sign={dingtalk_sign(timestamp_ms, secret)}"


def dingtalk_body(message: RenderedMessage, *, markdown: bool = True) -> dict[str, object]:
    if markdown:
        return {
            "msgtype": "markdown",
            "markdown": {"title": message.subject, "text": message.markdown_with_attachment()},
        }
    text = f"{message.subject}\n{message.text_with_attachment()}"
    return {"msgtype": "text", "text": {"content": text}}


class DingTalkRobotChannel:
    name = "dingtalk"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        markdown: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._markdown = markdown
        self._clock = clock

    async def deliver(self, message: RenderedMessage, address: Address) -> DeliveryOutcome:
        if not isinstance(address, RobotWebhook):
            return wrong_address(self.name, address, "a robot webhook")
        timestamp_ms = str(round(self._clock() * 1000))
        try:
            response = await self._client.post(
                signed_url(address.url, address.secret, timestamp_ms),
                json=dingtalk_body(message, markdown=self._markdown),
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return transport_failure(exc)
        failure = http_status_failure(response)
        if failure is not None:
            return failure
        body = json_body(response)
        if body is None or "errcode" not in body:
            return unreadable_answer(self.name, response)
        return dingtalk_outcome(body)


def dingtalk_outcome(body: dict[str, object]) -> DeliveryOutcome:
    errcode = body.get("errcode")
    errmsg = str(body.get("errmsg", ""))
    reason = f"DingTalk {errcode}: {errmsg}"
    if errcode == 0:
        return DeliveryOutcome.delivered(None)  # the custom robot's answer carries no id
    if errcode in RATE_LIMIT_ERRCODES:
        return DeliveryOutcome.failed("rate_limited", reason, retryable=True)
    if errcode == -1:
        return DeliveryOutcome.failed("provider:-1", reason, retryable=True)
    if errcode == 310000 and "sign" in errmsg:
        return DeliveryOutcome.failed("signature_refused", reason, retryable=False)
    return DeliveryOutcome.failed(f"provider:{errcode}", reason, retryable=False)
