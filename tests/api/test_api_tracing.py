"""Tracing for real: the API over HTTP (ASGI), a worker on the time-skipping Temporal server and
PostgreSQL, both on a client with duban's tracing interceptor, exporting by OTLP/HTTP to a
receiver on this machine. One command is one trace, from the HTTP request through the
workflow update and the append_events activity to the event store's append; its log lines
carry its trace id. Without an endpoint nothing is recorded, exported or put in a header."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.eventstore import EventStore
from activities.logging import configure_logging
from activities.settings import Settings
from activities.tracing import otlp_traces_url, temporal_interceptors, tracing_enabled
from api.app import create_app
from tests.api.conftest import ApiHarness, build_grid, build_services
from tests.api.test_api_hazards import PHOTO, hazard
from tests.tracing_helpers import (
    SERVICE,
    InstallTracing,
    OtlpReceiver,
    ReceivedSpan,
    install_tracing,
    otlp_receiver,
)
from worker import WORKFLOWS, build_worker, workflow_runner
from workflows.ids import case_workflow_id

__all__ = ["install_tracing", "otlp_receiver"]  # fixtures

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACE_HEADER = "_tracer-data"  # where temporalio's interceptor carries the context


@asynccontextmanager
async def traced_api(
    env: WorkflowEnvironment, settings: Settings, store: EventStore
) -> AsyncIterator[tuple[ApiHarness, Client]]:
    """As tests/api/conftest.py's ``running_api``, on a client that carries the tracing
    interceptors as ``connect_temporal`` gives them to the API and the worker."""
    client = Client(**{**env.client.config(), "interceptors": temporal_interceptors()})
    queue = f"traced-{uuid.uuid4().hex[:8]}"
    parts = build_worker(client, settings, store, queue)
    services = build_services(client, settings, store, queue)
    grid = build_grid(services.reference, store.engine)
    app = create_app(services=services)
    try:
        async with (
            parts.worker,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://duban.test"
            ) as http,
        ):
            yield ApiHarness(http, services, grid, env, app, settings), client
    finally:
        parts.executor.shutdown(wait=False)


async def register_and_report(api: ApiHarness) -> str:
    """Two commands: a registration sent within a caller's trace (a gateway's traceparent),
    then the enterprise's rectification report (an update) with no trace of its own."""
    grid = api.grid
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(grid),
        headers={
            **grid.headers("inspector_a"),
            "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
        },
    )
    assert created.status_code == 201, created.text
    hazard_id: str = created.json()["hazard_id"]
    reported = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "已更换", "evidence": [PHOTO]},
        headers=grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    return hazard_id


