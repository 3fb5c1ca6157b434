"""The hourly audit job: a signed checkpoint outside the database, and each closed case's
workflow history exported once with its hash in the event store."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from temporalio.client import ScheduleIntervalSpec
from temporalio.testing import WorkflowEnvironment

from activities.database import create_app_engine
from activities.eventstore import Checkpoint, EventStore, verify_store
from activities.settings import Settings
from tests.conftest import APP_ROLE
from tests.e2e.conftest import dev_server
from tests.workflows.case_helpers import report, start_case, verify
from tests.workflows.conftest import TEST_CALENDAR, RunningWorker
from worker import build_worker
from workflows.audit import (
    AUDIT_SCHEDULE_ID,
    AuditMaintenanceInput,
    AuditMaintenanceWorkflow,
    ensure_audit_schedule,
)
from workflows.case import SupervisedCaseWorkflow

__all__ = ["dev_server"]


async def test_the_audit_job_signs_a_checkpoint_and_exports_closed_histories_once(
    time_skipping_env: WorkflowEnvironment, fresh_database_url: str, tmp_path: Path
):
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    store = EventStore(engine)
    settings = Settings(
        database_url=fresh_database_url, data_dir=tmp_path, calendar_file=TEST_CALENDAR
    )
    queue = f"audit-{uuid.uuid4().hex[:6]}"
    parts = build_worker(time_skipping_env.client, settings, store, queue)
    async with parts.worker:
        worker = RunningWorker(time_skipping_env, time_skipping_env.client, queue, store, engine)
        closed, _ = await start_case(worker, "H-aud-closed")
        await closed.execute_update(SupervisedCaseWorkflow.report_rectification, report())
        await closed.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
        await start_case(worker, "H-aud-open")

        async def run_job() -> object:
            return await time_skipping_env.client.execute_workflow(
                AuditMaintenanceWorkflow.run,
                AuditMaintenanceInput(),
                id=f"audit-{uuid.uuid4().hex[:6]}",
                task_queue=queue,
            )

        first = await run_job()
        assert first.histories_exported == ["H-aud-closed"]
        checkpoint = Checkpoint.load(tmp_path / "checkpoints" / "latest.json")
        checkpoint.verify_signature()
        assert verify_store(engine, [checkpoint]).ok
        exported = (tmp_path / "histories" / "H-aud-closed.json").read_bytes()
        assert json.loads(exported)["events"][0]["eventType"]
        (record,) = store.read_stream("history-case-H-aud-closed")
        assert record.data["sha256"] == hashlib.sha256(exported).hexdigest()

        second = await run_job()
        assert second.histories_exported == []
        assert len(store.read_stream("history-case-H-aud-closed")) == 1
        await worker.terminate_started()
    parts.executor.shutdown(wait=False)
    store.close()
    engine.dispose()


async def test_the_audit_schedule_runs_hourly_and_is_created_once(
    dev_server: WorkflowEnvironment, tmp_path: Path
):
    settings = Settings(data_dir=tmp_path)
    await ensure_audit_schedule(dev_server.client, settings, "audit-q")
    await ensure_audit_schedule(dev_server.client, settings, "audit-q")  # idempotent
    description = await dev_server.client.get_schedule_handle(AUDIT_SCHEDULE_ID).describe()
    (interval,) = description.schedule.spec.intervals
    assert isinstance(interval, ScheduleIntervalSpec)
    assert interval.every.total_seconds() == 3600
