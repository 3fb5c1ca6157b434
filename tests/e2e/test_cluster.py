"""Several `duban worker` processes on one task queue against one real Temporal dev server:
what a cluster deployment relies on, tested as far as one machine allows.

- three workers share a burst of cases, and SIGKILL of one of them loses nothing;
- each worker serves /healthz, /readyz and /metrics, and the SDK's metrics on its own port;
- a worker started after the policy file changed keeps old cases on the policy they were
  registered under (it is in their history), while new cases get the new one;
- a second `duban api` process serves the same cases as the first.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from domain.calendar import WorkingCalendar, parse_calendar_toml
from domain.case import command_to_data
from domain.credit_code import make_credit_code
from domain.durations import PolicyDuration
from domain.policy import parse_policy
from tests.domain.domain_builders import ENTERPRISE, register
from tests.e2e.conftest import WorkerProcess
from tests.fixtures.calendar_data import write_test_calendar
from tests.workflows.case_helpers import report, verify
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CaseWorkflowInput
from workflows.ids import case_stream_id, case_workflow_id

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CALENDAR = write_test_calendar()  # TEST DATA for the years chinese-calendar does not know
DEFAULT_POLICY = ROOT / "domain" / "policies" / "default.toml"
LIFECYCLE = [
    "HazardRegistered",
    "RectificationNoticeIssued",
    "RectificationReported",
    "VerificationPassed",
    "CaseClosed",
]
BURST = 30


async def drive(handle: WorkflowHandle, update: Any, command: Any) -> None:  # type: ignore[type-arg]
    """Send an update until it is applied. While the killed worker's tasks time out an update
    can wait past its RPC deadline: send it again (a refusal because it was applied meanwhile
    is success)."""
    for _ in range(60):
        try:
            await handle.execute_update(update, command, rpc_timeout=timedelta(seconds=20))
            return
        except WorkflowUpdateFailedError as exc:
            rule = getattr(exc.cause, "type", "")
            if rule in {"case.report.already_reported", "case.closed.no_commands"}:
                return
            raise
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
            await asyncio.sleep(0.5)
    raise AssertionError("update never went through")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class ClusterWorker:
    """A worker process with its own health and metrics ports."""

    def __init__(self, base_env: dict[str, str], log_path: Path) -> None:
        self.health_port = free_port()
        self.sdk_metrics_port = free_port()
        self.process = WorkerProcess(
            {
                **base_env,
                "DUBAN_WORKER_METRICS_HOST": "127.0.0.1",
                "DUBAN_WORKER_METRICS_PORT": str(self.health_port),
                "DUBAN_TEMPORAL_METRICS_PORT": str(self.sdk_metrics_port),
            },
            log_path,
        )

    @property
    def pid(self) -> int:
        return int(self.process.process.pid)

    async def wait_ready(self) -> dict[str, Any]:
        for _ in range(300):
            if self.process.process.poll() is not None:
                raise AssertionError(f"worker {self.pid} exited early")
            try:
                status, body = await asyncio.to_thread(http_get, self.health_port, "/readyz")
            except OSError:
                await asyncio.sleep(0.1)
                continue
            if status == 200:
                result: dict[str, Any] = json.loads(body)
                return result
            await asyncio.sleep(0.1)
        raise AssertionError(f"worker {self.pid} never became ready")


def worker_env(server: WorkflowEnvironment, database_url: str, queue: str, tmp: Path) -> dict:  # type: ignore[type-arg]
    return {
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_TEMPORAL_ADDRESS": server.client.service_client.config.target_host,
        "DUBAN_TASK_QUEUE": queue,
        "DUBAN_DATA_DIR": str(tmp),
        "DUBAN_CALENDAR_FILE": str(CALENDAR),
        "DUBAN_LOG_LEVEL": "WARNING",
        "DUBAN_METRICS_REFRESH_SECONDS": "0.5",
    }


async def start_case(client: Client, queue: str, prefix: str) -> tuple[str, WorkflowHandle]:  # type: ignore[type-arg]
    hazard_id = f"H-{prefix}-{uuid.uuid4().hex[:8]}"
    enterprise = replace(
        ENTERPRISE, credit_code=make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    )
    command = register(
        hazard_id=hazard_id, enterprise=enterprise, found_at=datetime.now(UTC) - timedelta(hours=1)
    )
    handle = await client.start_workflow(
        SupervisedCaseWorkflow.run,
        CaseWorkflowInput(command_to_data(command)),
        id=case_workflow_id(hazard_id),
        task_queue=queue,
    )
    return hazard_id, handle


async def worker_identities(handle: WorkflowHandle) -> set[str]:  # type: ignore[type-arg]
    """Who ran this case's workflow tasks and activities, as the server recorded it."""
    identities: set[str] = set()
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            identities.add(event.workflow_task_started_event_attributes.identity)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            identities.add(event.activity_task_started_event_attributes.identity)
    identities.discard("")  # tasks the server started without a poller's identity
    return identities


