"""Kill the worker process (SIGKILL) in the middle of many cases on the real dev server:
a new worker finishes every case, with no duplicate and no missing event."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from domain.case import command_to_data
from domain.credit_code import make_credit_code
from tests.domain.domain_builders import ENTERPRISE, register
from tests.e2e.conftest import WorkerProcess
from tests.fixtures.calendar_data import write_test_calendar
from tests.workflows.case_helpers import assert_store_matches_workflow, report, verify
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CaseWorkflowInput
from workflows.ids import case_stream_id, case_workflow_id

CASES = 16
EXPECTED = [
    "HazardRegistered",
    "RectificationNoticeIssued",
    "RectificationReported",
    "VerificationPassed",
    "CaseClosed",
]

pytestmark = pytest.mark.slow


async def drive(handle, update, command) -> None:  # type: ignore[no-untyped-def]
    """Send an update until it is applied; a refusal because it already was is success."""
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
            await asyncio.sleep(0.5)  # no worker right now; try again
    raise AssertionError("update never went through")


async def test_a_killed_worker_loses_nothing_and_duplicates_nothing(
    dev_server: WorkflowEnvironment,
    worker_processes: list[WorkerProcess],
    store: EventStore,
    database_url: str,
    tmp_path: Path,
):
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    env = {
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "DUBAN_TASK_QUEUE": queue,
        "DUBAN_DATA_DIR": str(tmp_path),
        "DUBAN_CALENDAR_FILE": str(write_test_calendar()),
        "DUBAN_LOG_LEVEL": "WARNING",
        # Ports of their own (0: any free one): another test run may hold the defaults.
        "DUBAN_WORKER_METRICS_PORT": "0",
        "DUBAN_TEMPORAL_METRICS_PORT": "0",
    }
    first = WorkerProcess(env, tmp_path / "worker-1.log")
    worker_processes.append(first)
    client = dev_server.client
    start = store.head().position
    hazard_ids = [f"H-crash-{uuid.uuid4().hex[:8]}" for _ in range(CASES)]
    handles = []
    for hazard_id in hazard_ids:
        enterprise = ENTERPRISE.__class__(
            credit_code=make_credit_code("91370782" + uuid.uuid4().hex[:9].upper()),
            name=ENTERPRISE.name,
            industry=ENTERPRISE.industry,
            grid_code=ENTERPRISE.grid_code,
        )
        command = register(
            hazard_id=hazard_id,
            enterprise=enterprise,
            found_at=datetime.now(UTC) - timedelta(hours=1),
        )
        handles.append(
            await client.start_workflow(
                SupervisedCaseWorkflow.run,
                CaseWorkflowInput(command_to_data(command)),
                id=case_workflow_id(hazard_id),
                task_queue=queue,
            )
        )

    async def lifecycle(handle) -> None:  # type: ignore[no-untyped-def]
        await drive(handle, SupervisedCaseWorkflow.report_rectification, report())
        await drive(handle, SupervisedCaseWorkflow.verify_rectification, verify(True))

    runs = [asyncio.create_task(lifecycle(h)) for h in handles]
    # Kill the worker once it is in the thick of it: some cases recorded, most not done.
    for _ in range(600):
        if store.head().position - start >= CASES * 2:
            break
        await asyncio.sleep(0.05)
    first.kill()
    recorded_at_kill = store.head().position - start
    second = WorkerProcess(env, tmp_path / "worker-2.log")
    worker_processes.append(second)
    await asyncio.wait_for(asyncio.gather(*runs), timeout=240)

    assert 0 < recorded_at_kill < CASES * len(EXPECTED), "the kill must land mid-way"
    for hazard_id, handle in zip(hazard_ids, handles, strict=True):
        events = store.read_stream(case_stream_id(hazard_id))
        assert [e.event_type for e in events] == EXPECTED, hazard_id
        assert [e.stream_version for e in events] == [1, 2, 3, 4, 5]
        assert len({e.event_id for e in events}) == 5
        view = await handle.query(SupervisedCaseWorkflow.state)
        assert view.status == "closed" and view.version == 5
        # The state the new worker holds is exactly the fold of what was stored.
        assert_store_matches_workflow(store, hazard_id, view)
