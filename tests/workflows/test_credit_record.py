"""What cases feed into an enterprise's credit record: entries, the rating, the policy's
triggers, repeats, and a record that outlives many continued-as-new runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from activities.settings import Settings
from domain.policy import parse_policy
from tests.workflows.conftest import RunningWorker
from tests.workflows.credit_helpers import (
    assert_store_matches_workflow,
    case_signal,
    new_credit_code,
    start_credit,
    stored,
    wait_for,
)
from workflows.credit import EnterpriseCreditWorkflow
from workflows.ids import credit_stream_id


async def test_an_event_the_policy_does_not_name_as_a_trigger_is_recorded_and_lowers_the_rating(
    case_worker: RunningWorker,
):
    code = new_credit_code()
    handle = await start_credit(case_worker, code)
    view = await handle.query(EnterpriseCreditWorkflow.credit)
    assert (view.rating, view.recorded_rating, view.points) == ("A", "A", 100)
    assert not view.whitelist_eligible  # known for less than the 3 clean years

    now = await case_worker.env.get_current_time()
    signal = case_signal(code, "overdue_at_top", now)  # default policy: overdue_at_top = false
    await handle.signal(EnterpriseCreditWorkflow.record_credit_event, signal)
    await handle.signal(EnterpriseCreditWorkflow.record_credit_event, signal)  # a retried one
    view = await wait_for(handle, lambda v: len(v.recorded) == 1)
    assert view.proceeding is None
    assert (view.rating, view.recorded_rating, view.points) == ("B", "B", 85)
    assert stored(case_worker.store, code) == [
        "CreditRecordOpened",
        "RatingChanged",
        "CreditEventRecorded",
        "RatingChanged",
    ]
    recorded = case_worker.store.read_stream(credit_stream_id(code))[2]
    assert recorded.data["case_event_id"] == signal.event_id
    assert recorded.metadata["causation_id"] == signal.event_id

    # Two escalations more: the third within 12 months is a trigger of the default policy.
    for _ in range(2):
        await handle.signal(
            EnterpriseCreditWorkflow.record_credit_event, case_signal(code, "escalation", now)
        )
    view = await wait_for(handle, lambda v: v.proceeding is None and len(v.recorded) == 3)
    assert view.points == 75
    await handle.signal(
        EnterpriseCreditWorkflow.record_credit_event, case_signal(code, "escalation", now)
    )
    view = await wait_for(handle, lambda v: v.proceeding is not None)
    assert view.proceeding is not None
    assert view.proceeding["trigger"].startswith("escalations_3_within")
    assert (view.rating, view.points) == ("C", 70)
    # Counted events age out of the rating's 12-month window: the grade comes back.
    await case_worker.env.sleep(timedelta(days=400))
    view = await handle.query(EnterpriseCreditWorkflow.credit)
    assert (view.rating, view.points) == ("A", 100)
    assert_store_matches_workflow(case_worker.store, code, view)


async def test_the_record_continues_as_new_without_losing_state_or_a_signal(
    dev_worker: RunningWorker, short_window_settings: Settings
):
    # On the real server: its continue-as-new is atomic with the signals that arrive meanwhile
    # (the time-skipping test server's is not), which is the property under test.
    worker = dev_worker
    code = new_credit_code()
    handle = await start_credit(worker, code, continue_as_new_after_events=40)
    first_run = (await handle.describe()).run_id
    now = await worker.env.get_current_time()
    await handle.signal(
        EnterpriseCreditWorkflow.record_credit_event, case_signal(code, "refusal", now)
    )
    view = await wait_for(handle, lambda v: v.proceeding is not None)
    objection_until = view.pending_timers[0]["due_at"]

    # A burst of case signals (each also sent twice, as a retried activity would) while the
    # workflow keeps handing over to new runs.
    signals = [case_signal(code, "enforcement_referral", now) for _ in range(24)]

    async def send(batch_no: int) -> None:
        for s in signals[batch_no::4]:
            await handle.signal(EnterpriseCreditWorkflow.record_credit_event, s)
            await handle.signal(EnterpriseCreditWorkflow.record_credit_event, s)

    await asyncio.gather(*(send(i) for i in range(4)))
    view = await wait_for(handle, lambda v: len(v.recorded) == 25, what="(all 25 entries)")
    await asyncio.sleep(0.3)  # no late duplicate either
    view = await handle.query(EnterpriseCreditWorkflow.credit)
    assert len(view.recorded) == 25
    assert view.runs > 2, "the history threshold made the workflow continue as new"
    assert (await handle.describe()).run_id != first_run

    records = [
        e
        for e in worker.store.read_stream(credit_stream_id(code))
        if e.event_type == "CreditEventRecorded"
    ]
    assert len(records) == 25
    assert {e.data["case_event_id"] for e in records} >= {s.event_id for s in signals}
    # The proceeding opened in the first run still has its timer in a later run, and it fires
    # there (the test policy's objection window: 20 s of the real clock, longer than the burst).
    assert view.proceeding is not None
    assert view.pending_timers[0]["due_at"] == objection_until
    view = await wait_for(
        handle, lambda v: bool(v.proceeding and v.proceeding["window_closed"]), timeout=30
    )
    policy = parse_policy(short_window_settings.policy_file.read_text(encoding="utf-8"))
    deductions = policy.credit.rating.deductions
    points = 100 - deductions["refusal"] - 24 * deductions["enforcement_referral"]
    assert (view.rating, view.points) == ("D", points)
    assert_store_matches_workflow(worker.store, code, view)
