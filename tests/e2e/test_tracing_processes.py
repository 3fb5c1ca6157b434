"""Tracing as an operator turns it on: `duban worker` and `duban api` as processes on the real
dev server, with DUBAN_OTEL_ENDPOINT pointing at an OTLP/HTTP receiver. A registration sent
within a caller's trace is one trace across both processes, from the API's request span to the
worker's append, each process under its own service name."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from activities.reference_data import ReferenceData
from api.auth import create_token
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from tests.e2e.conftest import WorkerProcess
from tests.e2e.test_full_stack import free_port
from tests.tracing_helpers import OtlpReceiver, ReceivedSpan, otlp_receiver

__all__ = ["otlp_receiver"]  # fixture

pytestmark = pytest.mark.slow
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


def in_grid(store: EventStore) -> tuple[str, str]:
    """A township with an enterprise; an inspector's token there. (credit code, token)"""
    s = uuid.uuid4().hex[:6].upper()
    reference = ReferenceData(store.engine, store)
    county, town, village = f"O{s}-C-X", f"O{s}-C-X-T", f"O{s}-C-X-T-V"
    for unit in [
        GridUnit(f"O{s}", "省", GridLevel.PROVINCE, None, "厅长"),
        GridUnit(f"O{s}-C", "市", GridLevel.CITY, f"O{s}", "局长"),
        GridUnit(county, "县", GridLevel.COUNTY, f"O{s}-C", "县局长"),
        GridUnit(town, "镇", GridLevel.TOWNSHIP, county, "站长"),
        GridUnit(village, "村", GridLevel.VILLAGE, town, "网格员"),
    ]:
        reference.add_grid_unit(unit, "e2e")
    code = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    reference.add_enterprise(Enterprise(code, "追踪企业", "机械", village), "e2e")
    return code, create_token(store.engine, reference, "inspector", town, "inspector-otel")[1]


async def spans_until(receiver: OtlpReceiver, done, seconds: float = 60) -> list[ReceivedSpan]:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not done(list(receiver.spans)):
        if asyncio.get_running_loop().time() > deadline:
            names = sorted({(s.service, s.name) for s in receiver.spans})
            raise AssertionError(f"the spans never arrived; received: {names}")
        await asyncio.sleep(0.3)
    return list(receiver.spans)


async def test_a_command_is_one_trace_across_the_api_and_worker_processes(
    dev_server: WorkflowEnvironment,
    worker_processes: list[WorkerProcess],
    store: EventStore,
    database_url: str,
    otlp_receiver: OtlpReceiver,
    tmp_path: Path,
):
    code, token = in_grid(store)
    port = free_port()
    env = {
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "DUBAN_TASK_QUEUE": f"otel-{uuid.uuid4().hex[:6]}",
        "DUBAN_DATA_DIR": str(tmp_path),
        "DUBAN_WORKER_METRICS_PORT": "0",
        "DUBAN_TEMPORAL_METRICS_PORT": "0",
        "DUBAN_LOG_LEVEL": "WARNING",
        "DUBAN_OTEL_ENDPOINT": otlp_receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export every 0.2 s rather than every 5 s
    }
    worker_processes.append(WorkerProcess(env, tmp_path / "worker.log"))
    worker_processes.append(WorkerProcess(env, tmp_path / "api.log", ("api", "--port", str(port))))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        # Two Python processes start on a machine that may be busy: give them two minutes.
        started = time.monotonic()
        while True:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() - started < 120, "the API process did not answer /healthz"
            await asyncio.sleep(0.2)
        created = await client.post(
            "/api/v1/hazards",
            json={
                "credit_code": code,
                "category": "thing",
                "source": "grid_patrol",
                "description": "消防通道堵塞",
                "location": "仓库",
                "found_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "evidence": [{"uri": "s3://evidence/otel.jpg", "sha256": "d" * 64}],
                "measures": "清理通道",
                "responsible_person": "李四",
            },
            headers={
                "Authorization": f"Bearer {token}",
                "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
            },
        )
        assert created.status_code == 201, created.text
    stream = f"case-{created.json()['hazard_id']}"

    def both_ends(spans: list[ReceivedSpan]) -> bool:
        """The request's span (it ends after the answer) and the append's have arrived."""
        mine = [s for s in spans if s.trace_id == CALLER_TRACE]
        return any(s.name == "POST /api/v1/hazards" for s in mine) and any(
            s.name == "eventstore.append" and s.attributes.get("duban.stream_id") == stream
            for s in mine
        )

    spans = await spans_until(otlp_receiver, both_ends)
    trace = [s for s in spans if s.trace_id == CALLER_TRACE]
    by_name = {s.name: s for s in trace}
    request = by_name["POST /api/v1/hazards"]
    assert (request.service, request.parent_span_id) == ("duban-api", CALLER_SPAN)
    assert by_name["StartWorkflow:SupervisedCase"].service == "duban-api"
    for name in ("RunWorkflow:SupervisedCase", "RunActivity:append_events", "eventstore.append"):
        assert by_name[name].service == "duban-worker", name
    # Nothing else rode along: only this request's trace carries the caller's trace id.
    assert {s.service for s in trace} == {"duban-api", "duban-worker"}
