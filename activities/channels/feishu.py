"""Feishu / Lark (飞书) custom bot: POST JSON to the bot's webhook, signed in the body.

Format per Feishu's 自定义机器人使用指南
(open.feishu.cn/document/client-docs/bot-v3/add-custom-bot):
``POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN`` (Lark: open.larksuite.com) with
``{"msg_type": "post", "content": {"post": {"zh_cn": {"title": …, "content": [[{"tag":
"text", "text": …}], [{"tag": "a", "text": …, "href": …}]]}}}}`` (rich text: one list of
elements per paragraph) or ``{"msg_type": "text", "content": {"text": …}}``.

Signing (签名校验), as documented: ``timestamp + "\\n" + secret`` (timestamp in seconds, within
one hour of Feishu's clock) is the HMAC-SHA256 *key*, the message is empty; the digest,
Base64-encoded, goes in the body as ``"sign"`` beside ``"timestamp"``. (Unlike DingTalk's, the
string is the key, and nothing is URL-encoded.)

The answer is ``{"code": 0, "msg": "success", "data": {}}`` (older deployments also answer
``StatusCode``); an error is another ``code``: 19021 a sign that does not match or a timestamp
out of the hour — final; 19001 a token that names no bot — final; 19024 a keyword the text
lacks and 19022 an IP not allowed — final; 11232 the bot's rate limit — retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

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

RATE_LIMIT_CODES = frozenset({11232})
SIGNATURE_CODES = frozenset({19021})
BAD_ADDRESS_CODES = frozenset({19001})


def feishu_sign(timestamp_s: str, secret: str) -> str:
    """The documented 签名: Base64 of HMAC-SHA256 keyed with ``timestamp + "\\n" + secret``
    over an empty message."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def feishu_body(message: RenderedMessage, *, rich: bool = True) -> dict[str, object]:
    if not rich:
        return {
            "msg_type": "text",
            "content": {"text": f"{message.subject}\n{message.text_with_attachment()}"},
        }
    lines = message.text.splitlines()
    if lines and lines[-1].endswith(message.link):
        lines = lines[:-1]  # the link becomes a link element below
    paragraphs: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in lines]
    paragraphs.append(
        [{"tag": "a", "text": message.link_label or message.link, "href": message.link}]
    )
    if message.attachment is not None:
        a = message.attachment
        paragraphs.append(
            [
                {"tag": "a", "text": a.name, "href": a.uri},
                {"tag": "text", "text": f" SHA-256 {a.sha256}"},
            ]
        )
    # One locale: Feishu shows the only one given to every reader.
    post = {"zh_cn": {"title": message.subject, "content": paragraphs}}
    return {"msg_type": "post", "content": {"post": post}}


class FeishuBotChannel:
    name = "feishu"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        rich: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._rich = rich
        self._clock = clock

    async def deliver(self, message: RenderedMessage, address: Address) -> DeliveryOutcome:
        if not isinstance(address, RobotWebhook):
            return wrong_address(self.name, address, "a robot webhook")
        body = feishu_body(message, rich=self._rich)
        if address.secret:
            timestamp_s = str(int(self._clock()))
            body = {
                "timestamp": timestamp_s,
                "sign": feishu_sign(timestamp_s, address.secret),
                **body,
            }
        try:
            response = await self._client.post(address.url, json=body)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return transport_failure(exc)
        answer = json_body(response)
        if answer is not None and ("code" in answer or "StatusCode" in answer):
            # Feishu states its refusals in the body, some of them with a 4xx status.
            return feishu_outcome(answer, response.status_code)
        failure = http_status_failure(response)
        if failure is not None:
            return failure
        return unreadable_answer(self.name, response)


def feishu_outcome(body: dict[str, object], status: int = 200) -> DeliveryOutcome:
    code = body.get("code", body.get("StatusCode"))
    msg = str(body.get("msg", body.get("StatusMessage", "")))
    reason = f"Feishu {code}: {msg}"
    if code == 0 and status < 300:
        return DeliveryOutcome.delivered(None)  # the custom bot's answer carries no message id
    if code in RATE_LIMIT_CODES or status == 429:
        return DeliveryOutcome.failed("rate_limited", reason, retryable=True)
    if code in SIGNATURE_CODES:
        return DeliveryOutcome.failed("signature_refused", reason, retryable=False)
    if code in BAD_ADDRESS_CODES:
        return DeliveryOutcome.failed("bad_address", reason, retryable=False)
    if status >= 500:
        return DeliveryOutcome.failed(f"http_{status}", reason, retryable=True)
    return DeliveryOutcome.failed(f"provider:{code}", reason, retryable=False)
