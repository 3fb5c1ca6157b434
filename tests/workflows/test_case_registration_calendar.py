"""A registration is never refused for calendar data (issue 14): a major hazard registered
while next year's holidays are not loaded is recorded, its notice waits (``blocked`` names the
year and the administrator), and once the administrator loads the year the notice is issued
and the case runs on — at once on the ``calendar_loaded`` signal, or at its next retry.

The earlier code failed such a case at once (nothing recorded). That path is kept behind
``workflow.patched(REGISTRATION_NEVER_REFUSED_FOR_CALENDAR)``: the history committed as
``tests/histories/refused/case-registration-refused-for-calendar-pre-patch.json`` was recorded with
the code BEFORE the patch (base commit 5a57581) and must replay as it failed. To record it
again (after deleting it deliberately), run this module's recorder on that code:

    git archive 5a57581 | tar -x -C /tmp/duban-base
    cp tests/workflows/test_case_registration_calendar.py /tmp/duban-base/tests/workflows/
    cd /tmp/duban-base && DUBAN_RECORD_HISTORIES=1 PYTHONPATH=. /path/to/.venv/bin/pytest \\
        tests/workflows/test_case_registration_calendar.py -k record_a_registration_refused
    cp tests/histories/refused/case-registration-refused-for-calendar-pre-patch.json \
        <worktree>/tests/histories/refused/

The history of the new path (``case-registration-awaits-calendar.json``) is recorded with the
current code by ``-k record_a_registration_that_waits``.

This module imports only what the earlier code had, so that its recorder runs there.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.eventstore import EventStore
from activities.settings import Settings
from domain.calendar import WorkingCalendar
from domain.case import command_to_data
from domain.case.commands import ListHazard, SubmitGovernancePlan
from domain.policy import ListingLevel
from tests.domain.domain_builders import FIVE, PLAN, SHANGHAI, register_major
from tests.fixtures.calendar_data import calendar_text
from tests.workflows.case_helpers import (
    ENTERPRISE,
    SUPERVISOR,
    as_input,
    assert_store_matches_workflow,
    eventually,
    start_case,
    stored_types,
    wait_for_version,
)
from tests.workflows.conftest import TEST_CALENDAR, RunningWorker
from tests.workflows.history_files import HISTORIES, refuse_to_overwrite, write_history
from worker import WORKFLOWS, build_worker, workflow_runner
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CaseView, CaseWorkflowInput
from workflows.ids import case_stream_id, case_workflow_id

# Apart from the gates' histories: it appended nothing (the case failed), so the input gate,
# which tells a history's workflow id from its appends, has nothing to compare; it is replayed
# here instead.
PRE_PATCH = HISTORIES / "refused" / "case-registration-refused-for-calendar-pre-patch.json"
AWAITS = HISTORIES / "case-registration-awaits-calendar.json"
RECORDING = os.environ.get("DUBAN_RECORD_HISTORIES") == "1"


@pytest.fixture()
async def worker_without_next_year(
    time_skipping_env: WorkflowEnvironment, database_url: str, store: EventStore, tmp_path: Path
) -> AsyncIterator[tuple[RunningWorker, Path]]:
    """A worker whose calendar file is valid but knows only years far ahead: the years a
    registration today needs (beyond the package's last) are not loaded."""
    calendar = tmp_path / "calendar.toml"
    calendar.write_text(calendar_text(range(2090, 2092)))
    settings = Settings(database_url=database_url, data_dir=tmp_path, calendar_file=calendar)
    queue = f"nextyear-{uuid.uuid4().hex[:8]}"
    parts = build_worker(time_skipping_env.client, settings, store, queue)
    async with parts.worker:
        worker = RunningWorker(
            time_skipping_env, time_skipping_env.client, queue, store, store.engine
        )
        yield worker, calendar
        await worker.terminate_started()
    parts.executor.shutdown(wait=False)


async def _missing_year(worker: RunningWorker) -> int:
    """The year a county listing's three months from now reach first that has no data."""
    now = (await worker.env.get_current_time()).astimezone(SHANGHAI)
    return WorkingCalendar().first_missing_year(now.year)


def _outbox(worker: RunningWorker, hazard_id: str) -> set[tuple[str, str, str]]:
    with worker.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT recipient_kind, recipient_id, reason FROM notification_outbox"
                " WHERE case_id = :c"
            ),
            {"c": hazard_id},
        ).all()
    return {(kind, rid, reason) for kind, rid, reason in rows}


