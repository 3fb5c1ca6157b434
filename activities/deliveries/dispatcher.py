"""The delivery dispatcher: sends each pending delivery on its channel, records every attempt.

Claims work as the outbox's (``activities.notifications``): a claim pushes a row's
``next_attempt_at`` a lease ahead and that value is the claim's token; a row whose claim is
older than a third of the lease (slow receivers before it) is renewed before its send only if
the token still matches, and every outcome is written only with the token — a row is sent
only while this dispatcher holds it, and a dispatcher never records the outcome of a row
another took over.

Each attempt is a row in ``notification_attempts`` (sent, or failed with its code and reason).
A failure that may pass (network, 5xx, rate limit) is retried with exponential back-off
(``domain.recipients.retry_delay``); a final one (a bad address, a refused signature) or the
last allowed attempt gives the delivery up: it waits in the operator's queue (``duban
notifications list --status given_up``, the console's undelivered page) until retried.

A channel that is down holds its messages: after a retryable failure on a channel, the rest of
the batch's rows for the same channel and address are not attempted — they are held until the
failed row's next attempt, without spending one of their own — so when the receiver returns,
everything it missed is delivered, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from activities.channels.base import (
    Address,
    DeliveryOutcome,
    EmailAddress,
    PhoneNumber,
    RenderedMessage,
    RobotWebhook,
)
from activities.channels.config import ConfiguredChannels
from activities.deliveries.fanout import FanOut
from domain.recipients import retry_delay

log = structlog.get_logger(__name__)

# Batches fanned out before each round of sending: a burst of notifications does not keep the
# deliveries already due waiting.
MAX_FAN_OUT_BATCHES = 20


@dataclass
class DeliveryReport:
    fanned_out: int = 0
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    held: int = 0
    lost: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.fanned_out + self.sent + self.failed + self.given_up + self.lost)


@dataclass(frozen=True)
class _Claim:
    row_id: int
    step_key: str
    recipient: str
    recipient_name: str
    channel: str
    address: str
    subject: str
    body: str
    markdown: str
    link: str
    attempts: int
    lease: datetime

    def message(self) -> RenderedMessage:
        return RenderedMessage(
            subject=self.subject,
            text=self.body,
            markdown=self.markdown,
            link=self.link,
            step_key=f"{self.step_key}:{self.recipient}",
        )


class DeliveryDispatcher:
    """Fans the outbox out and delivers; run one per worker process (several may run)."""

    def __init__(
        self,
        engine: Engine,
        channels: ConfiguredChannels,
        fan_out: FanOut,
        *,
        batch_size: int = 50,
        idle_seconds: float = 1.0,
        lease_seconds: float = 120.0,
        max_attempts: int = 12,
        backoff_base_seconds: float = 2.0,
        backoff_max_seconds: float = 3600.0,
        concurrency: int = 4,
    ) -> None:
        self._concurrency = concurrency
        self._engine = engine
        self._channels = channels
        self._fan_out = fan_out
        self._batch_size = batch_size
        self._idle = idle_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._max_attempts = max_attempts
        self._base = backoff_base_seconds
        self._cap = backoff_max_seconds

    async def run(self, stop: asyncio.Event) -> None:
        log.info("notifications.deliveries_started", channels=sorted(self._channels.channels))
        failures = 0
        while not stop.is_set():
            try:
                report = await self.dispatch_once()
            except sa.exc.SQLAlchemyError as exc:
                failures += 1
                pause = min(2.0 ** min(failures - 1, 6), 60.0)
                log.warning("notifications.database_unavailable", error=str(exc)[:500])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
                continue
            failures = 0
            if not report.busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._idle)

    async def dispatch_once(self) -> DeliveryReport:
        """Fan out what the outbox holds, then send one batch of due deliveries."""
        report = DeliveryReport()
        for _ in range(MAX_FAN_OUT_BATCHES):
            fanned = await asyncio.to_thread(self._fan_out.fan_out_once)
            report.fanned_out += fanned
            if not fanned:
                break
        # One receiver's messages go in order (a failure holds the rest); receivers in
        # parallel, a few at a time (each holds a database connection while it records).
        groups: dict[tuple[str, str], list[_Claim]] = {}
        claimed_at = time.monotonic()
        for claim in await asyncio.to_thread(self._claim):
            key = (claim.channel, claim.address if claim.address != "own" else claim.recipient)
            groups.setdefault(key, []).append(claim)
        gate = asyncio.Semaphore(self._concurrency)

        async def send(claims: list[_Claim]) -> None:
            async with gate:
                await self._send_in_order(claims, report, claimed_at)

        await asyncio.gather(*(send(claims) for claims in groups.values()))
        return report

    async def _send_in_order(
        self, claims: list[_Claim], report: DeliveryReport, claimed_at: float
    ) -> None:
        """Send one receiver's claims in order; after a failure that may pass, the rest are
        held until the failed one's next attempt (a receiver that is down holds them)."""
        held_until: datetime | None = None
        for claim in claims:
            if held_until is not None:
                if await asyncio.to_thread(self._hold, claim, held_until):
                    report.held += 1
                continue
            held: _Claim | None = claim
            if time.monotonic() - claimed_at > self._lease.total_seconds() / 3:
                # Long past the claim (a slow receiver before it): renewed only while still
                # this dispatcher's; a fresh claim's lease is long enough for one send.
                held = await asyncio.to_thread(self._renew, claim)
            if held is None:
                report.lost += 1
                continue
            outcome = await self._deliver(held)
            attempts = held.attempts + 1
            if outcome.sent:
                report.sent += 1
                await asyncio.to_thread(self._record, held, outcome, "sent", None)
                continue
            final = not outcome.retryable or attempts >= self._max_attempts
            if final:
                report.given_up += 1
                await asyncio.to_thread(self._record, held, outcome, "given_up", None)
                log.warning(
                    "notifications.delivery_given_up",
                    step_key=held.step_key,
                    recipient=held.recipient,
                    channel=held.channel,
                    attempts=attempts,
                    code=outcome.code,
                    reason=outcome.reason,
                )
                continue
            report.failed += 1
            delay = timedelta(
                seconds=retry_delay(
                    attempts,
                    base_seconds=self._base,
                    max_seconds=self._cap,
                    advised=outcome.retry_after,
                )
            )
            held_until = await asyncio.to_thread(self._record, held, outcome, "pending", delay)
            log.info(
                "notifications.delivery_failed",
                step_key=held.step_key,
                channel=held.channel,
                attempts=attempts,
                code=outcome.code,
                retry_in_seconds=delay.total_seconds(),
            )

    async def _deliver(self, claim: _Claim) -> DeliveryOutcome:
        channel = self._channels.channels.get(claim.channel)
        if channel is None:
            # Configured once, gone from the settings now: held, as a channel that is down.
            return DeliveryOutcome.failed(
                "channel_not_configured",
                f"no {claim.channel} channel is configured",
                retryable=True,
            )
        address = await asyncio.to_thread(self._address, claim)
        if address is None:
            return DeliveryOutcome.failed(
                "bad_address", f"no {claim.channel} address for {claim.recipient}", retryable=False
            )
        try:
            return await channel.deliver(claim.message(), address)
        except Exception as exc:  # an adapter's bug is this row's failure, never the loop's
            log.error("notifications.channel_error", channel=claim.channel, error=repr(exc))
            return DeliveryOutcome.failed("channel_error", repr(exc), retryable=True)

    def _address(self, claim: _Claim) -> Address | None:
        if claim.channel == "email":
            return EmailAddress(claim.address, claim.recipient_name)
        if claim.channel == "sms":
            return PhoneNumber(claim.address)
        if claim.address == "group":
            return self._channels.default_addresses.get(claim.channel)
        if claim.address == "own" and claim.recipient.startswith("account:"):
            # A person's robot is read when sent: a URL changed since is the one used.
            with self._engine.connect() as conn:
                row = conn.exec_driver_sql(
                    "SELECT chat_kind, chat_url, chat_secret FROM accounts WHERE login = %(l)s",
                    {"l": claim.recipient.removeprefix("account:")},
                ).first()
            if row is None or row[0] != claim.channel or not row[1]:
                return None
            return RobotWebhook(row[1], row[2])
        return None

    # ------------------------------------------------------------------------- the rows

    def _claim(self) -> list[_Claim]:
        with self._engine.begin() as conn:
            rows = conn.exec_driver_sql(
                "UPDATE notification_deliveries"
                " SET next_attempt_at = clock_timestamp() + %(lease)s"
                " WHERE id IN (SELECT id FROM notification_deliveries"
                "   WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()"
                "   ORDER BY next_attempt_at, id LIMIT %(n)s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, step_key, recipient, recipient_name, channel, address, subject,"
                " body, markdown, link, attempts, next_attempt_at",
                {"n": self._batch_size, "lease": self._lease},
            ).all()
        return [_Claim(*r) for r in sorted(rows)]

    def _renew(self, claim: _Claim) -> _Claim | None:
        with self._engine.begin() as conn:
            lease = conn.exec_driver_sql(
                "UPDATE notification_deliveries"
                " SET next_attempt_at = clock_timestamp() + %(lease)s"
                " WHERE id = %(id)s AND next_attempt_at = %(token)s AND status = 'pending'"
                " RETURNING next_attempt_at",
                {"id": claim.row_id, "token": claim.lease, "lease": self._lease},
            ).scalar()
        if lease is None:
            return None
        return _Claim(**{**claim.__dict__, "lease": lease})

    def _hold(self, claim: _Claim, until: datetime) -> bool:
        with self._engine.begin() as conn:
            return bool(
                conn.exec_driver_sql(
                    "UPDATE notification_deliveries SET next_attempt_at = %(u)s"
                    " WHERE id = %(id)s AND next_attempt_at = %(token)s AND status = 'pending'",
                    {"id": claim.row_id, "token": claim.lease, "u": until},
                ).rowcount
            )

    def _record(
        self, claim: _Claim, outcome: DeliveryOutcome, status: str, delay: timedelta | None
    ) -> datetime | None:
        """Write the attempt and the delivery's new state; the next attempt's time when the
        delivery stays pending (None when another dispatcher holds the row now)."""
        with self._engine.begin() as conn:
            next_at = conn.exec_driver_sql(
                "UPDATE notification_deliveries SET attempts = attempts + 1, status = %(st)s,"
                " last_code = %(code)s, last_error = %(reason)s,"
                " provider_message_id = COALESCE(%(pid)s, provider_message_id),"
                " sent_at = CASE WHEN %(st)s = 'sent' THEN clock_timestamp() END,"
                " given_up_at = CASE WHEN %(st)s = 'given_up' THEN clock_timestamp() END,"
                " next_attempt_at = CASE WHEN %(st)s = 'pending'"
                "   THEN clock_timestamp() + %(delay)s ELSE next_attempt_at END"
                " WHERE id = %(id)s AND next_attempt_at = %(token)s AND status = 'pending'"
                " RETURNING next_attempt_at",
                {
                    "id": claim.row_id,
                    "token": claim.lease,
                    "st": status,
                    "code": outcome.code or None,
                    "reason": outcome.reason or None,
                    "pid": outcome.provider_message_id,
                    "delay": delay or timedelta(0),
                },
            ).scalar()
            if next_at is None:
                log.warning("notifications.mark_skipped_not_owner", step_key=claim.step_key)
                return None
            conn.exec_driver_sql(
                "INSERT INTO notification_attempts (delivery_id, sent, code, reason, retryable)"
                " VALUES (%(id)s, %(sent)s, %(code)s, %(reason)s, %(retryable)s)",
                {
                    "id": claim.row_id,
                    "sent": outcome.sent,
                    "code": outcome.code,
                    "reason": outcome.reason,
                    "retryable": outcome.retryable,
                },
            )
        return next_at if status == "pending" else None
