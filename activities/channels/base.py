"""The one interface every delivery channel has: a rendered message in, an outcome out.

A channel only delivers and reports (ARCHITECTURE: "the outbox decides what is due, the adapter
only delivers and reports"). ``deliver`` never raises for a failed delivery: it returns a
``DeliveryOutcome`` that says whether a later attempt can help — a network error, a 5xx or a
rate limit can; a bad address or a refused signature cannot, and retrying them only repeats the
refusal. Channels are async (the outbox dispatcher runs on asyncio with httpx); the SMTP channel
runs the standard library's blocking client on a worker thread, never on the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from domain.notices import NoticeText

# --------------------------------------------------------------------------------- the message


@dataclass(frozen=True)
class Attachment:
    """A document the message refers to (a 整改通知书 PDF, say): channels link to it, none
    uploads it. ``sha256`` lets the addressee check the file they fetch is the recorded one."""

    name: str
    uri: str
    sha256: str


@dataclass(frozen=True)
class RenderedMessage:
    """A notice as people read it, in every form a channel may need.

    ``step_key`` is the outbox's key (unique per event and recipient): every channel passes it
    on in the provider's own idempotency field where there is one, so a repeat is recognisable.
    ``notification`` is the queued notification itself, for receivers that are programs (the
    generic webhook); people's channels ignore it.
    """

    subject: str
    text: str  # plain text, the link on its last line
    markdown: str  # the same in Markdown (WeCom, DingTalk), title first
    link: str
    step_key: str
    link_label: str = ""  # the words of the link ("查看案件") where a channel shows them apart
    attachment: Attachment | None = None
    notification: Mapping[str, Any] = field(default_factory=dict)

    @staticmethod
    def of(
        text: NoticeText,
        step_key: str,
        *,
        attachment: Attachment | None = None,
        notification: Mapping[str, Any] | None = None,
    ) -> RenderedMessage:
        """The message of a rendered notice (``domain.notices.render_notice``)."""
        return RenderedMessage(
            subject=text.subject,
            text=text.text,
            markdown=text.markdown,
            link=text.link,
            step_key=step_key,
            link_label=text.link_label,
            attachment=attachment,
            notification=dict(notification or {}),
        )

    def text_with_attachment(self) -> str:
        if self.attachment is None:
            return self.text
        a = self.attachment
        return f"{self.text}\n附件 / Attachment: {a.name} {a.uri} (SHA-256 {a.sha256})"

    def markdown_with_attachment(self) -> str:
        if self.attachment is None:
            return self.markdown
        a = self.attachment
        return f"{self.markdown}\n\n附件 / Attachment: [{a.name}]({a.uri}) (SHA-256 `{a.sha256}`)"


# ------------------------------------------------------------------------------- the addresses


@dataclass(frozen=True)
class EmailAddress:
    address: str
    display_name: str = ""  # may be Chinese: encoded per RFC 2047 in the header


@dataclass(frozen=True)
class PhoneNumber:
    number: str  # a mainland mobile number (11 digits) or +<country><number>


@dataclass(frozen=True)
class RobotWebhook:
    """A group chat's robot (WeCom, DingTalk, Feishu) or a program's webhook: its URL and, where
    the platform signs requests, the signing secret."""

    url: str
    secret: str | None = None


Address = EmailAddress | PhoneNumber | RobotWebhook


# --------------------------------------------------------------------------------- the outcome


@dataclass(frozen=True)
class DeliveryOutcome:
    """Sent (with the provider's message id, when it gives one) or failed with a reason.

    ``code`` is a short machine-readable cause (``network``, ``http_503``, ``rate_limited``,
    ``bad_address``, ``signature_refused``, ``provider:<the platform's code>``); ``reason`` is
    the sentence an operator reads; ``retry_after`` the provider's own advice, in seconds.
    """

    sent: bool
    provider_message_id: str | None = None
    code: str = ""
    reason: str = ""
    retryable: bool = False
    retry_after: float | None = None

    @staticmethod
    def delivered(provider_message_id: str | None = None) -> DeliveryOutcome:
        return DeliveryOutcome(sent=True, provider_message_id=provider_message_id)

    @staticmethod
    def failed(
        code: str, reason: str, *, retryable: bool, retry_after: float | None = None
    ) -> DeliveryOutcome:
        return DeliveryOutcome(
            sent=False, code=code, reason=reason[:500], retryable=retryable, retry_after=retry_after
        )


@runtime_checkable
class Channel(Protocol):
    """A way to reach a person or a program. ``name`` is what the outbox records per attempt."""

    name: str

    async def deliver(self, message: RenderedMessage, address: Address) -> DeliveryOutcome: ...


# ------------------------------------------------------------------------- shared by adapters


def wrong_address(channel: str, address: Address, wanted: str) -> DeliveryOutcome:
    return DeliveryOutcome.failed(
        "bad_address",
        f"{channel} delivers to {wanted}, not to {type(address).__name__}",
        retryable=False,
    )


def transport_failure(exc: Exception) -> DeliveryOutcome:
    """An httpx exception raised before any answer: a URL that can never work is final; a
    connection refused, reset or timed out is the network's and may pass."""
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return DeliveryOutcome.failed("bad_address", f"unusable URL: {exc}", retryable=False)
    return DeliveryOutcome.failed("network", f"{type(exc).__name__}: {exc}", retryable=True)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def http_status_failure(response: httpx.Response) -> DeliveryOutcome | None:
    """The failure an HTTP status alone says, or None for a 2xx (the body then decides).

    429 and 408 are "later"; every 5xx is the provider's trouble and may pass; any other 4xx
    (401, 403, 404: a wrong key, a refused signature, a robot removed) will not.
    """
    status = response.status_code
    if 200 <= status < 300:
        return None
    snippet = response.text[:200]
    if status == 429:
        return DeliveryOutcome.failed(
            "rate_limited",
            f"HTTP 429: {snippet}",
            retryable=True,
            retry_after=_retry_after(response),
        )
    if status == 408 or status >= 500:
        return DeliveryOutcome.failed(
            f"http_{status}",
            f"HTTP {status}: {snippet}",
            retryable=True,
            retry_after=_retry_after(response),
        )
    return DeliveryOutcome.failed(f"http_{status}", f"HTTP {status}: {snippet}", retryable=False)


def json_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def unreadable_answer(channel: str, response: httpx.Response) -> DeliveryOutcome:
    """A 2xx whose body is not the platform's JSON: a proxy or a portal answered, not the
    platform. Retried — whether the platform took the message is unknown, and every platform
    here drops or tolerates a repeat better than duban loses a notice."""
    return DeliveryOutcome.failed(
        "unreadable_answer",
        f"{channel}: HTTP {response.status_code} with a body that is not its JSON: "
        f"{response.text[:200]}",
        retryable=True,
    )


def truncate_utf8(text: str, max_bytes: int, keep_tail: str = "") -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes on a character boundary, marked with an
    ellipsis; when ``text`` ends with ``keep_tail`` (the link), the tail is kept whole."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    tail = keep_tail if keep_tail and text.endswith(keep_tail) else ""
    head = text[: len(text) - len(tail)] if tail else text
    joint = "…\n" if tail else "…"
    room = max_bytes - len((joint + tail).encode("utf-8"))
    cut = head.encode("utf-8")[: max(room, 0)].decode("utf-8", errors="ignore")
    return cut + joint + tail


_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_INTERNATIONAL = re.compile(r"^\+\d{6,15}$")


def normalised_phone(number: str) -> str | None:
    """A mainland mobile number as 11 digits (``+86`` dropped), another country's as
    ``+<digits>``; None when it is neither (spaces and dashes are ignored)."""
    compact = re.sub(r"[\s-]", "", number)
    if compact.startswith("+86"):
        compact = compact[3:]
    if _MAINLAND_MOBILE.match(compact) or _INTERNATIONAL.match(compact):
        return compact
    return None
