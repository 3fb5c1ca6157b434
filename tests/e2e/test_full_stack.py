"""The whole stack as an operator runs it: the Temporal dev server, PostgreSQL, `duban worker`,
`duban projections run` and `duban api` as processes, driven over HTTP with the drill policy
(durations in seconds): a hazard escalates one level by itself, is reported, verified and
closed, and its history and as-of state read back."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.database import create_app_engine
from activities.eventstore import EventStore
from activities.reference_data import ReferenceData
from activities.rules import DRILL_POLICY, shipped_policy
from api.auth import create_token
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from tests.conftest import APP_ROLE
from tests.e2e.conftest import WorkerProcess

pytestmark = pytest.mark.slow
DRILL = Path(__file__).resolve().parents[2] / "domain" / "policies" / "drill.toml"
PHOTO = {"uri": "s3://evidence/after.jpg", "sha256": "c" * 64}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def poll(client: httpx.AsyncClient, path: str, headers, ok, seconds: float = 60):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        answer = await client.get(path, headers=headers)
        if answer.status_code == 200 and ok(answer.json()):
            return answer.json()
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"{path}: never satisfied; last {answer.status_code} {answer.text}"
            )
        await asyncio.sleep(0.3)


@dataclass
class Stack:
    base: str
    tokens: dict[str, str]
    credit_code: str
    township: str

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture()
async def stack(
    dev_server: WorkflowEnvironment,
    worker_processes: list[WorkerProcess],
    fresh_database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """The stack over a database of its own: the schema-driven requests take the ids the lists
    answer, and the shared database's cases of other tests have their workflows on other
    Temporal servers (an open case whose workflow is missing is a 503 for an operator)."""
    assert shipped_policy(DRILL_POLICY).deadlines.general  # the drill policy ships with duban
    database_url = fresh_database_url
    engine = create_app_engine(database_url, APP_ROLE)
    store = EventStore(engine)
    s = uuid.uuid4().hex[:6].upper()
    reference = ReferenceData(store.engine, store)
    county, town, village = f"E{s}-C-X", f"E{s}-C-X-T", f"E{s}-C-X-T-V"
    for unit in [
        GridUnit(f"E{s}", "省", GridLevel.PROVINCE, None, "厅长"),
        GridUnit(f"E{s}-C", "市", GridLevel.CITY, f"E{s}", "局长"),
        GridUnit(county, "县", GridLevel.COUNTY, f"E{s}-C", "县局长"),
        GridUnit(town, "镇", GridLevel.TOWNSHIP, county, "站长"),
        GridUnit(village, "村", GridLevel.VILLAGE, town, "网格员"),
    ]:
        reference.add_grid_unit(unit, "e2e")
    code = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    reference.add_enterprise(Enterprise(code, "演练企业", "机械", village), "e2e")
    token = {
        role: create_token(store.engine, reference, role, scope, f"{role}-e2e")[1]
        for role, scope in [
            ("inspector", town),
            ("enterprise", code),
            ("supervisor", town),
            ("auditor", None),
        ]
    }

    port = free_port()
    env = {
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "DUBAN_TASK_QUEUE": f"e2e-{s}",
        "DUBAN_DATA_DIR": str(tmp_path),
        "DUBAN_POLICY_FILE": str(DRILL),
        "DUBAN_WORKER_METRICS_PORT": "0",
        "DUBAN_TEMPORAL_METRICS_PORT": "0",
        "DUBAN_LOG_LEVEL": "WARNING",
    }
    worker_processes.append(WorkerProcess(env, tmp_path / "worker.log"))
    worker_processes.append(WorkerProcess(env, tmp_path / "projector.log", ("projections", "run")))
    worker_processes.append(WorkerProcess(env, tmp_path / "api.log", ("api", "--port", str(port))))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(150):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    yield Stack(base, token, code, town)
    store.close()
    engine.dispose()


async def test_a_drill_case_escalates_and_closes_through_the_real_stack(stack: Stack):
    code, auth = stack.credit_code, stack.auth
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as client:
        deadline = datetime.now(UTC) + timedelta(seconds=6)
        created = await client.post(
            "/api/v1/hazards",
            headers=auth("inspector"),
            json={
                "credit_code": code,
                "category": "thing",
                "source": "grid_patrol",
                "description": "演练: 配电箱门未关闭",
                "location": "一号车间",
                "found_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
                "evidence": [PHOTO],
                "deadline": deadline.isoformat(),
            },
        )
        assert created.status_code == 201, created.text
        hazard_id = created.json()["hazard_id"]

        escalated = await poll(
            client,
            f"/api/v1/hazards/{hazard_id}",
            auth("supervisor"),
            lambda case: case["escalation_index"] == 1,
        )
        assert escalated["grid_level"] == "township"
        assert escalated["status"] == "escalated"
        assert datetime.fromisoformat(escalated["deadline"]) > deadline

        reported = await client.post(
            f"/api/v1/hazards/{hazard_id}/rectification-report",
            headers=auth("enterprise"),
            json={"summary": "已整改", "evidence": [PHOTO]},
        )
        assert reported.status_code == 200, reported.text
        verified = await client.post(
            f"/api/v1/hazards/{hazard_id}/verification",
            headers=auth("supervisor"),
            json={"passed": True},
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "closed"

        history = (
            await client.get(f"/api/v1/hazards/{hazard_id}/history", headers=auth("auditor"))
        ).json()["items"]
        types = [e["event_type"] for e in history]
        assert types[0] == "HazardRegistered" and types[-1] == "CaseClosed"
        assert types.index("CaseEscalated") < types.index("RectificationReported")
        escalation = history[types.index("CaseEscalated")]
        as_of = await client.get(
            f"/api/v1/hazards/{hazard_id}/as-of",
            headers=auth("auditor"),
            params={"at": escalation["recorded_at"]},
        )
        assert as_of.status_code == 200, as_of.text
        assert as_of.json()["state"]["status"] == "escalated"

        listed = await poll(
            client,
            "/api/v1/hazards",
            auth("supervisor"),
            lambda page: any(
                item["hazard_id"] == hazard_id and item["status"] == "closed"
                for item in page["items"]
            ),
        )
        assert listed["total"] >= 1


async def test_schema_driven_requests_never_get_a_server_error(stack: Stack, tmp_path: Path):
    """schemathesis generates requests from the OpenAPI schema against the running API, with a
    supervisor's and an auditor's token: every answer must be below 500."""
    for role in ("supervisor", "auditor"):
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{stack.base}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--header",
                f"Authorization: Bearer {stack.tokens[role]}",
                "--max-examples",
                "15",
                "--seed",
                "20261122",
                "--request-timeout",
                "30",
                "--phases",
                "examples,coverage,fuzzing",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        generated = re.search(r"(\d+) generated", result.stdout)
        assert generated and int(generated.group(1)) > 100, result.stdout[-2000:]