async def wait_for_types(store: EventStore, hazard_id: str, count: int) -> None:
    for _ in range(600):
        if len(store.read_stream(case_stream_id(hazard_id))) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{hazard_id} never reached {count} events")


def metric_value(text: str, name: str) -> float:
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + " ") or line.startswith(name + "{")
    ]
    assert values, f"{name} not exported"
    return sum(values)


async def test_three_workers_share_a_burst_of_cases_and_a_killed_one_loses_nothing(
    dev_server: WorkflowEnvironment,
    worker_processes: list[WorkerProcess],
    store: EventStore,
    database_url: str,
    tmp_path: Path,
):
    queue = f"cluster-{uuid.uuid4().hex[:8]}"
    env = worker_env(dev_server, database_url, queue, tmp_path)
    workers = [ClusterWorker(env, tmp_path / f"worker-{n}.log") for n in range(3)]
    worker_processes.extend(w.process for w in workers)
    for worker in workers:
        ready = await worker.wait_ready()
        assert ready["checks"]["database"]["ok"] and ready["checks"]["temporal"]["ok"]
        assert http_get(worker.health_port, "/healthz")[0] == 200

    client = dev_server.client
    start = store.head().position
    cases = await asyncio.gather(*(start_case(client, queue, "burst") for _ in range(BURST)))

    async def lifecycle(handle: WorkflowHandle) -> None:  # type: ignore[type-arg]
        await drive(handle, SupervisedCaseWorkflow.report_rectification, report())
        await drive(handle, SupervisedCaseWorkflow.verify_rectification, verify(True))

    runs = [asyncio.create_task(lifecycle(handle)) for _, handle in cases]
    victim = workers[1]

    def appended_by_victim() -> float:
        text = http_get(victim.health_port, "/metrics")[1].decode()
        return metric_value(text, "duban_events_appended_total") if "appended_total" in text else 0

    # Kill mid-way, and only once the victim has done a share of the burst: the server hands
    # tasks to whichever poller asks first, so a worker can sit idle for a while, and a kill
    # of an idle worker would show nothing.
    for _ in range(600):
        if store.head().position - start >= BURST * 2 and appended_by_victim() >= 2:
            break
        await asyncio.sleep(0.05)
    victim.process.kill()
    recorded_at_kill = store.head().position - start
    await asyncio.wait_for(asyncio.gather(*runs), timeout=150)

    assert 0 < recorded_at_kill < BURST * len(LIFECYCLE), "the kill must land mid-way"
    every_event_id: Counter[uuid.UUID] = Counter()
    handled_by: Counter[int] = Counter()
    for hazard_id, handle in cases:
        events = store.read_stream(case_stream_id(hazard_id))
        assert [e.event_type for e in events] == LIFECYCLE, hazard_id
        assert [e.stream_version for e in events] == [1, 2, 3, 4, 5]
        every_event_id.update(e.event_id for e in events)
        view = await handle.query(SupervisedCaseWorkflow.state)
        assert view.status == "closed" and view.version == len(LIFECYCLE)
        for identity in await worker_identities(handle):
            handled_by[int(identity.split("@", 1)[0])] += 1
    assert max(every_event_id.values()) == 1, "an event was stored twice"
    assert set(handled_by) == {w.pid for w in workers}, (
        f"every worker, the killed one included, ran some of the burst: {handled_by}"
    )

    survivor = workers[0]
    final_head = store.head().position
    for _ in range(100):  # the read-model sampler runs every 0.5 s
        status, body = http_get(survivor.health_port, "/metrics")
        text = body.decode()
        if (
            b"duban_projector_lag_events" in body
            and metric_value(text, "duban_event_store_head_position") >= final_head
        ):
            break
        await asyncio.sleep(0.1)
    assert status == 200
    head = metric_value(text, "duban_event_store_head_position")
    assert head >= final_head >= start + BURST * len(LIFECYCLE)
    assert metric_value(text, "duban_projector_lag_events") == head - metric_value(
        text, "duban_projector_position"
    )
    # Each survivor counts the events it appended: together no more than the burst's, and
    # each did a share of them.
    appended = [
        metric_value(http_get(w.health_port, "/metrics")[1].decode(), "duban_events_appended_total")
        for w in (workers[0], workers[2])
    ]
    assert all(n > 0 for n in appended) and sum(appended) <= BURST * len(LIFECYCLE)
    # An append records one or more events (registration: two), each timed once.
    assert 0 < metric_value(text, "duban_event_append_seconds_count") <= appended[0]
    sdk_status, sdk_body = http_get(survivor.sdk_metrics_port, "/metrics")
    assert sdk_status == 200 and b"temporal_" in sdk_body


