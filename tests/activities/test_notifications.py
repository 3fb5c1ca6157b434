"""The notification outbox: queued once per step, delivered to a real webhook with retries."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.database import create_app_engine, create_owner_engine
from activities.notifications import NotificationActivities, OutboxDispatcher, idempotency_header
from tests.conftest import APP_ROLE
from workflows.contracts import EnqueueNotificationsInput, NotificationToQueue


class Webhook:
    """A local HTTP receiver that fails the first ``failures`` requests and takes ``delay``
    seconds to answer each one (several at once: it serves each on its own thread)."""

    def __init__(self, failures: int, delay: float = 0.0) -> None:
        self.failures = failures
        self.received: list[tuple[str, dict[str, object]]] = []
        self._lock = threading.Lock()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)
                with webhook._lock:
                    fail = webhook.failures > 0
                    if fail:
                        webhook.failures -= 1
                    else:
                        webhook.received.append((self.headers["Idempotency-Key"], body))
                self.send_response(503 if fail else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def webhook() -> Iterator[Webhook]:
    hook = Webhook(failures=1)
    yield hook
    hook.close()


def queue(engine: Engine, case_id: str, keys: list[str]) -> int:
    activity = NotificationActivities(engine)
    return activity.enqueue_notifications(
        EnqueueNotificationsInput(
            case_id=case_id,
            workflow_id=f"case-{case_id}",
            notifications=[
                NotificationToQueue(
                    key,
                    "enterprise",
                    "91370782MA3C123451",
                    "case_escalated",
                    "CaseEscalated",
                    {"deadline": "2026-12-01T16:00:00+00:00"},
                )
                for key in keys
            ],
        )
    ).queued


def test_a_step_is_queued_once_however_often_the_activity_runs(app_engine: Engine):
    case_id = f"H-{uuid.uuid4().hex[:8]}"
    keys = [f"{case_id}:3:CaseEscalated:enterprise:e1", f"{case_id}:3:CaseEscalated:grid:p1"]
    assert queue(app_engine, case_id, keys) == 2
    assert queue(app_engine, case_id, keys) == 0
    with app_engine.connect() as conn:
        count = conn.execute(
            sa.text("SELECT count(*) FROM notification_outbox WHERE case_id = :c"), {"c": case_id}
        ).scalar()
    assert count == 2


@pytest.fixture()
def own_engine(fresh_database_url: str) -> Iterator[Engine]:
    """A database of this test's own: the dispatcher takes every due row it finds."""
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    yield engine
    engine.dispose()


async def test_the_dispatcher_retries_a_failing_webhook_and_delivers_each_step_once(
    own_engine: Engine, webhook: Webhook
):
    app_engine = own_engine
    case_id = f"H-{uuid.uuid4().hex[:8]}"
    key = f"{case_id}:3:CaseEscalated:enterprise:e1"
    queue(app_engine, case_id, [key])
    dispatcher = OutboxDispatcher(app_engine, webhook.url, timeout=5)
    delivered = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        report = await dispatcher.dispatch_once()
        delivered += report.delivered
        if any(k == key for k, _ in webhook.received):
            break
        time.sleep(0.3)
    mine = [body for k, body in webhook.received if k == key]
    assert len(mine) == 1
    assert mine[0]["case_id"] == case_id and mine[0]["recipient"]["kind"] == "enterprise"
    with app_engine.connect() as conn:
        attempts, delivered_at, last_error = conn.execute(
            sa.text(
                "SELECT attempts, delivered_at, last_error FROM notification_outbox"
                " WHERE step_key = :k"
            ),
            {"k": key},
        ).one()
    assert attempts == 2 and delivered_at is not None and last_error is None
    for _ in range(3):  # nothing is sent again once delivered
        await dispatcher.dispatch_once()
    assert len([k for k, _ in webhook.received if k == key]) == 1


async def test_a_step_key_naming_a_person_in_chinese_is_delivered_percent_encoded(
    own_engine: Engine, webhook: Webhook
):
    """A step key names its recipient (the demo county's responsible persons are 站长 钱 and
    the like); HTTP header values are ASCII, so the key travels percent-encoded (UTF-8)."""
    webhook.failures = 0
    case_id = f"H-{uuid.uuid4().hex[:8]}"
    key = f"{case_id}:1:HazardRegistered:grid:站长 钱"
    queue(own_engine, case_id, [key])
    report = await OutboxDispatcher(own_engine, webhook.url, timeout=5).dispatch_once()
    assert (report.delivered, report.failed) == (1, 0)
    [(header, body)] = [(k, b) for k, b in webhook.received if k.startswith(case_id)]
    assert header == idempotency_header(key) and header.isascii() and unquote(header) == key
    assert body["case_id"] == case_id
    assert idempotency_header(f"{case_id}:1:x") == f"{case_id}:1:x"  # ASCII keys unchanged


