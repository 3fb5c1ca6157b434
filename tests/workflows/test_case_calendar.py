"""A deadline in a year without holiday data stops the case at that step, never a guess."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from activities.settings import Settings
from tests.workflows.case_helpers import assert_store_matches_workflow, start_case, stored_types
from tests.workflows.conftest import TEST_CALENDAR, RunningWorker
from worker import build_worker
from workflows.case import SupervisedCaseWorkflow


async def test_a_case_waits_for_missing_calendar_data_and_resumes_when_it_is_loaded(
    time_skipping_env: WorkflowEnvironment, database_url: str, store: EventStore, tmp_path: Path
):
    calendar = tmp_path / "calendar.toml"
    # A valid file that knows nothing about the years ahead (a year always lists its holidays).
    calendar.write_text('[2035]\nholidays = ["2035-01-01"]\n')
    settings = Settings(database_url=database_url, data_dir=tmp_path, calendar_file=calendar)
    queue = f"calendar-{uuid.uuid4().hex[:8]}"
    parts = build_worker(time_skipping_env.client, settings, store, queue)
    hazard_id = f"H-cal-{uuid.uuid4().hex[:8]}"
    async with parts.worker:
        worker = RunningWorker(
            time_skipping_env, time_skipping_env.client, queue, store, store.engine
        )
        handle, _ = await start_case(worker, hazard_id)
        # 15 calendar days, then township P10WD, then county P10WD: the third deadline
        # reaches into a year chinese-calendar (and this file) has no data for.
        blocked = None
        for _ in range(12):
            await time_skipping_env.sleep(timedelta(days=10))
            view = await handle.query(SupervisedCaseWorkflow.state)
            if view.blocked:
                blocked = view
                break
        assert blocked is not None, "the case should have stopped on missing calendar data"
        assert "calendar.year_missing" in blocked.blocked
        stuck_types = stored_types(store, hazard_id)
        assert stuck_types.count("DeadlineMissed") == blocked.escalation_index
        assert_store_matches_workflow(store, hazard_id, blocked)

        calendar.write_text(TEST_CALENDAR.read_text())  # the administrator loads the year
        for _ in range(20):
            await time_skipping_env.sleep(timedelta(hours=6))
            await asyncio.sleep(0.1)
            view = await handle.query(SupervisedCaseWorkflow.state)
            if view.blocked is None and view.escalation_index > blocked.escalation_index:
                break
        assert view.blocked is None
        assert view.escalation_index == blocked.escalation_index + 1
        assert stored_types(store, hazard_id).count("DeadlineMissed") == view.escalation_index
        assert_store_matches_workflow(store, hazard_id, view)
        await worker.terminate_started()
    parts.executor.shutdown(wait=False)
