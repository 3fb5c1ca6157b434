"""Replay-gate coverage of the people's commands and the timers under policy editions 2 to 4.

The committed histories of test_case_replay.py cover a case rectified on time, one escalated
to the top, a major hazard listed and de-listed (all edition 1) and a late failure (edition 2).
The histories recorded here add what those never did: under edition 2, a supervisor's
listing, a refusal and a withdrawal, an extension rejected and then approved, reminders, and
the review window running out (VerificationOverdue); under edition 3 (the shipped policy
since), an undecided extension alerted level by level up the grid; under edition 4, reminders
that lapsed while no worker ran (recorded on the real dev server with the shipped drill
policy: the time-skipping server holds its clock while a task waits for a worker). A history
is recorded under the policy shipped when it is recorded; the older editions' stay as the
gate of the cases registered under them. Both replay gates (test_case_replay.py and
test_replay_inputs.py) replay every file under tests/histories/, these included.

Record one (after deleting it deliberately: a recorder never writes over a committed file) by

    DUBAN_RECORD_HISTORY=case-ed2-listed-refused-withdrawn .venv/bin/pytest \\
        tests/workflows/test_case_replay_people.py
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from activities.settings import Settings
from domain.case.commands import (
    DecideExtension,
    ListHazard,
    RecordRefusal,
    RequestExtension,
    WithdrawCase,
)
from domain.policy import ListingLevel
from tests.domain.domain_builders import FIVE
from tests.workflows.case_helpers import (
    ENTERPRISE,
    SUPERVISOR,
    as_input,
    report,
    start_case,
    verify,
    wait_for_version,
)
from tests.workflows.conftest import RunningWorker
from tests.workflows.history_files import HISTORIES, refuse_to_overwrite, write_history
from worker import build_worker
from workflows.case import SupervisedCaseWorkflow
from workflows.ids import case_stream_id

LISTED_REFUSED_WITHDRAWN = "case-ed2-listed-refused-withdrawn"
EXTENSIONS_AND_REVIEW = "case-ed2-extension-rejected-approved-review-overdue"
ALERTS_UP_THE_GRID = "case-ed3-decision-alerts-up-the-grid"
REMINDERS_LAPSED = "case-ed4-reminders-lapsed-while-down"
RECORDING = set(os.environ.get("DUBAN_RECORD_HISTORY", "").split(","))


def recorded(name: str) -> Any:
    return pytest.mark.skipif(
        name not in RECORDING, reason=f"set DUBAN_RECORD_HISTORY={name} to record it"
    )


# --- what the committed histories cover ------------------------------------------------------


def _payload(payloads: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(payloads["payloads"][0]["data"]))


def coverage(since_edition: int = 2) -> tuple[set[str], set[str], set[int]]:
    """Over every committed history of a case of ``since_edition`` or later: the updates
    accepted, the event types appended, and the alert numbers of ExtensionDecisionOverdue."""
    updates: set[str] = set()
    events: set[str] = set()
    alerts: set[int] = set()
    for path in sorted(HISTORIES.glob("case-*.json")):
        history = json.loads(path.read_text(encoding="utf-8"))["events"]
        edition = 1
        for event in history:
            done = event.get("activityTaskCompletedEventAttributes")
            if done and "result" in done:
                result = _payload(done["result"])
                if isinstance(result, dict) and "policy" in result:
                    edition = result["policy"].get("edition", 1)
        if edition < since_edition:
            continue
        for event in history:
            accepted = event.get("workflowExecutionUpdateAcceptedEventAttributes")
            if accepted:
                updates.add(accepted["acceptedRequest"]["input"]["name"])
            scheduled = event.get("activityTaskScheduledEventAttributes")
            if scheduled and scheduled["activityType"]["name"] == "append_events":
                for appended in _payload(scheduled["input"])["events"]:
                    events.add(appended["event_type"])
                    if appended["event_type"] == "ExtensionDecisionOverdue":
                        alerts.add(appended["data"].get("alert_no", 1))
    return updates, events, alerts


def test_the_edition_2_and_3_histories_gate_every_command_and_timer_of_a_case():
    updates, events, alerts = coverage()
    assert {
        "list_hazard",
        "record_refusal",
        "withdraw_case",
        "request_extension",
        "decide_extension",
        "report_rectification",
        "verify_rectification",
    } <= updates
    assert {
        "HazardListed",
        "ListingPublished",
        "RefusalRecorded",
        "EnforcementReferred",
        "CaseWithdrawn",
        "HazardDelisted",
        "ExtensionRejected",
        "ExtensionApproved",
        "ReminderDue",
        "VerificationOverdue",
        "ExtensionDecisionOverdue",
        "DeadlineMissed",
        "CaseEscalated",
    } <= events
    assert {1, 2, 3} <= alerts, "a repeated decision alert up the grid is gated too"


def test_an_edition_4_history_gates_the_reminders_recorded_as_lapsed():
    _, events, _ = coverage(since_edition=4)
    assert {"ReminderLapsed", "DeadlineMissed", "CaseEscalated", "CaseClosed"} <= events


def test_a_recorder_refuses_to_write_over_a_committed_history(tmp_path: Path):
    committed = tmp_path / "case-committed.json"
    committed.write_text("{}", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="Delete it deliberately"):
        write_history(WorkflowHistory("wf", []), committed)
    assert committed.read_text(encoding="utf-8") == "{}"
    fresh = tmp_path / "case-new.json"
    write_history(WorkflowHistory("wf", []), fresh)
    assert json.loads(fresh.read_text(encoding="utf-8")) == {}


# --- recorders -------------------------------------------------------------------------------


async def save(handle: WorkflowHandle[Any, Any], name: str) -> None:
    for _ in range(100):  # a closed case's workflow completes once its handlers finish
        if (await handle.describe()).status.name != "RUNNING":
            break
        await asyncio.sleep(0.05)
    write_history(await handle.fetch_history(), HISTORIES / f"{name}.json")


def extension(deadline: datetime) -> Any:
    return as_input(
        RequestExtension(
            actor=ENTERPRISE,
            requested_deadline=deadline,
            reasons="设备供货延迟",
            interim_safeguards="临时围挡, 专人值守",
        )
    )


@recorded(LISTED_REFUSED_WITHDRAWN)
async def test_record_a_listing_a_refusal_and_a_withdrawal(case_worker: RunningWorker):
    refuse_to_overwrite(HISTORIES / f"{LISTED_REFUSED_WITHDRAWN}.json")
    handle, _ = await start_case(case_worker, "H-hist-ed2-people")
    now = await case_worker.env.get_current_time()
    view = await handle.execute_update(
        SupervisedCaseWorkflow.list_hazard,
        as_input(
            ListHazard(
                actor=SUPERVISOR,
                level=ListingLevel.COUNTY,
                deadline=now + timedelta(days=60),
                listing_measures=FIVE,
            )
        ),
    )
    assert view.listed_level == "county", view
    view = await handle.execute_update(
        SupervisedCaseWorkflow.record_refusal,
        as_input(RecordRefusal(actor=SUPERVISOR, details="企业负责人拒绝签收整改通知书")),
    )
    assert view.status == "referred", view
    await case_worker.env.sleep(timedelta(days=2))
    view = await handle.execute_update(
        SupervisedCaseWorkflow.withdraw_case,
        as_input(WithdrawCase(actor=SUPERVISOR, reason="经复核系重复登记")),
    )
    assert view.status == "withdrawn" and view.listed_level is None, view
    await save(handle, LISTED_REFUSED_WITHDRAWN)


@recorded(EXTENSIONS_AND_REVIEW)
async def test_record_extensions_rejected_and_approved_reminders_and_a_late_review(
    case_worker: RunningWorker,
):
    refuse_to_overwrite(HISTORIES / f"{EXTENSIONS_AND_REVIEW}.json")
    handle, _ = await start_case(case_worker, "H-hist-ed2-extend")
    deadline = datetime.fromisoformat((await handle.query(SupervisedCaseWorkflow.state)).deadline)
    await handle.execute_update(
        SupervisedCaseWorkflow.request_extension, extension(deadline + timedelta(days=10))
    )
    view = await handle.execute_update(
        SupervisedCaseWorkflow.decide_extension,
        as_input(DecideExtension(actor=SUPERVISOR, approve=False, reason="理由不充分")),
    )
    assert view.deadline == deadline.isoformat(), view
    await case_worker.env.sleep(timedelta(days=1))
    await handle.execute_update(
        SupervisedCaseWorkflow.request_extension, extension(deadline + timedelta(days=20))
    )
    view = await handle.execute_update(
        SupervisedCaseWorkflow.decide_extension,
        as_input(DecideExtension(actor=SUPERVISOR, approve=True, reason="补充材料后同意")),
    )
    extended = datetime.fromisoformat(view.deadline)
    assert extended == deadline + timedelta(days=20), view
    # Past both reminders of the extended deadline, a few hours before it.
    await case_worker.env.sleep(
        extended - timedelta(hours=6) - await case_worker.env.get_current_time()
    )
    view = await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    assert view.status == "reported", view
    await case_worker.env.sleep(timedelta(days=12))  # past the 10-day review window
    view = await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert view.status == "closed", view
    await save(handle, EXTENSIONS_AND_REVIEW)


@recorded(ALERTS_UP_THE_GRID)
async def test_record_an_undecided_extension_alerted_up_the_grid(case_worker: RunningWorker):
    refuse_to_overwrite(HISTORIES / f"{ALERTS_UP_THE_GRID}.json")
    handle, _ = await start_case(case_worker, "H-hist-ed3-alerts")
    deadline = datetime.fromisoformat((await handle.query(SupervisedCaseWorkflow.state)).deadline)
    await handle.execute_update(
        SupervisedCaseWorkflow.request_extension, extension(deadline + timedelta(days=20))
    )
    await case_worker.env.sleep(timedelta(days=9))  # decide_by, then two more alerts at least
    view = await handle.execute_update(
        SupervisedCaseWorkflow.decide_extension,
        as_input(DecideExtension(actor=SUPERVISOR, approve=True, reason="同意 (经催办)")),
    )
    assert datetime.fromisoformat(view.deadline) == deadline + timedelta(days=20), view
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    view = await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert view.status == "closed", view
    await save(handle, ALERTS_UP_THE_GRID)


@recorded(REMINDERS_LAPSED)
async def test_record_reminders_lapsed_while_no_worker_ran(
    dev_server_env: WorkflowEnvironment, test_settings: Settings, store: EventStore
):
    """The shipped drill policy (edition 4; deadline 20 s, reminders 10 s and 5 s before):
    the worker stops once the case is registered and a new one starts after the deadline,
    which records both reminders as lapsed, the deadline missed and the escalation; the
    enterprise then reports and the township verifies."""
    refuse_to_overwrite(HISTORIES / f"{REMINDERS_LAPSED}.json")
    drill = Path(__file__).resolve().parents[2] / "domain" / "policies" / "drill.toml"
    settings = test_settings.model_copy(update={"policy_file": drill})
    queue = f"lapsed-{uuid.uuid4().hex[:8]}"
    worker = RunningWorker(dev_server_env, dev_server_env.client, queue, store, store.engine)
    parts = build_worker(dev_server_env.client, settings, store, queue)
    async with parts.worker:
        handle, _ = await start_case(worker, "H-hist-ed4-lapsed")
        view = await wait_for_version(handle, 2)
        assert view.deadline is not None, view
    parts.executor.shutdown(wait=False)
    deadline = datetime.fromisoformat(view.deadline)
    await asyncio.sleep((deadline - datetime.now(UTC)).total_seconds() + 4)  # no worker runs
    parts = build_worker(dev_server_env.client, settings, store, queue)
    try:
        async with parts.worker:
            for _ in range(600):
                view = await handle.query(SupervisedCaseWorkflow.state)
                if view.status == "escalated":
                    break
                await asyncio.sleep(0.05)
            assert view.status == "escalated", view
            await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
            view = await handle.execute_update(
                SupervisedCaseWorkflow.verify_rectification, verify(True)
            )
            assert view.status == "closed", view
            await save(handle, REMINDERS_LAPSED)
            types = [e.event_type for e in store.read_stream(case_stream_id("H-hist-ed4-lapsed"))]
            assert types[2:5] == ["ReminderLapsed", "ReminderLapsed", "DeadlineMissed"], types
    finally:
        parts.executor.shutdown(wait=False)
        await worker.terminate_started()