def policy_variant(text: str, *, general: str, rework: str) -> str:
    """The default policy with other deadlines for general hazards and for rework."""
    general_line = 'general = "P15D"'
    rework_line = 'rework = "P15D"'
    assert text.count(general_line) == 1 and text.count(rework_line) == 1
    return text.replace(general_line, f'general = "{general}"').replace(
        rework_line, f'rework = "{rework}"'
    )


def deadline_of(event_data: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event_data["deadline"])


def period_from(event_data: dict[str, Any], period: str) -> datetime:
    """The deadline ``period`` sets from the event's instant, as the domain counts it under the
    shipped (edition 2) policy: a legal period ending at 24:00 of its last day, rolled to the
    next working day's end when that day is off work."""
    calendar = WorkingCalendar(parse_calendar_toml(CALENDAR.read_text(encoding="utf-8")))
    policy = parse_policy(DEFAULT_POLICY.read_text(encoding="utf-8"))
    assert policy.edition >= 2
    start = datetime.fromisoformat(event_data["at"])
    return PolicyDuration.parse(period).add_as_period(start, calendar, policy.tz)


async def test_a_worker_started_after_a_policy_change_keeps_old_cases_on_their_own_policy(
    dev_server: WorkflowEnvironment,
    worker_processes: list[WorkerProcess],
    store: EventStore,
    database_url: str,
    tmp_path: Path,
):
    queue = f"policy-{uuid.uuid4().hex[:8]}"
    policy_file = tmp_path / "policy.toml"
    shipped = DEFAULT_POLICY.read_text(encoding="utf-8")
    policy_file.write_text(policy_variant(shipped, general="P15D", rework="P15D"), "utf-8")
    env = {**worker_env(dev_server, database_url, queue, tmp_path)}
    env["DUBAN_POLICY_FILE"] = str(policy_file)
    client = dev_server.client

    first = ClusterWorker(env, tmp_path / "worker-a.log")
    worker_processes.append(first.process)
    await first.wait_ready()
    old_cases = [await start_case(client, queue, "policy-a") for _ in range(4)]
    for hazard_id, _ in old_cases:
        await wait_for_types(store, hazard_id, 2)
    first.process.stop()

    # The operator edits the policy (a new ConfigMap) and rolls the workers.
    policy_file.write_text(policy_variant(shipped, general="P20D", rework="P5D"), "utf-8")
    second = ClusterWorker(env, tmp_path / "worker-b.log")
    worker_processes.append(second.process)
    await second.wait_ready()

    for _, handle in old_cases:
        await drive(handle, SupervisedCaseWorkflow.report_rectification, report())
        await drive(handle, SupervisedCaseWorkflow.verify_rectification, verify(False))
        await drive(handle, SupervisedCaseWorkflow.report_rectification, report("返工完成"))
        await drive(handle, SupervisedCaseWorkflow.verify_rectification, verify(True))
    new_id, _ = await start_case(client, queue, "policy-b")
    await wait_for_types(store, new_id, 2)

    for hazard_id, handle in old_cases:
        events = {e.event_type: e for e in store.read_stream(case_stream_id(hazard_id))}
        notice = events["RectificationNoticeIssued"].data
        assert deadline_of(notice) == period_from(notice, "P15D")
        # Decided by the new worker process, after the file changed: still policy A's rework.
        failed = events["VerificationFailed"].data
        assert deadline_of(failed) == period_from(failed, "P15D")
        assert "CaseClosed" in events
        view = await handle.query(SupervisedCaseWorkflow.state)
        assert view.status == "closed"
    new_events = {e.event_type: e for e in store.read_stream(case_stream_id(new_id))}
    notice = new_events["RectificationNoticeIssued"].data
    assert deadline_of(notice) == period_from(notice, "P20D")