async def _blocked_refusal(handle: Any, update: Any, command: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(handle.execute_update(update, as_input(command)), timeout=20)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_a_major_hazard_is_recorded_while_next_years_holidays_are_missing(
    worker_without_next_year: tuple[RunningWorker, Path],
):
    worker, calendar = worker_without_next_year
    year = await _missing_year(worker)
    hazard_id = f"H-reg-cal-{uuid.uuid4().hex[:8]}"
    handle, command = await start_case(worker, hazard_id, major=True)
    view: CaseView = await wait_for_version(handle, 2)
    assert stored_types(worker.store, hazard_id) == ["HazardRegistered", "NoticeAwaitingCalendar"]
    assert view.status == "rectifying" and view.deadline is None and view.pending_timers == []
    assert view.blocked is not None and "calendar.year_missing" in view.blocked
    assert str(year) in view.blocked and "administrator" in view.blocked
    assert view.blocked_year == year  # type: ignore[attr-defined]
    assert_store_matches_workflow(worker.store, hazard_id, view)
    # The administrator, the village's supervisor and the enterprise are told who must act,
    # by the activity after the events were recorded (the version waited for).
    village = command.grid_path[0].responsible_person
    told = await eventually(
        lambda: asyncio.to_thread(_outbox, worker, hazard_id),
        lambda rows: ("grid_responsible", village, "notice_awaiting_calendar") in rows,
        "the notifications of the waiting notice",
    )
    # The administrators once per missing year (another case may have told them first).
    with worker.engine.connect() as conn:
        admins = conn.execute(
            sa.text("SELECT reason FROM notification_outbox WHERE step_key = :k"),
            {"k": f"calendar:{year}:missing:admin:administrators"},
        ).scalar_one()
    assert admins == f"calendar_year_missing:{year}"
    assert ("grid_responsible", village, "notice_awaiting_calendar") in told

    # A step that needs the notice is refused at once with the reason; the plan is taken.
    listing = ListHazard(SUPERVISOR, ListingLevel.CITY, "提级", listing_measures=FIVE)
    refused = await _blocked_refusal(handle, SupervisedCaseWorkflow.list_hazard, listing)
    assert refused.type == "case.blocked.calendar" and str(year) in refused.message
    await handle.execute_update(
        SupervisedCaseWorkflow.submit_governance_plan,
        as_input(SubmitGovernancePlan(ENTERPRISE, PLAN)),
    )
    assert stored_types(worker.store, hazard_id)[-1] == "GovernancePlanSubmitted"

    # The administrator loads the year and says so: the notice is issued at once.
    calendar.write_text(TEST_CALENDAR.read_text())
    loaded_at = await worker.env.get_current_time()
    await handle.signal(SupervisedCaseWorkflow.calendar_loaded)  # type: ignore[attr-defined]
    view = await wait_for_version(handle, 6)
    assert stored_types(worker.store, hazard_id)[3:] == [
        "HazardListed",
        "ListingPublished",
        "RectificationNoticeIssued",
    ]
    notice = worker.store.read_stream(case_stream_id(hazard_id))[-1].data
    assert notice["awaited_year"] == year and len(notice["calendar_digest"]) == 64
    assert view.blocked is None and view.deadline is not None
    assert [t["kind"] for t in view.pending_timers][-1] == "deadline"
    # Counted from the notice: three months after it was issued, not after registration.
    assert view.deadline > (loaded_at + timedelta(days=89)).isoformat()
    assert_store_matches_workflow(worker.store, hazard_id, view)


async def test_without_the_signal_the_waiting_notice_is_issued_at_the_next_retry(
    worker_without_next_year: tuple[RunningWorker, Path],
):
    worker, calendar = worker_without_next_year
    hazard_id = f"H-reg-retry-{uuid.uuid4().hex[:8]}"
    handle, _ = await start_case(worker, hazard_id, major=True)
    await wait_for_version(handle, 2)
    calendar.write_text(TEST_CALENDAR.read_text())
    await worker.env.sleep(timedelta(hours=6, minutes=1))
    view = await wait_for_version(handle, 5)
    assert view.blocked is None
    assert stored_types(worker.store, hazard_id)[-1] == "RectificationNoticeIssued"


async def test_a_case_that_is_not_waiting_ignores_the_calendar_signal(case_worker: RunningWorker):
    hazard_id = f"H-reg-nowait-{uuid.uuid4().hex[:8]}"
    handle, _ = await start_case(case_worker, hazard_id)
    before = await wait_for_version(handle, 2)
    await handle.signal(SupervisedCaseWorkflow.calendar_loaded)  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)
    after: CaseView = await handle.query(SupervisedCaseWorkflow.state)
    assert after.version == before.version and after.pending_timers == before.pending_timers