def ancestry(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[str]:
    """The names from ``span`` up its parents, as far as the trace's exported spans go."""
    by_id = {s.span_id: s for s in spans if s.trace_id == span.trace_id}
    names = [span.name]
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        names.append(span.name)
    return names


def json_lines(text: str) -> list[dict]:  # type: ignore[type-arg]
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


async def test_one_command_is_one_trace_from_the_http_request_to_the_append(
    time_skipping_env: WorkflowEnvironment,
    test_settings: Settings,
    store: EventStore,
    otlp_receiver: OtlpReceiver,
    install_tracing: InstallTracing,
    capsys: pytest.CaptureFixture[str],
):
    settings = test_settings.model_copy(update={"otel_endpoint": otlp_receiver.endpoint})
    tracing = install_tracing(settings)
    assert tracing is not None and tracing_enabled()
    configure_logging("DEBUG", "json")  # the store logs each append at DEBUG
    try:
        async with traced_api(time_skipping_env, settings, store) as (api, client):
            hazard_id = await register_and_report(api)
            assert (await api.client.get("/healthz")).status_code == 200
            handle = client.get_workflow_handle(case_workflow_id(hazard_id))
            history = await handle.fetch_history()
    finally:
        configure_logging("WARNING", "console")
    assert tracing.flush()
    logged = json_lines(capsys.readouterr().err)
    spans = otlp_receiver.spans
    assert set(otlp_receiver.posts) == {"/v1/traces"}
    assert {s.service for s in spans} == {SERVICE}
    assert not [s for s in spans if "/healthz" in s.name]  # probes are not traced
    stream = f"case-{hazard_id}"

    # The registration continues the caller's trace, down to the append of its first events.
    registration = next(s for s in spans if s.name == "POST /api/v1/hazards")
    assert (registration.trace_id, registration.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert registration.kind == "SPAN_KIND_SERVER"
    assert registration.attributes["http.response.status_code"] == 201
    assert registration.attributes["http.route"] == "/api/v1/hazards"
    appends = [
        s
        for s in spans
        if s.name == "eventstore.append" and s.attributes["duban.stream_id"] == stream
    ]
    first = [s for s in appends if s.trace_id == CALLER_TRACE]
    assert first, "the registration's append is not in the registration's trace"
    assert ancestry(first[0], spans) == [
        "eventstore.append",
        "RunActivity:append_events",
        "StartActivity:append_events",
        "StartWorkflow:SupervisedCase",
        "fastapi.endpoint",
        "POST /api/v1/hazards",
    ]
    assert first[0].attributes["duban.event_count"] >= 1
    assert first[0].attributes["duban.expected_version"] == 0

    # The update is a trace of its own: request → update → handler → activity → append.
    report = next(
        s for s in spans if s.name == "POST /api/v1/hazards/{hazard_id}/rectification-report"
    )
    assert report.parent_span_id == "" and report.trace_id != CALLER_TRACE
    assert report.attributes["http.response.status_code"] == 200
    in_report = [s for s in spans if s.trace_id == report.trace_id]
    report_appends = [s for s in in_report if s.name == "eventstore.append"]
    assert [s.attributes["duban.stream_id"] for s in report_appends] == [stream]
    assert ancestry(report_appends[0], spans) == [
        "eventstore.append",
        "RunActivity:append_events",
        "StartActivity:append_events",
        "StartWorkflowUpdate:report_rectification",
        "fastapi.endpoint",
        "POST /api/v1/hazards/{hazard_id}/rectification-report",
    ]
    for name in ("ValidateUpdate:report_rectification", "HandleUpdate:report_rectification"):
        handled = next(s for s in in_report if s.name == name)
        assert ancestry(handled, spans)[1] == "StartWorkflowUpdate:report_rectification"
        assert handled.linked_trace_ids == (CALLER_TRACE,)  # the case's own trace, linked
    # The registration's append is in the registration's trace only.
    assert {s.trace_id for s in appends} == {CALLER_TRACE, report.trace_id}

    # The store's log line of each append carries its trace and span.
    appended = {
        line["trace_id"]: line
        for line in logged
        if line.get("event") == "events.appended" and line.get("stream_id") == stream
    }
    assert set(appended) == {CALLER_TRACE, report.trace_id}
    assert appended[report.trace_id]["span_id"] == report_appends[0].span_id

    # The context rode in the workflow's headers; the history replays with the tracing
    # interceptor and without it (a worker without tracing meets such a history too).
    started = history.events[0].workflow_execution_started_event_attributes
    assert TRACE_HEADER in started.header.fields
    update = next(
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    )
    assert TRACE_HEADER in update.header.fields
    for interceptors in (temporal_interceptors(), []):
        replayer = Replayer(
            workflows=WORKFLOWS, workflow_runner=workflow_runner(), interceptors=interceptors
        )
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure


async def test_without_an_endpoint_nothing_is_recorded_exported_or_carried(
    time_skipping_env: WorkflowEnvironment,
    test_settings: Settings,
    store: EventStore,
    install_tracing: InstallTracing,
    capsys: pytest.CaptureFixture[str],
):
    settings = test_settings.model_copy(update={"otel_endpoint": None})
    threads = {thread.name for thread in threading.enumerate()}
    # The exporter's default address: what an exporter built without an endpoint would use.
    try:
        default_receiver: OtlpReceiver | None = OtlpReceiver(port=4318)
    except OSError:  # taken on this machine: the other checks still hold
        default_receiver = None
    try:
        assert install_tracing(settings) is None
        assert not tracing_enabled()
        configure_logging("DEBUG", "json")
        try:
            async with traced_api(time_skipping_env, settings, store) as (api, client):
                hazard_id = await register_and_report(api)
                history = await client.get_workflow_handle(
                    case_workflow_id(hazard_id)
                ).fetch_history()
        finally:
            configure_logging("WARNING", "console")
    finally:
        if default_receiver is not None:
            default_receiver.stop()
    if default_receiver is not None:
        assert default_receiver.posts == []
    assert not any("Otel" in name for name in {t.name for t in threading.enumerate()} - threads)
    # The caller's traceparent went no further than the API: no header in the history.
    headers = [
        header
        for event in history.events
        for header in (
            event.workflow_execution_started_event_attributes.header,
            event.activity_task_scheduled_event_attributes.header,
            event.workflow_execution_update_accepted_event_attributes.accepted_request.input.header,
        )
    ]
    assert not any(TRACE_HEADER in header.fields for header in headers)
    lines = json_lines(capsys.readouterr().err)
    appended = [line for line in lines if line.get("event") == "events.appended"]
    assert appended and not any("trace_id" in line for line in appended)


def test_the_endpoint_is_read_from_duban_s_variable_or_the_standard_one(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv("DUBAN_OTEL_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert Settings().otel_endpoint is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert Settings().otel_endpoint == "http://collector:4318"
    monkeypatch.setenv("DUBAN_OTEL_ENDPOINT", "https://traces.example:4318/")
    assert Settings().otel_endpoint == "https://traces.example:4318/"
    monkeypatch.setenv("DUBAN_OTEL_ENDPOINT", "")  # off, whatever the platform set
    assert Settings().otel_endpoint is None
    monkeypatch.setenv("DUBAN_OTEL_ENDPOINT", "collector:4318")
    with pytest.raises(ValueError, match="otel_endpoint: an http:// or https:// URL"):
        Settings()
    assert Settings(otel_endpoint="http://c:4318").otel_endpoint == "http://c:4318"


def test_the_traces_url_is_the_standard_path_under_the_endpoint():
    assert otlp_traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("https://c.example/otlp/") == "https://c.example/otlp/v1/traces"
    assert otlp_traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"
