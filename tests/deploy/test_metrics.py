"""The health server's three paths and duban's metrics, against the real PostgreSQL."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from activities.eventstore import EventMetadata, NewEvent
from activities.metrics import (
    DubanMetrics,
    MeasuredEventStore,
    MetricsServer,
    readiness,
    render_metrics,
)
from activities.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def escalation(hazard_id: str) -> NewEvent:
    return NewEvent(
        uuid.uuid4(),
        "CaseEscalated",
        {"hazard_id": hazard_id, "grid_level": "township"},
        EventMetadata("system", "system"),
        datetime.now(UTC),
    )


def test_appends_are_timed_and_escalations_counted_once_even_when_retried(app_engine: Engine):
    metrics = DubanMetrics()
    store = MeasuredEventStore(app_engine, metrics)
    stream = f"metrics-{uuid.uuid4().hex[:8]}"
    event = escalation(stream)
    store.append(stream, 0, [event])
    store.append(stream, 0, [event])  # a retried activity: already stored
    text = render_metrics(metrics).decode()
    assert 'duban_escalations_total{level="township"} 1.0' in text
    assert 'duban_events_appended_total{event_type="CaseEscalated"} 1.0' in text
    assert "duban_event_append_seconds_count 2.0" in text


def test_the_read_model_gauges_report_the_projector_lag(app_engine: Engine):
    metrics = DubanMetrics()
    sample = metrics.refresh_read_model(app_engine)
    text = render_metrics(metrics).decode()
    assert f"duban_projector_lag_events {float(sample.projector_lag)}" in text
    assert sample.head_position >= sample.projector_position or sample.projector_lag == 0


def test_the_health_server_answers_healthz_readyz_and_metrics(app_engine: Engine):
    # Nothing listens on this port: Temporal is unreachable, so the process is not ready.
    settings = Settings(temporal_address=f"127.0.0.1:{free_port()}")
    metrics = DubanMetrics()
    report: dict[str, Any] = {}

    def ready() -> dict[str, Any]:
        report.update(readiness(settings, engine=app_engine))
        return report

    server = MetricsServer("127.0.0.1", 0, ready=ready, metrics=metrics)
    server.start()
    try:
        assert get(server.port, "/healthz") == (200, b'{"status":"ok"}')
        status, body = get(server.port, "/readyz")
        assert status == 503
        checks = json.loads(body)["checks"]
        assert checks["database"]["ok"] is True
        assert checks["temporal"]["ok"] is False
        status, body = get(server.port, "/metrics")
        assert status == 200 and b"# TYPE duban_event_append_seconds histogram" in body
        assert get(server.port, "/elsewhere")[0] == 404
    finally:
        server.stop()