async def test_a_registration_refused_under_the_earlier_code_replays_as_it_failed():
    assert PRE_PATCH.exists(), "the pre-patch history is committed to gate the patch"
    history = WorkflowHistory.from_json(PRE_PATCH.stem, json.loads(PRE_PATCH.read_text()))
    assert any(e.HasField("workflow_execution_failed_event_attributes") for e in history.events)
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


@pytest.mark.skipif(not RECORDING, reason="set DUBAN_RECORD_HISTORIES=1 to record histories")
async def test_record_a_registration_refused_for_calendar_data(
    worker_without_next_year: tuple[RunningWorker, Path],
):
    """Needs the code BEFORE the patch (see the module's docstring)."""
    refuse_to_overwrite(PRE_PATCH)
    worker, _ = worker_without_next_year
    now = await worker.env.get_current_time()
    hazard_id = f"H-hist-refused-{uuid.uuid4().hex[:6]}"
    command = register_major(hazard_id=hazard_id, found_at=now - timedelta(hours=1))
    worker.started.append(case_workflow_id(hazard_id))
    handle = await worker.client.start_workflow(
        SupervisedCaseWorkflow.run,
        CaseWorkflowInput(command_to_data(command), correlation_id=f"test-{hazard_id}"),
        id=case_workflow_id(hazard_id),
        task_queue=worker.task_queue,
    )
    for _ in range(200):
        status = (await handle.describe()).status
        if status is not None and status.name == "FAILED":
            break
        await asyncio.sleep(0.05)
    assert status is not None and status.name == "FAILED", "the earlier code refused it"
    assert stored_types(worker.store, hazard_id) == []
    write_history(await handle.fetch_history(), PRE_PATCH)


@pytest.mark.skipif(not RECORDING, reason="set DUBAN_RECORD_HISTORIES=1 to record histories")
async def test_record_a_registration_that_waits_for_calendar_data(
    worker_without_next_year: tuple[RunningWorker, Path],
):
    refuse_to_overwrite(AWAITS)
    worker, calendar = worker_without_next_year
    handle, _ = await start_case(worker, f"H-hist-awaits-{uuid.uuid4().hex[:6]}", major=True)
    await wait_for_version(handle, 2)
    refused = ListHazard(SUPERVISOR, ListingLevel.CITY, "提级", listing_measures=FIVE)
    await _blocked_refusal(handle, SupervisedCaseWorkflow.list_hazard, refused)
    await handle.execute_update(
        SupervisedCaseWorkflow.submit_governance_plan,
        as_input(SubmitGovernancePlan(ENTERPRISE, PLAN)),
    )
    await worker.env.sleep(timedelta(hours=7))  # a retry with the year still missing
    await asyncio.sleep(0.3)
    calendar.write_text(TEST_CALENDAR.read_text())
    await handle.signal(SupervisedCaseWorkflow.calendar_loaded)  # type: ignore[attr-defined]
    await wait_for_version(handle, 6)
    write_history(await handle.fetch_history(), AWAITS)