class FailsOnOneStep(httpx.AsyncBaseTransport):
    """Sends through to the real webhook, except that the step ``poison`` raises an error that
    is not an HTTP error (as a header httpx could not encode once did)."""

    def __init__(self, poison: str) -> None:
        self._poison = poison
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.headers["Idempotency-Key"] == self._poison:
            raise UnicodeEncodeError("ascii", self._poison, 0, 1, "not an HTTP error")
        return await self._real.handle_async_request(request)


async def test_a_row_failing_with_a_non_http_error_is_retried_and_the_others_delivered(
    own_engine: Engine, webhook: Webhook
):
    webhook.failures = 0
    case_id = f"H-{uuid.uuid4().hex[:8]}"
    poison, fine = (
        f"{case_id}:1:CaseEscalated:enterprise:e1",
        f"{case_id}:2:CaseEscalated:enterprise:e1",
    )
    queue(own_engine, case_id, [poison, fine])
    dispatcher = OutboxDispatcher(
        own_engine, webhook.url, timeout=5, transport=FailsOnOneStep(poison)
    )
    report = await dispatcher.dispatch_once()
    assert (report.delivered, report.failed) == (1, 1)
    assert [k for k, _ in webhook.received if k.startswith(case_id)] == [fine]
    rows = {key: (attempts, done) for key, attempts, done in delivery_rows(own_engine, case_id)}
    assert rows == {poison: (1, False), fine: (1, True)}


async def test_a_webhook_url_that_is_not_a_url_stops_the_dispatcher(own_engine: Engine):
    case_id = f"H-{uuid.uuid4().hex[:8]}"
    queue(own_engine, case_id, [f"{case_id}:1:CaseEscalated:enterprise:e1"])
    with pytest.raises(httpx.InvalidURL):
        await OutboxDispatcher(own_engine, "http://[::1", timeout=2).dispatch_once()


def delivery_rows(engine: Engine, case_id: str) -> list[tuple[str, int, bool]]:
    with engine.connect() as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute(
                sa.text(
                    "SELECT step_key, attempts, delivered_at IS NOT NULL FROM notification_outbox"
                    " WHERE case_id = :c ORDER BY step_key"
                ),
                {"c": case_id},
            )
        ]


async def test_two_dispatchers_never_post_a_row_twice_however_slow_the_webhook(
    own_engine: Engine,
):
    """Dispatcher A claims the whole batch; the webhook is slow, so the batch outlives the
    lease of the rows A has not reached yet. Dispatcher B takes those over; A, renewing each
    row's lease right before its POST, finds them taken and leaves them. Each step arrives
    once and is marked delivered once, by the dispatcher that POSTed it."""
    hook = Webhook(failures=0, delay=0.5)
    try:
        case_id = f"H-{uuid.uuid4().hex[:8]}"
        keys = [f"{case_id}:{n}:CaseEscalated:enterprise:e1" for n in range(6)]
        queue(own_engine, case_id, keys)
        first = OutboxDispatcher(own_engine, hook.url, timeout=5, lease_seconds=1.2)
        second = OutboxDispatcher(own_engine, hook.url, timeout=5, lease_seconds=1.2)
        reports: dict[str, list] = {"first": [], "second": []}

        async def keep_dispatching(name: str, dispatcher: OutboxDispatcher, start: float) -> None:
            await asyncio.sleep(start)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                reports[name].append(await dispatcher.dispatch_once())
                if all(delivered for _, _, delivered in delivery_rows(own_engine, case_id)):
                    return
                await asyncio.sleep(0.1)

        await asyncio.gather(
            keep_dispatching("first", first, 0.0), keep_dispatching("second", second, 0.3)
        )
        posted = Counter(key for key, _ in hook.received if key.startswith(case_id))
        assert posted == Counter(keys), f"each step exactly once: {posted}"
        assert delivery_rows(own_engine, case_id) == [(key, 1, True) for key in sorted(keys)]
        by_first = sum(r.delivered for r in reports["first"])
        by_second = sum(r.delivered for r in reports["second"])
        assert by_first + by_second == len(keys)
        assert by_second > 0 and sum(r.lost for r in reports["first"]) == by_second, (
            "the second took over exactly the rows the first had lost"
        )
    finally:
        hook.close()


async def test_a_database_outage_does_not_stop_the_dispatcher(
    webhook: Webhook, fresh_database_url: str
):
    webhook.failures = 0
    case_id = f"H-{uuid.uuid4().hex[:8]}"
    key = f"{case_id}:1:CaseEscalated:enterprise:e1"
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    owner = create_owner_engine(fresh_database_url)
    try:
        queue(engine, case_id, [key])
        with owner.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE notification_outbox RENAME TO outbox_away")
        dispatcher = OutboxDispatcher(engine, webhook.url, timeout=5, idle_seconds=0.1)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        await asyncio.sleep(1.5)  # every claim fails meanwhile
        assert not running.done(), "a database error must not end the dispatcher"
        with owner.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE outbox_away RENAME TO notification_outbox")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(k == key for k, _ in webhook.received):
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(running, 10)
        assert [k for k, _ in webhook.received if k == key] == [key]
        assert delivery_rows(engine, case_id) == [(key, 1, True)]
    finally:
        engine.dispose()
        owner.dispose()
