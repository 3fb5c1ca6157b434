"""The health server's three paths and duban's metrics, against the real PostgreSQL."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from activities.database import create_app_engine
from activities.eventstore import EventMetadata, EventStore, NewEvent
from activities.health import MetricsServer, readiness
from activities.metrics import DubanMetrics, MeasuredEventStore, render_metrics
from activities.settings import Settings
from tests.conftest import APP_ROLE


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


def test_the_projector_lag_is_the_events_the_read_models_have_not_seen(fresh_database_url: str):
    from activities.projections import Projector

    engine = create_app_engine(fresh_database_url, APP_ROLE)
    store = EventStore(engine)
    try:
        metrics = DubanMetrics()
        for n in range(3):
            store.append(f"metrics-{n}", 0, [escalation(f"H-{n}")])
        sample = metrics.refresh_read_model(engine)
        assert (sample.head_position, sample.projector_position, sample.projector_lag) == (3, 0, 3)
        Projector(store).catch_up()
        store.append("metrics-late", 0, [escalation("H-late")])
        sample = metrics.refresh_read_model(engine)
        assert (sample.head_position, sample.projector_position, sample.projector_lag) == (4, 3, 1)
        text = render_metrics(metrics).decode()
        assert "duban_projector_lag_events 1.0" in text
        assert "duban_event_store_head_position 4.0" in text
        assert "duban_projector_position 3.0" in text
    finally:
        store.close()
        engine.dispose()


def test_open_and_overdue_cases_are_counted_by_the_level_supervising_them(
    fresh_database_url: str,
):
    """Four cases decided by the domain, projected by the real projector: one reported, one
    past its deadline, one escalated to the township, one closed. The gauges count what the
    domain says is open and overdue (逾期) at the sampling instant."""
    from activities.projections import Projector
    from domain.case.commands import ReportRectification, VerifyRectification
    from tests.domain.domain_builders import ENTERPRISE_ACTOR, PHOTO, SUPERVISOR, register
    from tests.projections.scenario import History, day

    engine = create_app_engine(fresh_database_url, APP_ROLE)
    store = EventStore(engine)
    try:
        history = History(store)
        report = ReportRectification(actor=ENTERPRISE_ACTOR, summary="已整改", evidence=(PHOTO,))
        for hazard_id in ("H-reported", "H-overdue", "H-escalated", "H-closed"):
            history.case(hazard_id, register(hazard_id=hazard_id), day(0))
        history.case("H-reported", report, day(5))
        history.case("H-closed", report, day(5))
        history.case("H-closed", VerifyRectification(actor=SUPERVISOR, passed=True), day(6))
        history.run_timers("H-escalated", until=day(16))  # missed: up to the township
        Projector(store).catch_up()

        now = day(20)
        metrics = DubanMetrics()
        sample = metrics.refresh_read_model(engine, now)
        states = history.cases.values()
        expected_open = Counter(s.supervising_level.value for s in states if s.is_open)
        expected_overdue = Counter(s.supervising_level.value for s in states if s.is_overdue(now))
        assert dict(sample.open_by_level) == dict(expected_open) == {"village": 2, "township": 1}
        assert {k: v for k, v in sample.overdue_by_level.items() if v} == dict(expected_overdue)
        # The escalated case's hazard is still overdue (its township deadline is not its
        # rectification deadline); it counted 0 at the township before.
        assert dict(expected_overdue) == {"village": 1, "township": 1}
        text = render_metrics(metrics).decode()
        assert 'duban_open_cases{level="village"} 2.0' in text
        assert 'duban_open_cases{level="township"} 1.0' in text
        assert 'duban_overdue_cases{level="village"} 1.0' in text
        assert 'duban_overdue_cases{level="township"} 1.0' in text
        # Before the deadline nobody is overdue.
        early = metrics.refresh_read_model(engine, day(10))
        assert sum(early.overdue_by_level.values()) == 0
    finally:
        store.close()
        engine.dispose()


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


def test_healthz_turns_503_once_a_part_the_process_needs_has_died(app_engine: Engine):
    from activities.health import ProcessHealth

    health = ProcessHealth()
    server = MetricsServer(
        "127.0.0.1", 0, ready=lambda: {"ready": True}, metrics=DubanMetrics(), healthy=health.check
    )
    server.start()
    try:
        assert get(server.port, "/healthz") == (200, b'{"status":"ok"}')
        health.fail("notification dispatcher stopped: RuntimeError('boom')")
        health.fail("a later failure does not replace the first")
        status, body = get(server.port, "/healthz")
        assert status == 503
        assert json.loads(body) == {
            "status": "failing",
            "reason": "notification dispatcher stopped: RuntimeError('boom')",
        }
    finally:
        server.stop()
