"""`duban api` exports what a province's operators watch: its appends timed, the read-model
gauges (open cases by level, overdue, projector lag) on /metrics, and the Temporal SDK's
metrics of its client on the SDK port."""

from __future__ import annotations

import socket
import time
import urllib.request
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from temporalio.testing import WorkflowEnvironment

from activities.database import create_app_engine
from activities.eventstore import EventStore
from activities.reference_data import ReferenceData
from activities.settings import Settings
from api.auth import create_token
from api.serve import ApiTelemetry, create_api_app
from tests.conftest import APP_ROLE
from tests.e2e.conftest import dev_server

__all__ = ["dev_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_the_api_serves_its_append_timings_the_read_model_gauges_and_sdk_metrics(
    dev_server: WorkflowEnvironment, fresh_database_url: str, tmp_path: Path
):
    sdk_port = free_port()
    settings = Settings(
        database_url=fresh_database_url,
        temporal_address=dev_server.client.service_client.config.target_host,
        temporal_metrics_port=sdk_port,
        worker_metrics_host="127.0.0.1",
        metrics_refresh_seconds=0.2,
        data_dir=tmp_path,
        log_level="WARNING",
    )
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    store = EventStore(engine)
    telemetry = ApiTelemetry()
    try:
        _, token = create_token(engine, ReferenceData(engine, store), "admin", None, "ops")
        with TestClient(create_api_app(settings, telemetry)) as client:
            assert telemetry.sampler is not None and telemetry.sdk_metrics_bound
            before = client.get("/metrics").text
            code = f"P{uuid.uuid4().hex[:6].upper()}"
            created = client.post(
                "/api/v1/grid-units",
                json={
                    "code": code,
                    "name": "测试省",
                    "level": "province",
                    "responsible_person": "省厅",
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text
            head = store.head().position
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                text = client.get("/metrics").text
                if value(text, "duban_event_store_head_position") == head:
                    break
                time.sleep(0.1)
            assert value(text, "duban_event_append_seconds_count") == (
                value(before, "duban_event_append_seconds_count") + 1
            ), "the API's own append was timed"
            assert value(text, "duban_event_store_head_position") == head
            assert value(text, "duban_projector_lag_events") == head, "no projector ran"
            assert "# TYPE duban_open_cases gauge" in text
            assert client.get("/readyz").status_code == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{sdk_port}/metrics", timeout=10) as got:
            sdk = got.read().decode()
        assert "temporal_request" in sdk, "the SDK counts the API client's requests"
    finally:
        telemetry.stop()
        store.close()
        engine.dispose()


async def test_an_api_whose_sdk_metrics_port_is_taken_still_serves(
    dev_server: WorkflowEnvironment, fresh_database_url: str, tmp_path: Path
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(
            database_url=fresh_database_url,
            temporal_address=dev_server.client.service_client.config.target_host,
            temporal_metrics_port=taken.getsockname()[1],
            worker_metrics_host="127.0.0.1",
            data_dir=tmp_path,
        )
        telemetry = ApiTelemetry()
        try:
            with TestClient(create_api_app(settings, telemetry)) as client:
                assert telemetry.sdk_metrics_bound is False
                assert client.get("/readyz").status_code == 200
        finally:
            telemetry.stop()
