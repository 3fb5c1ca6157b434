"""Notifications: an outbox table written by an idempotent activity, delivered by a dispatcher.

The workflow decides *who* must be told (the domain's ``notifications_for``); the activity
queues one row per step key (unique, so retries and replays never queue twice); the
dispatcher POSTs each row to the configured webhook with exponential back-off and marks it
delivered. Several workers may run dispatchers: ``FOR UPDATE SKIP LOCKED`` hands each row to
one of them, and a lease renewed before each POST (see ``OutboxDispatcher``) keeps it theirs
while they work on it. Delivery is at-least-once across a crash between the POST and the
mark, so every POST carries the step key as ``Idempotency-Key`` for the receiver to drop a
repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import httpx
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from temporalio import activity

from workflows.contracts import EnqueueNotificationsInput, EnqueueNotificationsResult

log = structlog.get_logger(__name__)

MAX_BACKOFF = timedelta(hours=1)
DB_RETRY_BASE = 1.0
DB_RETRY_MAX = 60.0


class NotificationActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="enqueue_notifications")
    def enqueue_notifications(
        self, request: EnqueueNotificationsInput
    ) -> EnqueueNotificationsResult:
        if not request.notifications:
            return EnqueueNotificationsResult(0)
        rows = [
            {
                "step_key": n.step_key,
                "case_id": request.case_id,
                "workflow_id": request.workflow_id,
                "recipient_kind": n.recipient_kind,
                "recipient_id": n.recipient_id,
                "reason": n.reason,
                "payload": json.dumps(
                    {
                        "step_key": n.step_key,
                        "case_id": request.case_id,
                        "recipient": {"kind": n.recipient_kind, "id": n.recipient_id},
                        "reason": n.reason,
                        "event_type": n.event_type,
                        **n.payload,
                    },
                    ensure_ascii=False,
                ),
            }
            for n in request.notifications
        ]
        with self._engine.begin() as conn:
            queued = 0
            for row in rows:
                queued += conn.exec_driver_sql(
                    "INSERT INTO notification_outbox (step_key, case_id, workflow_id,"
                    " recipient_kind, recipient_id, reason, payload)"
                    " VALUES (%(step_key)s, %(case_id)s, %(workflow_id)s, %(recipient_kind)s,"
                    " %(recipient_id)s, %(reason)s, %(payload)s::jsonb)"
                    " ON CONFLICT (step_key) DO NOTHING",
                    row,
                ).rowcount
        log.info(
            "case.notifications_queued",
            case_id=request.case_id,
            workflow_id=request.workflow_id,
            queued=queued,
            asked=len(rows),
        )
        return EnqueueNotificationsResult(queued)


@dataclass
class DispatchReport:
    delivered: int = 0
    failed: int = 0
    lost: int = 0  # claims another dispatcher took over (lease expired): not POSTed here


@dataclass(frozen=True)
class _Claim:
    row_id: int
    step_key: str
    payload: dict[str, object]
    attempts: int
    lease: datetime  # the row's next_attempt_at as this claim set it: its fencing token


def idempotency_header(step_key: str) -> str:
    """The step key as an HTTP header value. Header values are ASCII, and a step key names its
    recipient (a responsible person's Chinese name, say): anything else is percent-encoded
    (UTF-8), so the receiver still gets one distinct, stable key per step."""
    return quote(step_key, safe="".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%"))


class OutboxDispatcher:
    """Delivers queued notifications to a webhook; run one per worker process.

    A claim pushes a row's ``next_attempt_at`` a lease ahead; the value written is the
    claim's token. Right before each POST the row's lease is renewed *if the token still
    matches* (a new token), so a row is POSTed only while this dispatcher holds it — however
    slow the rows before it in the batch were — and every mark (delivered, failed) also
    requires the token: a dispatcher never records the outcome of a row someone else took.
    The lease covers one POST with margin (``lease_seconds``, at least three timeouts).
    A database error is logged and retried with back-off; it never stops the dispatcher.
    """

    def __init__(
        self,
        engine: Engine,
        webhook_url: str,
        *,
        timeout: float = 10.0,
        batch_size: int = 50,
        idle_seconds: float = 1.0,
        lease_seconds: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._engine = engine
        self._url = webhook_url
        self._batch_size = batch_size
        self._idle = idle_seconds
        # httpx's timeout applies per phase (connect, write, each read): a POST can take a
        # few timeouts in all. The lease must outlast one POST and its mark.
        self._lease = timedelta(seconds=lease_seconds or max(3 * timeout + 30, 60))
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("notifications.dispatcher_started", webhook=self._url)
        failures = 0
        try:
            while not stop.is_set():
                try:
                    report = await self.dispatch_once()
                except sa.exc.SQLAlchemyError as exc:
                    failures += 1
                    pause = min(DB_RETRY_BASE * 2 ** min(failures - 1, 10), DB_RETRY_MAX)
                    log.warning(
                        "notifications.database_unavailable",
                        error=str(getattr(exc, "orig", None) or exc).strip()[:500],
                        retry_in_seconds=pause,
                        consecutive_failures=failures,
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=pause)
                    continue
                failures = 0
                if report.delivered + report.failed + report.lost == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self._idle)
        finally:
            await self._client.aclose()

    async def dispatch_once(self) -> DispatchReport:
        """Claim a batch of due rows, POST each while holding its lease, record the outcome."""
        report = DispatchReport()
        batch = await asyncio.to_thread(self._claim)
        for claim in batch:
            held = await asyncio.to_thread(self._renew, claim)
            if held is None:
                report.lost += 1
                log.info("notifications.claim_lost", step_key=claim.step_key)
                continue
            try:
                response = await self._client.post(
                    self._url,
                    json=claim.payload,
                    headers={"Idempotency-Key": idempotency_header(claim.step_key)},
                )
                response.raise_for_status()
            except httpx.InvalidURL:
                # The configured webhook URL itself is wrong: no row can ever be delivered, so
                # the dispatcher stops and the process's supervisor reports it.
                raise
            except Exception as exc:
                # Any other failure is this row's (an HTTP error, a payload httpx cannot
                # send): retried with back-off, never a crash that would pass the row to the
                # next worker to crash on in turn.
                if not isinstance(exc, httpx.HTTPError):
                    log.error("notifications.row_failed", step_key=claim.step_key, error=repr(exc))
                report.failed += 1
                backoff = min(timedelta(seconds=2 ** min(claim.attempts, 20)), MAX_BACKOFF)
                await asyncio.to_thread(self._mark_failed, held, str(exc)[:500], backoff)
                log.warning(
                    "notifications.delivery_failed",
                    step_key=claim.step_key,
                    attempts=claim.attempts + 1,
                    retry_in_seconds=backoff.total_seconds(),
                    error=str(exc),
                )
            else:
                report.delivered += 1
                await asyncio.to_thread(self._mark_delivered, held)
        return report

    def _claim(self) -> list[_Claim]:
        # Claim by pushing next_attempt_at forward inside the same statement: another
        # dispatcher skips locked rows now and finds them not yet due afterwards.
        with self._engine.begin() as conn:
            rows = conn.exec_driver_sql(
                "UPDATE notification_outbox SET next_attempt_at = clock_timestamp() + %(lease)s"
                " WHERE id IN (SELECT id FROM notification_outbox"
                "   WHERE delivered_at IS NULL AND next_attempt_at <= clock_timestamp()"
                "   ORDER BY next_attempt_at, id LIMIT %(n)s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, step_key, payload, attempts, next_attempt_at",
                {"n": self._batch_size, "lease": self._lease},
            ).all()
        return [_Claim(r[0], r[1], r[2], r[3], r[4]) for r in sorted(rows)]

    def _renew(self, claim: _Claim) -> _Claim | None:
        """Extend the lease if the claim still holds it; None if another dispatcher took it."""
        with self._engine.begin() as conn:
            lease = conn.exec_driver_sql(
                "UPDATE notification_outbox SET next_attempt_at = clock_timestamp() + %(lease)s"
                " WHERE id = %(id)s AND next_attempt_at = %(token)s AND delivered_at IS NULL"
                " RETURNING next_attempt_at",
                {"id": claim.row_id, "token": claim.lease, "lease": self._lease},
            ).scalar()
        if lease is None:
            return None
        return _Claim(claim.row_id, claim.step_key, claim.payload, claim.attempts, lease)

    def _mark_delivered(self, claim: _Claim) -> bool:
        with self._engine.begin() as conn:
            marked = conn.exec_driver_sql(
                "UPDATE notification_outbox SET delivered_at = clock_timestamp(),"
                " attempts = attempts + 1, last_error = NULL"
                " WHERE id = %(id)s AND next_attempt_at = %(token)s AND delivered_at IS NULL",
                {"id": claim.row_id, "token": claim.lease},
            ).rowcount
        if not marked:
            log.warning("notifications.mark_skipped_not_owner", step_key=claim.step_key)
        return bool(marked)

    def _mark_failed(self, claim: _Claim, error: str, backoff: timedelta) -> bool:
        with self._engine.begin() as conn:
            marked = conn.exec_driver_sql(
                "UPDATE notification_outbox SET attempts = attempts + 1, last_error = %(e)s,"
                " next_attempt_at = clock_timestamp() + %(b)s"
                " WHERE id = %(id)s AND next_attempt_at = %(token)s AND delivered_at IS NULL",
                {"id": claim.row_id, "token": claim.lease, "e": error, "b": backoff},
            ).rowcount
        if not marked:
            log.warning("notifications.mark_skipped_not_owner", step_key=claim.step_key)
        return bool(marked)
