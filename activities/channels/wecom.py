"""WeCom (企业微信) group robot: POST JSON to the robot's webhook URL.

Format per WeCom's 群机器人配置说明 (developer.work.weixin.qq.com/document/path/91770):
``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with
``{"msgtype": "markdown", "markdown": {"content": …}}`` (at most 4096 bytes, UTF-8) or
``{"msgtype": "text", "text": {"content": …}}`` (at most 2048 bytes). The robot has no
signature: the key in the URL is the secret. The answer is ``{"errcode": 0, "errmsg": "ok"}``;
an error is another ``errcode`` with HTTP 200 (global codes, document/path/90313): 45009 is
the robot's rate limit (20 messages a minute), -1 the platform busy — both retried; 93000 is
a webhook URL whose key is wrong or whose robot was removed — final. A message longer than
the limit is cut, its link kept whole.
"""

from __future__ import annotations

import httpx

from activities.channels.base import (
    Address,
    DeliveryOutcome,
    RenderedMessage,
    RobotWebhook,
    http_status_failure,
    json_body,
    transport_failure,
    truncate_utf8,
    unreadable_answer,
    wrong_address,
)

MARKDOWN_MAX_BYTES = 4096
TEXT_MAX_BYTES = 2048
RETRYABLE_ERRCODES = {-1: "platform busy", 45009: "rate limit (api freq out of limit)"}
BAD_ADDRESS_ERRCODES = {93000: "invalid webhook url (wrong key or robot removed)"}


def wecom_body(message: RenderedMessage, *, markdown: bool = True) -> dict[str, object]:
    if markdown:
        content = truncate_utf8(
            message.markdown_with_attachment(), MARKDOWN_MAX_BYTES, message.link
        )
        return {"msgtype": "markdown", "markdown": {"content": content}}
    text = f"{message.subject}\n{message.text_with_attachment()}"
    return {
        "msgtype": "text",
        "text": {"content": truncate_utf8(text, TEXT_MAX_BYTES, message.link)},
    }


class WeComRobotChannel:
    name = "wecom"

    def __init__(self, client: httpx.AsyncClient, *, markdown: bool = True) -> None:
        self._client = client
        self._markdown = markdown

    async def deliver(self, message: RenderedMessage, address: Address) -> DeliveryOutcome:
        if not isinstance(address, RobotWebhook):
            return wrong_address(self.name, address, "a robot webhook")
        try:
            response = await self._client.post(
                address.url, json=wecom_body(message, markdown=self._markdown)
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return transport_failure(exc)
        failure = http_status_failure(response)
        if failure is not None:
            return failure
        body = json_body(response)
        if body is None or "errcode" not in body:
            return unreadable_answer(self.name, response)
        return wecom_outcome(body)


def wecom_outcome(body: dict[str, object]) -> DeliveryOutcome:
    errcode = body.get("errcode")
    errmsg = str(body.get("errmsg", ""))
    if errcode == 0:
        return DeliveryOutcome.delivered(None)  # WeCom's robot answer carries no message id
    if errcode in RETRYABLE_ERRCODES:
        code = "rate_limited" if errcode == 45009 else f"provider:{errcode}"
        return DeliveryOutcome.failed(code, f"WeCom {errcode}: {errmsg}", retryable=True)
    if errcode in BAD_ADDRESS_ERRCODES:
        return DeliveryOutcome.failed("bad_address", f"WeCom {errcode}: {errmsg}", retryable=False)
    return DeliveryOutcome.failed(
        f"provider:{errcode}", f"WeCom {errcode}: {errmsg}", retryable=False
    )
