"""People's decisions on a running case: extensions, failed verification, listing, timing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from activities.credit_link import CreditLinkActivities
from activities.events import EventStoreActivities
from activities.notifications import NotificationActivities
from activities.rules import RulesActivities
from domain.case.commands import (
    Actor,
    DecideExtension,
    RequestExtension,
    Role,
    SubmitGovernancePlan,
)
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
    wait_for_version,
)
from tests.workflows.conftest import RunningWorker
from worker import WORKFLOWS, workflow_runner
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CreditSignalInput
from workflows.ids import case_stream_id


def extension_request(deadline: datetime) -> object:
    return as_input(
        RequestExtension(
            actor=ENTERPRISE,
            requested_deadline=deadline,
            reasons="设备供货延迟 (equipment delivery delayed)",
            interim_safeguards="临时围挡, 专人值守",
        )
    )


async def test_an_extension_approved_at_day_20_moves_the_deadline_and_its_timers(
    case_worker: RunningWorker, unique_hazard_id: str
):
    now = await case_worker.env.get_current_time()
    handle, _ = await start_case(case_worker, unique_hazard_id, deadline=now + timedelta(days=60))
    original = (await handle.query(SupervisedCaseWorkflow.state)).deadline
    await case_worker.env.sleep(timedelta(days=20))
    wanted = datetime.fromisoformat(original) + timedelta(days=30)
    view = await handle.execute_update(
        SupervisedCaseWorkflow.request_extension, extension_request(wanted)
    )
    assert view.deadline == original, "a request alone does not move the deadline"
    view = await handle.execute_update(
        SupervisedCaseWorkflow.decide_extension,
        as_input(DecideExtension(actor=SUPERVISOR, approve=True, reason="理由充分")),
    )
    assert datetime.fromisoformat(view.deadline) == wanted
    assert {t["kind"] for t in view.pending_timers} == {"reminder", "deadline"}
    assert all(
        datetime.fromisoformat(t["due_at"]) > now + timedelta(days=60)
        for t in view.pending_timers
        if t["kind"] == "deadline"
    )
    await case_worker.env.sleep(timedelta(days=45))  # past the original deadline
    view = await handle.query(SupervisedCaseWorkflow.state)
    assert view.escalation_index == 0
    assert "DeadlineMissed" not in stored_types(case_worker.store, unique_hazard_id)
    await case_worker.env.sleep(timedelta(days=30))  # past the extended one
    view = await wait_for_version(handle, view.version + 1)
    assert view.escalation_index == 1
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)


async def test_an_extension_asked_later_than_the_policy_allows_is_rejected(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)  # 15-day deadline, not listed
    deadline = datetime.fromisoformat((await handle.query(SupervisedCaseWorkflow.state)).deadline)
    now = await case_worker.env.get_current_time()
    # A general case may ask until 3 working days before its deadline; 20 hours before (both
    # reminders sent: registration, notice and two reminders recorded) is too late.
    await case_worker.env.sleep(deadline - now - timedelta(hours=20))
    view = await wait_for_version(handle, 4)
    before = stored_types(case_worker.store, unique_hazard_id)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(
            SupervisedCaseWorkflow.request_extension,
            extension_request(deadline + timedelta(days=10)),
        )
    assert caught.value.cause.type == "case.extension.too_late"
    assert "P3WD" in str(caught.value.cause) and "not listed" in str(caught.value.cause)
    assert stored_types(case_worker.store, unique_hazard_id) == before
    after = await handle.query(SupervisedCaseWorkflow.state)
    assert after.version == view.version
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, after)


async def test_an_undecided_extension_is_alerted_level_by_level_up_the_grid_until_decided(
    case_worker: RunningWorker, unique_hazard_id: str
):
    """The request is in time; the authority does not decide by decide_by: the alert is
    recorded and sent to the deciding unit and the unit above, then again every two working
    days one level further up, to the top; the deadline waits for the decision, and a late
    approval still moves it."""
    handle, command = await start_case(case_worker, unique_hazard_id)
    deadline = datetime.fromisoformat((await handle.query(SupervisedCaseWorkflow.state)).deadline)
    view = await handle.execute_update(
        SupervisedCaseWorkflow.request_extension,
        extension_request(deadline + timedelta(days=20)),
    )
    assert {t["kind"] for t in view.pending_timers} == {"reminder", "extension_decision"}
    await case_worker.env.sleep(deadline - await case_worker.env.get_current_time())
    await case_worker.env.sleep(timedelta(days=1))  # past the original deadline
    view = await handle.query(SupervisedCaseWorkflow.state)
    types = stored_types(case_worker.store, unique_hazard_id)
    assert "ExtensionDecisionOverdue" in types and "DeadlineMissed" not in types
    view = await handle.execute_update(
        SupervisedCaseWorkflow.decide_extension,
        as_input(DecideExtension(actor=SUPERVISOR, approve=True, reason="同意 (审批超时)")),
    )
    assert datetime.fromisoformat(view.deadline) == deadline + timedelta(days=20)
    assert view.escalation_index == 0
    village, township, county, city, province = command.grid_path
    alerts = [
        e.data
        for e in case_worker.store.read_stream(case_stream_id(unique_hazard_id))
        if e.event_type == "ExtensionDecisionOverdue"
    ]
    # 15 days of waiting hold at least five alerts of two working days each.
    assert len(alerts) >= 5
    assert [a.get("alerted_unit_code") for a in alerts[:5]] == [
        None,  # the first: the deciding unit and the unit above it
        county.code,
        city.code,
        province.code,
        province.code,
    ]
    assert all(a["deciding_unit_code"] == village.code for a in alerts)
    told = recipients(case_worker, unique_hazard_id, "extension_decision_overdue")
    assert told[:2] == [village.responsible_person, township.responsible_person]
    assert [who for who in told[2:] if who != village.responsible_person][:3] == [
        county.responsible_person,
        city.responsible_person,
        province.responsible_person,
    ]
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)


def recipients(worker: RunningWorker, hazard_id: str, reason: str) -> list[str]:
    import sqlalchemy as sa

    with worker.store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT recipient_id FROM notification_outbox WHERE case_id = :c AND reason = :r"
                " ORDER BY id"
            ),
            {"c": hazard_id, "r": reason},
        ).all()
    return [r[0] for r in rows]


async def test_a_failed_verification_sends_the_case_back_with_a_new_deadline(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    first = (await handle.query(SupervisedCaseWorkflow.state)).deadline
    await case_worker.env.sleep(timedelta(days=5))
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    now = await case_worker.env.get_current_time()
    new_deadline = now + timedelta(days=7)
    view = await handle.execute_update(
        SupervisedCaseWorkflow.verify_rectification,
        verify(False, comments="接地线未连接", new_deadline=new_deadline),
    )
    assert view.status == "rectifying"
    assert datetime.fromisoformat(view.deadline) == new_deadline
    assert view.deadline != first
    assert [t["kind"] for t in view.pending_timers][-1] == "deadline"
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report("已连接"))
    view = await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert view.status == "closed"
    assert stored_types(case_worker.store, unique_hazard_id)[2:] == [
        "RectificationReported",
        "VerificationFailed",
        "RectificationReported",
        "VerificationPassed",
        "CaseClosed",
    ]
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, await handle.result())


async def test_a_major_hazard_is_listed_on_registration_and_delisted_by_its_authority(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, command = await start_case(case_worker, unique_hazard_id, major=True)
    view = await handle.query(SupervisedCaseWorkflow.state)
    assert view.listed_level == "county"
    listing = view.state["listing"]
    county = next(u for u in command.grid_path if u.level.value == "county")
    assert listing["authority_unit_code"] == county.code
    assert listing["listing_no"].startswith(f"GP-COUNTY-{county.code}-")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    assert refused.value.cause.type == "case.report.requires_governance_plan"
    await handle.execute_update(
        SupervisedCaseWorkflow.submit_governance_plan,
        as_input(SubmitGovernancePlan(actor=ENTERPRISE, plan=PLAN)),
    )
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    township = next(u for u in command.grid_path if u.level.value == "township")
    with pytest.raises(WorkflowUpdateFailedError) as wrong_unit:
        await handle.execute_update(
            SupervisedCaseWorkflow.verify_rectification,
            as_input_verify(Actor("sup-t", Role.SUPERVISOR, unit_code=township.code)),
        )
    assert wrong_unit.value.cause.type == "case.delist.listing_authority_only"
    view = await handle.execute_update(
        SupervisedCaseWorkflow.verify_rectification,
        as_input_verify(Actor("sup-c", Role.SUPERVISOR, unit_code=county.code)),
    )
    assert view.status == "closed" and view.listed_level is None
    assert stored_types(case_worker.store, unique_hazard_id) == [
        "HazardRegistered",
        "HazardListed",
        "ListingPublished",
        "RectificationNoticeIssued",
        "GovernancePlanSubmitted",
        "RectificationReported",
        "VerificationPassed",
        "HazardDelisted",
        "ListingPublished",
        "CaseClosed",
    ]
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, await handle.result())


def as_input_verify(actor: Actor) -> object:
    from domain.case.commands import VerifyRectification

    return as_input(VerifyRectification(actor=actor, passed=True, comments="现场验收合格"))


@pytest.mark.parametrize("offset_seconds", [-1, 1])
async def test_a_report_one_second_either_side_of_the_deadline_has_exactly_one_outcome(
    case_worker: RunningWorker, offset_seconds: int
):
    hazard_id = f"H-edge-{uuid.uuid4().hex[:8]}"
    handle, _ = await start_case(case_worker, hazard_id)
    deadline = datetime.fromisoformat((await handle.query(SupervisedCaseWorkflow.state)).deadline)
    now = await case_worker.env.get_current_time()
    await case_worker.env.sleep(deadline - now + timedelta(seconds=offset_seconds))
    view = await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    types = stored_types(case_worker.store, hazard_id)
    assert types[-1] == "RectificationReported"
    if offset_seconds < 0:
        assert "DeadlineMissed" not in types and view.escalation_index == 0
    else:
        assert types.count("DeadlineMissed") == 1 and view.escalation_index == 1
        assert types.index("DeadlineMissed") < types.index("RectificationReported")
    assert view.status == "reported"
    assert_store_matches_workflow(case_worker.store, hazard_id, view)


async def test_an_update_arriving_during_an_escalation_is_decided_after_it(
    case_worker: RunningWorker, unique_hazard_id: str
):
    """The escalation's credit signal is held open while a report arrives: the report waits
    for the escalation to be recorded, then is decided against the escalated case."""
    gate = asyncio.Event()
    entered = asyncio.Event()
    real = CreditLinkActivities(case_worker.client, f"{case_worker.task_queue}-gated")

    @activity.defn(name="signal_credit_workflow")
    async def gated_signal(request: CreditSignalInput) -> str:
        entered.set()
        await gate.wait()
        return await real.signal_credit_workflow(request)

    queue = f"{case_worker.task_queue}-gated"
    settings = RulesActivities(_settings_of(case_worker))
    events = EventStoreActivities(case_worker.store)
    notices = NotificationActivities(case_worker.engine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as executor:
        async with Worker(
            case_worker.client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=[
                events.append_events,
                events.read_stream,
                settings.load_rules,
                notices.enqueue_notifications,
                gated_signal,
            ],
            activity_executor=executor,
            workflow_runner=workflow_runner(),
        ):
            case_worker.task_queue, original_queue = queue, case_worker.task_queue
            try:
                handle, _ = await start_case(case_worker, unique_hazard_id)
            finally:
                case_worker.task_queue = original_queue
            deadline = (await handle.query(SupervisedCaseWorkflow.state)).deadline
            sleeper = asyncio.create_task(case_worker.env.sleep(timedelta(days=16)))
            await asyncio.wait_for(entered.wait(), timeout=30)
            update = asyncio.create_task(
                handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
            )
            await asyncio.sleep(0.5)
            assert not update.done(), "the report must wait for the escalation to finish"
            gate.set()
            view = await asyncio.wait_for(update, timeout=30)
            await sleeper
    types = [t for t in stored_types(case_worker.store, unique_hazard_id) if t != "ReminderDue"]
    assert types[2:] == [
        "DeadlineMissed",
        "CaseEscalated",
        "CreditTriggerRaised",
        "RectificationReported",
    ]
    assert view.status == "reported" and view.escalation_index == 1
    assert view.deadline != deadline
    assert_store_matches_workflow(case_worker.store, unique_hazard_id, view)


def _settings_of(worker: RunningWorker):  # the settings the fixture's worker uses
    from activities.settings import Settings
    from tests.workflows.conftest import TEST_CALENDAR

    return Settings(database_url="postgresql://unused/x", calendar_file=TEST_CALENDAR)
