"""The generic webhook: JSON with the step key as Idempotency-Key, signed with HMAC-SHA256 over
the timestamp and the raw body; the receiver recomputes the signature and refuses a wrong one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest

from activities.channels import PhoneNumber, RenderedMessage, RobotWebhook
from activities.channels.webhook import SignedWebhookChannel, verify_signature, webhook_signature
from tests.channels import receivers
from tests.channels.receivers import Receiver, closed_port_url

SECRET = "shared-secret-的-密钥"


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = receivers.signed_webhook(SECRET)
    yield r
    r.close()


async def test_the_webhook_receives_the_signed_notice_with_its_step_key(
    client: httpx.AsyncClient, receiver: Receiver, message: RenderedMessage
):
    outcome = await SignedWebhookChannel(client).deliver(
        message, RobotWebhook(f"{receiver.base}/duban", SECRET)
    )
    assert outcome.sent and outcome.provider_message_id == "rcv-1"
    (request,) = receiver.received
    assert unquote(request.headers["Idempotency-Key"]) == message.step_key
    body = request.json()
    assert body["step_key"] == message.step_key and body["link"] == message.link
    assert body["subject"] == message.subject and "2026年12月31日 17:00" in body["text"]
    assert body["notification"]["reason"] == "rectification_notice"
    assert body["notification"]["event"]["deadline"] == "2026-12-31T09:00:00+00:00"


async def test_a_wrong_secret_is_refused_and_not_retried(
    client: httpx.AsyncClient, receiver: Receiver, message: RenderedMessage
):
    channel = SignedWebhookChannel(client)
    outcome = await channel.deliver(message, RobotWebhook(f"{receiver.base}/duban", "guess"))
    assert not outcome.sent and not outcome.retryable and outcome.code == "signature_refused"
    unsigned = await channel.deliver(message, RobotWebhook(f"{receiver.base}/duban"))
    assert not unsigned.sent and not unsigned.retryable


async def test_a_receiver_that_is_down_busy_or_failing_is_retried(
    client: httpx.AsyncClient, receiver: Receiver, message: RenderedMessage
):
    channel = SignedWebhookChannel(client)
    down = await channel.deliver(message, RobotWebhook(closed_port_url("/duban"), SECRET))
    assert not down.sent and down.retryable and down.code == "network"
    receiver.mode = "rate_limited"
    busy = await channel.deliver(message, RobotWebhook(f"{receiver.base}/duban", SECRET))
    assert not busy.sent and busy.retryable and busy.code == "rate_limited"
    receiver.mode = "error_500"
    failing = await channel.deliver(message, RobotWebhook(f"{receiver.base}/duban", SECRET))
    assert not failing.sent and failing.retryable and failing.code == "http_500"


async def test_the_webhook_takes_no_phone_number(
    client: httpx.AsyncClient, message: RenderedMessage
):
    outcome = await SignedWebhookChannel(client).deliver(message, PhoneNumber("13800138000"))
    assert not outcome.sent and not outcome.retryable and outcome.code == "bad_address"


def test_verify_signature_accepts_duban_s_own_and_refuses_tampering_and_old_timestamps():
    body = json.dumps({"a": "督办"}, ensure_ascii=False).encode()
    now = time.time()
    stamp = str(int(now))
    signature = webhook_signature(SECRET, stamp, body)
    assert verify_signature(SECRET, stamp, signature, body, now)
    assert not verify_signature(SECRET, stamp, signature, body + b" ", now)
    assert not verify_signature("other", stamp, signature, body, now)
    assert not verify_signature(SECRET, stamp, signature, body, now + 301)
    assert not verify_signature(SECRET, "soon", signature, body, now)
