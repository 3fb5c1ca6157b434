"""A case whose next step needs a year without holiday data waits for the data, and people's
commands meanwhile get a prompt, clear refusal instead of hanging behind the blocked step.

The earlier code waited inside the case's lock, so an update hung for hours and was then
decided against a state that had skipped the due step. The fix is behind
``workflow.patched(CALENDAR_BLOCK_RELEASES_LOCK)``: a history recorded under the earlier code
(committed as ``tests/histories/case-blocked-on-calendar-pre-patch.json``) must replay along
the earlier path. Its recorder below needs the code BEFORE that patch (check it out first): run
with the current code it would record the patched path, and the history would no longer gate
the earlier one. After deleting the committed file deliberately (a recorder never writes over
it), record it by

    DUBAN_RECORD_HISTORIES=1 .venv/bin/pytest tests/workflows/test_case_blocked.py
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.eventstore import EventStore
from activities.settings import Settings
from tests.fixtures.calendar_data import calendar_text
from tests.workflows.case_helpers import (
    assert_store_matches_workflow,
    report,
    start_case,
    stored_types,
)
from tests.workflows.conftest import TEST_CALENDAR, RunningWorker
from tests.workflows.history_files import HISTORIES, refuse_to_overwrite, write_history
from worker import WORKFLOWS, build_worker, workflow_runner
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CaseView

PRE_PATCH_HISTORY = HISTORIES / "case-blocked-on-calendar-pre-patch.json"
RECORDING = os.environ.get("DUBAN_RECORD_HISTORIES") == "1"


@pytest.fixture()
async def blocked_case_worker(
    time_skipping_env: WorkflowEnvironment, database_url: str, store: EventStore, tmp_path: Path
) -> AsyncIterator[tuple[RunningWorker, Path]]:
    calendar = tmp_path / "calendar.toml"
    calendar.write_text(_calendar_without_years_ahead())
    settings = Settings(database_url=database_url, data_dir=tmp_path, calendar_file=calendar)
    queue = f"blocked-{uuid.uuid4().hex[:8]}"
    parts = build_worker(time_skipping_env.client, settings, store, queue)
    async with parts.worker:
        worker = RunningWorker(
            time_skipping_env, time_skipping_env.client, queue, store, store.engine
        )
        yield worker, calendar
        await worker.terminate_started()
    parts.executor.shutdown(wait=False)


def _calendar_without_years_ahead() -> str:
    # A valid file, but for years far ahead: the years a case reaches from today (beyond the
    # package's last year) have no data in it.
    return calendar_text(range(2090, 2092))


async def _until_blocked(worker: RunningWorker, handle) -> CaseView:  # type: ignore[no-untyped-def]
    # 15 calendar days, then township P10WD, then county P10WD: a later deadline reaches into
    # a year that neither chinese-calendar nor the file has data for.
    for _ in range(12):
        await worker.env.sleep(timedelta(days=10))
        view: CaseView = await handle.query(SupervisedCaseWorkflow.state)
        if view.blocked:
            return view
    raise AssertionError("the case should have stopped on missing calendar data")


async def _until_unblocked(worker: RunningWorker, handle, blocked: CaseView) -> CaseView:  # type: ignore[no-untyped-def]
    for _ in range(20):
        await worker.env.sleep(timedelta(hours=6))
        await asyncio.sleep(0.1)
        view: CaseView = await handle.query(SupervisedCaseWorkflow.state)
        if view.blocked is None and view.escalation_index > blocked.escalation_index:
            return view
    raise AssertionError("the case should have resumed once the calendar data was loaded")


async def test_a_command_to_a_blocked_case_is_refused_at_once_and_records_nothing(
    blocked_case_worker: tuple[RunningWorker, Path],
):
    worker, calendar = blocked_case_worker
    hazard_id = f"H-blk-{uuid.uuid4().hex[:8]}"
    handle, _ = await start_case(worker, hazard_id)
    blocked = await _until_blocked(worker, handle)
    before = stored_types(worker.store, hazard_id)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(
            handle.execute_update(SupervisedCaseWorkflow.report_rectification, report()),
            timeout=20,
        )
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "case.blocked.calendar"
    assert "calendar" in cause.message
    assert stored_types(worker.store, hazard_id) == before

    calendar.write_text(TEST_CALENDAR.read_text())  # the administrator loads the year
    resumed = await _until_unblocked(worker, handle, blocked)
    # The due step is decided first, then the report: nothing was skipped.
    view = await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    types = stored_types(worker.store, hazard_id)
    assert types[len(before) :][:2] == ["DeadlineMissed", "CaseEscalated"]
    assert types[-1] == "RectificationReported"
    assert view.version == resumed.version + 1
    assert_store_matches_workflow(worker.store, hazard_id, view)


async def test_a_case_blocked_under_the_earlier_code_replays_along_the_earlier_path():
    assert PRE_PATCH_HISTORY.exists(), "the pre-patch history is committed to gate the patch"
    history = WorkflowHistory.from_json(
        PRE_PATCH_HISTORY.stem, json.loads(PRE_PATCH_HISTORY.read_text())
    )
    # The earlier code accepted the report after waiting: the history holds the update.
    updates = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert updates, "the recorded history should hold the update that waited out the block"
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


@pytest.mark.skipif(not RECORDING, reason="set DUBAN_RECORD_HISTORIES=1 to record histories")
async def test_record_a_case_blocked_on_calendar_data(
    blocked_case_worker: tuple[RunningWorker, Path],
):
    """Needs the code before CALENDAR_BLOCK_RELEASES_LOCK (see the module's docstring)."""
    refuse_to_overwrite(PRE_PATCH_HISTORY)
    worker, calendar = blocked_case_worker
    handle, _ = await start_case(worker, f"H-hist-blk-{uuid.uuid4().hex[:6]}")
    blocked = await _until_blocked(worker, handle)
    pending = asyncio.create_task(
        handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    )
    await asyncio.sleep(0.5)
    # Two retry periods pass with the year still missing: the earlier code kept the update
    # waiting inside the lock through both (the path the patch changes).
    for _ in range(2):
        await worker.env.sleep(timedelta(hours=7))
        await asyncio.sleep(0.2)
    calendar.write_text(TEST_CALENDAR.read_text())
    for _ in range(6):  # the earlier code let the waiting update through after a period
        await worker.env.sleep(timedelta(hours=6))
        await asyncio.sleep(0.2)
        if pending.done():
            break
    await asyncio.wait_for(pending, timeout=30)
    view = await handle.query(SupervisedCaseWorkflow.state)
    assert view.blocked is None and view.version > blocked.version, view
    write_history(await handle.fetch_history(), PRE_PATCH_HISTORY)
