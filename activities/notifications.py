"""Notifications: an outbox table written by an idempotent activity, delivered by a dispatcher.

The workflow decides *who* must be told (the domain's ``notifications_for``); the activity
queues one row per step key (unique, so retries and replays never queue twice); the
dispatcher POSTs each row to the configured webhook with exponential back-off and marks it
delivered. Several workers may run dispatchers: ``FOR UPDATE SKIP LOCKED`` hands each row to
one of them. Delivery is at-least-once across a crash between the POST and the mark, so every
POST carries the step key as ``Idempotency-Key`` for the receiver to drop a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import timedelta

import httpx
import structlog
from sqlalchemy.engine import Engine
from temporalio import activity

from workflows.contracts import EnqueueNotificationsInput, EnqueueNotificationsResult

log = structlog.get_logger(__name__)

MAX_BACKOFF = timedelta(hours=1)


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


class OutboxDispatcher:
    """Delivers queued notifications to a webhook; run one per worker process."""

    def __init__(
        self,
        engine: Engine,
        webhook_url: str,
        *,
        timeout: float = 10.0,
        batch_size: int = 50,
        idle_seconds: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._engine = engine
        self._url = webhook_url
        self._batch_size = batch_size
        self._idle = idle_seconds
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("notifications.dispatcher_started", webhook=self._url)
        try:
            while not stop.is_set():
                report = await self.dispatch_once()
                if report.delivered + report.failed == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self._idle)
        finally:
            await self._client.aclose()

    async def dispatch_once(self) -> DispatchReport:
        """Claim a batch of due rows, POST each, record the outcome; one transaction."""
        report = DispatchReport()
        batch = await asyncio.to_thread(self._claim)
        for row_id, step_key, payload, attempts in batch:
            try:
                response = await self._client.post(
                    self._url, json=payload, headers={"Idempotency-Key": step_key}
                )
                response.raise_for_status()
            except httpx.HTTPError as exc:
                report.failed += 1
                backoff = min(timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)
                await asyncio.to_thread(self._mark_failed, row_id, str(exc)[:500], backoff)
                log.warning(
                    "notifications.delivery_failed",
                    step_key=step_key,
                    attempts=attempts + 1,
                    retry_in_seconds=backoff.total_seconds(),
                    error=str(exc),
                )
            else:
                report.delivered += 1
                await asyncio.to_thread(self._mark_delivered, row_id)
        return report

    def _claim(self) -> list[tuple[int, str, dict[str, object], int]]:
        # Claim by pushing next_attempt_at forward inside the same statement: another
        # dispatcher skips locked rows now and finds them not yet due afterwards.
        with self._engine.begin() as conn:
            rows = conn.exec_driver_sql(
                "UPDATE notification_outbox SET next_attempt_at = clock_timestamp()"
                " + interval '5 minutes'"
                " WHERE id IN (SELECT id FROM notification_outbox"
                "   WHERE delivered_at IS NULL AND next_attempt_at <= clock_timestamp()"
                "   ORDER BY next_attempt_at, id LIMIT %(n)s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, step_key, payload, attempts",
                {"n": self._batch_size},
            ).all()
        return [(r[0], r[1], r[2], r[3]) for r in sorted(rows)]

    def _mark_delivered(self, row_id: int) -> None:
        with self._engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE notification_outbox SET delivered_at = clock_timestamp(),"
                " attempts = attempts + 1, last_error = NULL WHERE id = %(id)s",
                {"id": row_id},
            )

    def _mark_failed(self, row_id: int, error: str, backoff: timedelta) -> None:
        with self._engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE notification_outbox SET attempts = attempts + 1, last_error = %(e)s,"
                " next_attempt_at = clock_timestamp() + %(b)s WHERE id = %(id)s",
                {"id": row_id, "e": error, "b": backoff},
            )
