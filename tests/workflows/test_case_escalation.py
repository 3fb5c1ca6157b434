"""Deadlines drive the case by themselves: reminders, escalation up the grid, referral."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa

from activities.eventstore import EventStore
from tests.workflows.case_helpers import (
    assert_store_matches_workflow,
    report,
    search_attributes,
    start_case,
    stored_types,
    wait_for_version,
)
from tests.workflows.conftest import RunningWorker
from workflows import search_attributes as sa_keys
from workflows.case import SupervisedCaseWorkflow
from workflows.credit import EnterpriseCreditWorkflow
from workflows.ids import case_stream_id, credit_stream_id, credit_workflow_id

RANK = {"village": 0, "township": 1, "county": 2, "city": 3, "province": 4}


def outbox(store: EventStore, hazard_id: str) -> list[tuple[str, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT step_key, recipient_kind, payload->>'event_type' FROM notification_outbox"
                " WHERE case_id = :c ORDER BY id"
            ),
            {"c": hazard_id},
        ).all()
    return [tuple(r) for r in rows]


def recipients(store: EventStore, hazard_id: str) -> list[tuple[str, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT recipient_kind, recipient_id, reason FROM notification_outbox"
                " WHERE case_id = :c ORDER BY id"
            ),
            {"c": hazard_id},
        ).all()
    return [tuple(r) for r in rows]


async def settle(worker: RunningWorker, days: float) -> None:
    await worker.env.sleep(timedelta(days=days))
    await asyncio.sleep(0.2)


async def test_an_overdue_case_escalates_level_by_level_to_the_top_then_is_referred(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, command = await start_case(case_worker, unique_hazard_id)
    seen_levels = []
    for _ in range(6):
        await settle(case_worker, 40)
        view = await handle.query(SupervisedCaseWorkflow.state)
        seen_levels.append(view.grid_level)
        # After each escalation operators find the case at its level, unit and deadline.
        attributes = await search_attributes(handle)
        assert attributes[sa_keys.CASE_STATUS.name] == view.status
        assert attributes[sa_keys.CASE_LEVEL.name] == view.grid_level
        assert attributes[sa_keys.CASE_GRID.name] == view.supervising_unit_code
        assert attributes[sa_keys.CASE_DEADLINE.name] == datetime.fromisoformat(view.deadline)
        if view.status == "referred":
            break
    assert view.status == "referred"
    # Operators find the case where it now is, listed at the province, with its deadline.
    attributes = await search_attributes(handle)
    assert attributes == {
        sa_keys.CASE_STATUS.name: "referred",
        sa_keys.CASE_LEVEL.name: "province",
        sa_keys.CASE_GRID.name: view.supervising_unit_code,
        sa_keys.CASE_LISTED.name: "province",
        sa_keys.CASE_DEADLINE.name: datetime.fromisoformat(view.deadline or ""),
    }
    assert view.supervising_unit_code == command.grid_path[-1].code
    ranks = [RANK[level] for level in seen_levels]
    assert ranks == sorted(ranks), f"the level never goes down: {seen_levels}"
    types = stored_types(case_worker.store, unique_hazard_id)
    escalations = [
        e.data
        for e in case_worker.store.read_stream(case_stream_id(unique_hazard_id))
        if e.event_type == "CaseEscalated"
    ]
    assert [e["grid_level"] for e in escalations] == ["township", "county", "city", "province"]
    assert types.count("DeadlineMissed") == 5
    assert "EnforcementReferred" in types
    assert types.index("EnforcementReferred") > types.index("CaseEscalated")
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)

    # Each escalation told the responsible person of the level escalated to and the enterprise.
    told = [
        (kind, recipient)
        for kind, recipient, reason in recipients(case_worker.store, unique_hazard_id)
        if reason.startswith("case_escalated:")
    ]
    assert Counter(kind for kind, _ in told) == {"grid_responsible": 4, "enterprise": 4}
    assert [r for k, r in told if k == "grid_responsible"] == [
        e["responsible_person"] for e in escalations
    ]

    # The enterprise's credit workflow heard about every escalation and the referral at the top.
    credit_code = command.enterprise.credit_code
    credit = case_worker.client.get_workflow_handle(credit_workflow_id(credit_code))
    for _ in range(100):
        recorded = await credit.query(EnterpriseCreditWorkflow.credit)
        if len([r for r in recorded.recorded if r.get("case_id") == unique_hazard_id]) >= 6:
            break
        await asyncio.sleep(0.1)
    mine = [
        e.data
        for e in case_worker.store.read_stream(credit_stream_id(credit_code))
        if e.event_type == "CreditEventRecorded" and e.data.get("case_id") == unique_hazard_id
    ]
    assert [e["kind"] for e in mine].count("escalation") == 4
    # Overdue at the top, and the referral it causes (the enforcement_referral trigger).
    assert [e["kind"] for e in mine[-2:]] == ["overdue_at_top", "enforcement_referral"]
    assert len({e["case_event_id"] for e in mine}) == len(mine)


async def test_reminders_go_out_at_the_policy_offsets_before_the_deadline(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    view = await handle.query(SupervisedCaseWorkflow.state)
    reminder_timers = [t for t in view.pending_timers if t["kind"] == "reminder"]
    assert [t["key"].split(":")[-1] for t in reminder_timers] == ["P3D", "P1D"]
    # Past both reminders of the 15-day deadline (24:00 of its 15th day), an hour before it.
    until_deadline = (
        datetime.fromisoformat(view.deadline) - await case_worker.env.get_current_time()
    )
    await settle(case_worker, (until_deadline - timedelta(hours=1)) / timedelta(days=1))
    view = await handle.query(SupervisedCaseWorkflow.state)
    assert view.escalation_index == 0
    reminders = [
        row for row in outbox(case_worker.store, unique_hazard_id) if row[2] == "ReminderDue"
    ]
    assert len(reminders) == 4  # two offsets × (the enterprise, the responsible person)
    assert {kind for _, kind, _ in reminders} == {"enterprise", "grid_responsible"}
    stored = [
        e
        for e in case_worker.store.read_stream(case_stream_id(unique_hazard_id))
        if e.event_type == "ReminderDue"
    ]
    deadline = view.deadline
    for event, offset in zip(stored, (3, 1), strict=True):
        assert event.data["deadline"] == deadline
        lead = datetime.fromisoformat(deadline) - event.occurred_at
        # fired at its due instant (the test server's clock runs a few ms past it)
        assert timedelta(days=offset) - timedelta(seconds=5) < lead <= timedelta(days=offset)
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)


async def test_a_report_before_the_deadline_stops_escalation_and_waits_for_review(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    await settle(case_worker, 10)
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    await settle(case_worker, 8)  # past the original deadline
    view = await handle.query(SupervisedCaseWorkflow.state)
    assert (view.version, view.status, view.escalation_index) == (3, "reported", 0)
    assert [t["kind"] for t in view.pending_timers] == ["review"]
    await settle(case_worker, 3)  # past the 10-day review window (复查 within 10 days)
    view = await wait_for_version(handle, 4)
    types = stored_types(case_worker.store, unique_hazard_id)
    assert "DeadlineMissed" not in types
    assert types[-1] == "VerificationOverdue"
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)
