"""The notification outbox: queued once per step, delivered to a real webhook with retries."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.database import create_app_engine
from activities.notifications import NotificationActivities, OutboxDispatcher
from tests.conftest import APP_ROLE
from workflows.contracts import EnqueueNotificationsInput, NotificationToQueue


class Webhook:
    """A local HTTP receiver that fails the first ``failures`` requests."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[str, dict[str, object]]] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if webhook.failures > 0:
                    webhook.failures -= 1
                    self.send_response(503)
                else:
                    webhook.received.append((self.headers["Idempotency-Key"], body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
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
