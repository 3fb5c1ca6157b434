"""Self-inspection (企业自查自改, edition 5) on the time-skipping server: an enterprise's own
general hazard is written off on its report; its own major hazard waits for the supervising
unit's acceptance (受理), alerted up the grid every ``accept_within`` while nobody accepts it;
the workflow's state stays the fold of the stored events. A history of it gates replay.

Record the history (after deleting it deliberately) with

    DUBAN_RECORD_HISTORY=case-ed5-self-inspection .venv/bin/pytest \\
        tests/workflows/test_case_self_inspection.py
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from activities.eventstore import EventStore
from domain.case.commands import AcceptSelfReport, SubmitGovernancePlan
from domain.case.events import HazardSource, RectificationMode
from tests.domain.domain_builders import PLAN
from tests.workflows.case_helpers import (
    ENTERPRISE,
    SUPERVISOR,
    as_input,
    assert_store_matches_workflow,
    report,
    start_case,
    stored_types,
    verify,
)
from tests.workflows.conftest import RunningWorker
from tests.workflows.history_files import HISTORIES, refuse_to_overwrite
from tests.workflows.test_case_replay_people import coverage, save
from workflows.case import SupervisedCaseWorkflow
from workflows.ids import case_stream_id

SELF_INSPECTION_HISTORY = "case-ed5-self-inspection"
RECORDING = SELF_INSPECTION_HISTORY in os.environ.get("DUBAN_RECORD_HISTORY", "").split(",")


async def self_found(worker: RunningWorker, hazard_id: str, *, major: bool = False):  # type: ignore[no-untyped-def]
    now = await worker.env.get_current_time()
    extra = {"mode": RectificationMode.DEADLINE} if major else {}
    return await start_case(
        worker,
        hazard_id,
        major=major,
        actor=ENTERPRISE,
        source=HazardSource.SELF_INSPECTION,
        found_by=ENTERPRISE.id,
        deadline=now + timedelta(days=20 if not major else 60),
        **extra,
    )


async def test_an_enterprises_own_general_hazard_closes_on_its_own_report(
    case_worker: RunningWorker, store: EventStore, unique_hazard_id: str
):
    handle, _ = await self_found(case_worker, unique_hazard_id)
    await case_worker.env.sleep(timedelta(days=2))
    view = await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    assert view.status == "closed", view
    assert stored_types(store, unique_hazard_id)[-2:] == ["RectificationReported", "CaseClosed"]
    closed = store.read_stream(case_stream_id(unique_hazard_id))[-1]
    assert closed.data["basis"] == "self_rectified"
    assert_store_matches_workflow(store, unique_hazard_id, view)


async def test_an_enterprises_own_major_hazard_is_alerted_up_the_grid_until_accepted(
    case_worker: RunningWorker, store: EventStore, unique_hazard_id: str
):
    handle, _ = await self_found(case_worker, unique_hazard_id, major=True)
    assert stored_types(store, unique_hazard_id)[-1] == "SelfReportAwaitingAcceptance"
    # accept_within = P3D: alerts at 3 and 6 days, the second one level up (city).
    await case_worker.env.sleep(timedelta(days=7))
    view = await handle.query(SupervisedCaseWorkflow.state)
    alerts = [
        e.data
        for e in store.read_stream(case_stream_id(unique_hazard_id))
        if e.event_type == "SelfReportAcceptanceOverdue"
    ]
    assert [(a["alert_no"], a["alerted_unit_code"]) for a in alerts] == [
        (1, "P37-C07-X82"),
        (2, "P37-C07"),
    ], alerts
    await handle.execute_update(
        SupervisedCaseWorkflow.submit_governance_plan,
        as_input(SubmitGovernancePlan(actor=ENTERPRISE, plan=PLAN)),
    )
    view = await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    assert view.status == "reported", "a major hazard never closes on its own report"
    with pytest.raises(Exception) as refused:
        await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert "case.self_report.awaiting_acceptance" in repr(refused.value.__cause__ or refused.value)
    view = await handle.execute_update(
        SupervisedCaseWorkflow.accept_self_report,
        as_input(AcceptSelfReport(actor=SUPERVISOR, comments="已受理, 纳入县级挂牌督办")),
    )
    await case_worker.env.sleep(timedelta(days=10))
    after = [e.event_type for e in store.read_stream(case_stream_id(unique_hazard_id))]
    assert after.count("SelfReportAcceptanceOverdue") == 2, "accepted: no more alerts"
    view = await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert view.status == "closed", view
    assert_store_matches_workflow(store, unique_hazard_id, view)


def test_an_edition_5_history_gates_self_inspection():
    updates, events, _ = coverage(since_edition=5)
    assert "accept_self_report" in updates
    assert {
        "SelfReportAwaitingAcceptance",
        "SelfReportAcceptanceOverdue",
        "SelfReportAccepted",
        "CaseClosed",
    } <= events


@pytest.mark.skipif(not RECORDING, reason=f"set DUBAN_RECORD_HISTORY={SELF_INSPECTION_HISTORY}")
async def test_record_a_self_reported_major_hazard_alerted_accepted_and_verified(
    case_worker: RunningWorker,
):
    refuse_to_overwrite(HISTORIES / f"{SELF_INSPECTION_HISTORY}.json")
    handle, _ = await self_found(case_worker, "H-hist-ed5-self", major=True)
    await case_worker.env.sleep(timedelta(days=4))  # one alert
    await handle.execute_update(
        SupervisedCaseWorkflow.accept_self_report,
        as_input(AcceptSelfReport(actor=SUPERVISOR, comments="已受理")),
    )
    await handle.execute_update(
        SupervisedCaseWorkflow.submit_governance_plan,
        as_input(SubmitGovernancePlan(actor=ENTERPRISE, plan=PLAN)),
    )
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    view = await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert view.status == "closed", view
    await save(handle, SELF_INSPECTION_HISTORY)
