"""The generic signed webhook: a program of the bureau's receives each notice as JSON.

Today's dispatcher POSTs the queued notification with its step key as ``Idempotency-Key``;
this channel does the same for a rendered notice and signs it, so the receiver can tell duban's
requests from anyone else's and refuse a replayed one:

    POST <url>
    Content-Type: application/json; charset=utf-8
    Idempotency-Key: <the step key, non-ASCII percent-encoded>
    X-Duban-Timestamp: <Unix time, seconds>
    X-Duban-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

    {"step_key": …, "subject": …, "text": …, "markdown": …, "link": …, "attachment": …,
     "notification": <the queued notification>}

The signature is over the exact bytes of the body, prefixed by the timestamp and a dot (the
scheme Stripe and GitHub webhooks use), keyed with the shared secret (``DUBAN_WEBHOOK_SECRET``).
A receiver recomputes it over the raw body it read, compares in constant time, and refuses a
timestamp more than five minutes from its clock; ``verify_signature`` does that in Python.
Without a secret the request goes unsigned (the headers are left out).

Any 2xx is delivered (the provider id: the answer's ``X-Request-Id`` or JSON ``id`` if any); 429,
408 and 5xx are retried; 401 and 403 mean the receiver refused the signature — final, as is
any other 4xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
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
    wrong_address,
)
from activities.notifications import idempotency_header

TIMESTAMP_HEADER = "X-Duban-Timestamp"
SIGNATURE_HEADER = "X-Duban-Signature"
TOLERANCE_SECONDS = 300


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp + "." + body`` keyed with ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    signature: str,
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """True when ``signature`` is duban's over ``body`` at ``timestamp``, and that is within
    ``tolerance`` seconds of ``now`` (the receiver's clock)."""
    try:
        stamped = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamped) > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret, timestamp, body), signature)


def webhook_body(message: RenderedMessage) -> bytes:
    attachment = message.attachment
    document = {
        "step_key": message.step_key,
        "subject": message.subject,
        "text": message.text,
        "markdown": message.markdown,
        "link": message.link,
        "attachment": None
        if attachment is None
        else {"name": attachment.name, "uri": attachment.uri, "sha256": attachment.sha256},
        "notification": dict(message.notification),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class SignedWebhookChannel:
    name = "webhook"

    def __init__(self, client: httpx.AsyncClient, *, clock: Callable[[], float] = time.time):
        self._client = client
        self._clock = clock

    async def deliver(self, message: RenderedMessage, address: Address) -> DeliveryOutcome:
        if not isinstance(address, RobotWebhook):
            return wrong_address(self.name, address, "a webhook URL")
        body = webhook_body(message)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": idempotency_header(message.step_key),
        }
        if address.secret:
            timestamp = str(int(self._clock()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = webhook_signature(address.secret, timestamp, body)
        try:
            response = await self._client.post(address.url, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return transport_failure(exc)
        if response.status_code in (401, 403):
            return DeliveryOutcome.failed(
                "signature_refused",
                f"HTTP {response.status_code}: the receiver refused the request "
                f"(signature or credentials): {response.text[:200]}",
                retryable=False,
            )
        failure = http_status_failure(response)
        if failure is not None:
            return failure
        answer = json_body(response) or {}
        provider_id = response.headers.get("X-Request-Id") or answer.get("id")
        return DeliveryOutcome.delivered(str(provider_id) if provider_id else None)