class ApiProcess:
    """A `duban api` in its own process on a port of its own."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.sdk_metrics_port = free_port()
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            # As the manifests run it: on every interface.
            [str(BIN / "duban"), "api", "--host", "0.0.0.0", "--port", str(self.port)],
            env={
                **os.environ,
                **env,
                "DUBAN_WORKER_METRICS_HOST": "127.0.0.1",
                "DUBAN_TEMPORAL_METRICS_PORT": str(self.sdk_metrics_port),
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def wait_up(self) -> None:
        for _ in range(300):
            if self.process.poll() is not None:
                raise AssertionError(f"api on {self.port} exited early")
            try:
                status, _ = await asyncio.to_thread(http_get, self.port, "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"api on {self.port} never came up")

    def get(self, path: str, token: str) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._log.close()


async def test_a_second_api_process_serves_the_same_cases_as_the_first(
    dev_server: WorkflowEnvironment,
    worker_processes: list[WorkerProcess],
    store: EventStore,
    database_url: str,
    tmp_path: Path,
):
    from activities.projections import Projector
    from activities.reference_data import ReferenceData
    from api.auth import create_token

    queue = f"api-{uuid.uuid4().hex[:8]}"
    env = worker_env(dev_server, database_url, queue, tmp_path)
    worker = ClusterWorker(env, tmp_path / "worker.log")
    worker_processes.append(worker.process)
    apis = [ApiProcess(env, tmp_path / f"api-{n}.log") for n in range(2)]
    try:
        await worker.wait_ready()
        for api in apis:
            await api.wait_up()
        _, token = create_token(
            store.engine, ReferenceData(store.engine, store), "auditor", None, "auditor-cluster"
        )
        cases = [await start_case(dev_server.client, queue, "api") for _ in range(3)]
        for hazard_id, _ in cases:
            await wait_for_types(store, hazard_id, 2)
        await asyncio.to_thread(Projector(store).catch_up)

        for hazard_id, _ in cases:
            answers = [
                await asyncio.to_thread(api.get, f"/api/v1/hazards/{hazard_id}/history", token)
                for api in apis
            ]
            assert answers[0][0] == 200, answers[0]
            assert answers[0] == answers[1]
            types = [e["event_type"] for e in answers[0][1]["items"]]
            assert types[:2] == ["HazardRegistered", "RectificationNoticeIssued"]
            live = [
                await asyncio.to_thread(api.get, f"/api/v1/hazards/{hazard_id}", token)
                for api in apis
            ]
            assert live[0][0] == 200 and live[0] == live[1]
        for api in apis:  # each API process exports its own client's SDK metrics
            status, sdk = await asyncio.to_thread(http_get, api.sdk_metrics_port, "/metrics")
            assert status == 200 and b"temporal_request" in sdk
    finally:
        for api in apis:
            api.stop()
