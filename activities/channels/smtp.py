"""E-mail over SMTP: the bureau's mail server, with STARTTLS, implicit TLS or (a local relay)
neither, and a login when it asks for one.

The message (RFC 5322, via the standard library's ``email`` package with the SMTP policy):
``From`` the configured address under a display name that may be Chinese, ``To`` the
recipient (Chinese display names too), ``Subject`` in UTF-8 — non-ASCII header text is
encoded as RFC 2047 encoded-words (``=?utf-8?b?…?=``) — and a UTF-8 ``text/plain`` body.
``Message-ID`` is derived from the step key (``<sha256(step key)[:32].duban@<from domain>>``):
a repeat of one step to one recipient carries the same id, so the receiving side (and a
person) can recognise it. ``Auto-Submitted: auto-generated`` (RFC 3834) keeps out-of-office
replies away.

smtplib blocks; ``deliver`` runs it on a worker thread (``asyncio.to_thread``), never on the
event loop. Failures: the server unreachable, a dropped connection or a 4xx answer may pass
— retried; a login refused (535), a recipient refused with 5xx, a STARTTLS the server does not
offer (never downgraded to plain text) or a certificate that does not verify will not — final.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import SMTPUTF8 as SMTPUTF8_POLICY
from email.utils import format_datetime
from pathlib import Path
from typing import Literal

from activities.channels.base import (
    Address,
    DeliveryOutcome,
    EmailAddress,
    RenderedMessage,
    wrong_address,
)
from activities.notifications import idempotency_header

Security = Literal["starttls", "ssl", "none"]
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    from_address: str
    port: int = 587
    security: Security = "starttls"
    username: str | None = None
    password: str | None = None
    from_name: str = "督办"
    timeout: float = 10.0
    ca_file: Path | None = None  # a private CA that signed the server's certificate


def message_id(step_key: str, from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "duban.invalid"
    return f"<{hashlib.sha256(step_key.encode()).hexdigest()[:32]}.duban@{domain}>"


def is_email_address(text: str) -> bool:
    return bool(_ADDRESS.match(text)) and "\r" not in text and "\n" not in text


class SmtpChannel:
    name = "email"

    def __init__(
        self, config: SmtpConfig, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._config = config
        self._clock = clock

    def compose(self, message: RenderedMessage, to: EmailAddress) -> EmailMessage:
        """The e-mail for ``message`` to ``to`` (its Date the moment it is composed)."""
        # An address in Chinese (张三@例子.中国) needs SMTPUTF8 (RFC 6531): its headers go as
        # UTF-8, and a server that does not offer the extension refuses it (final).
        international = not (to.address + self._config.from_address).isascii()
        mail = EmailMessage(policy=SMTPUTF8_POLICY if international else SMTP_POLICY)
        c = self._config
        mail["From"] = _mail_address(c.from_name, c.from_address)
        mail["To"] = _mail_address(to.display_name, to.address)
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(self._clock())
        mail["Message-ID"] = message_id(message.step_key, c.from_address)
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Duban-Step-Key"] = idempotency_header(message.step_key)
        mail.set_content(message.text_with_attachment(), charset="utf-8")
        return mail

    async def deliver(self, message: RenderedMessage, address: Address) -> DeliveryOutcome:
        if not isinstance(address, EmailAddress):
            return wrong_address(self.name, address, "an e-mail address")
        if not is_email_address(address.address):
            return DeliveryOutcome.failed(
                "bad_address", f"not an e-mail address: {address.address!r}", retryable=False
            )
        try:
            mail = self.compose(message, address)
        except (ValueError, TypeError) as exc:  # a display name or address email cannot hold
            return DeliveryOutcome.failed("bad_address", f"cannot address: {exc}", retryable=False)
        return await asyncio.to_thread(self._send, mail, address.address)

    def _tls(self) -> ssl.SSLContext:
        ca = self._config.ca_file
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    def _send(self, mail: EmailMessage, recipient: str) -> DeliveryOutcome:
        c = self._config
        try:
            if c.security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout, context=self._tls()
                )
            else:
                server = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            with server:
                server.ehlo()
                if c.security == "starttls":
                    server.starttls(context=self._tls())
                    server.ehlo()
                if c.username:
                    _login(server, c.username, c.password or "")
                server.send_message(mail, from_addr=c.from_address, to_addrs=[recipient])
        except smtplib.SMTPAuthenticationError as exc:
            return DeliveryOutcome.failed(
                "login_refused",
                f"SMTP login refused: {exc.smtp_code} {_said(exc)}",
                retryable=False,
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, said = next(iter(exc.recipients.values()))
            return _answer(code, said, "bad_address")
        except smtplib.SMTPNotSupportedError as exc:
            return DeliveryOutcome.failed("not_supported", f"SMTP: {exc}", retryable=False)
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, …
            return _answer(exc.smtp_code, exc.smtp_error, f"smtp_{exc.smtp_code}")
        except ssl.SSLError as exc:
            return DeliveryOutcome.failed(
                "tls", f"TLS with the SMTP server: {exc}", retryable=False
            )
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timed out, dropped
            return DeliveryOutcome.failed("network", f"{type(exc).__name__}: {exc}", retryable=True)
        return DeliveryOutcome.delivered(mail["Message-ID"])


def _mail_address(display_name: str, address: str) -> MailAddress:
    # By parts: the addr_spec parser refuses a local part in Chinese even under SMTPUTF8.
    local, _, domain = address.rpartition("@")
    return MailAddress(display_name=display_name, username=local, domain=domain)


def _login(server: smtplib.SMTP, username: str, password: str) -> None:
    """One AUTH attempt: PLAIN (RFC 4616, UTF-8, so a Chinese password works) when the server
    offers it, else smtplib's own choice (CRAM-MD5, LOGIN; ASCII only). smtplib's ``login``
    would try every mechanism in turn after a refusal, and some servers hang on the second."""
    if not server.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH, and a login is configured")
    if "PLAIN" in server.esmtp_features["auth"].upper().split():
        token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
        code, said = server.docmd("AUTH", f"PLAIN {token}")
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, said)
        return
    if not (username + password).isascii():
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH PLAIN for a UTF-8 login")
    server.login(username, password)


def _said(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    return error.decode(errors="replace") if isinstance(error, bytes) else str(error)


def _answer(code: int, said: bytes | str, final_code: str) -> DeliveryOutcome:
    """A 4xx answer is "not now" (greylisting, a full mailbox queue); a 5xx is "never"."""
    text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
    if 400 <= code < 500:
        return DeliveryOutcome.failed(f"smtp_{code}", f"SMTP {code}: {text}", retryable=True)
    return DeliveryOutcome.failed(final_code, f"SMTP {code}: {text}", retryable=False)
