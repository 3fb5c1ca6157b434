"""A burst of case signals cannot grow one run of the credit workflow past its history
threshold: the run stops handling signals at the threshold and carries the rest to the next
run, which handles them first — none lost, none recorded twice."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType

from tests.workflows.conftest import RunningWorker
from tests.workflows.credit_helpers import (
    assert_store_matches_workflow,
    case_signal,
    new_credit_code,
    start_credit,
    wait_for,
)
from workflows.credit import EnterpriseCreditWorkflow
from workflows.ids import credit_stream_id, credit_workflow_id

THRESHOLD = 60
# What one handled signal costs in history at most: a workflow task (3 events), the append
# activity (3) and the notification activity (3), and the task that follows it (3).
ONE_STEP = 12


async def _run_histories(worker: RunningWorker, credit_code: str, first_run: str):  # type: ignore[no-untyped-def]
    """Every run's history, first to last, following the continued-as-new chain."""
    run_id: str | None = first_run
    histories = []
    while run_id:
        handle = worker.client.get_workflow_handle(credit_workflow_id(credit_code), run_id=run_id)
        history = await handle.fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else None
        )
    return histories


async def test_a_burst_of_signals_is_carried_over_instead_of_overfilling_a_run(
    dev_worker: RunningWorker,
):
    # On the real server, whose continue-as-new is atomic with arriving signals.
    case_worker = dev_worker
    code = new_credit_code()
    handle = await start_credit(case_worker, code, continue_as_new_after_events=THRESHOLD)
    first_run = (await handle.describe()).run_id
    assert first_run is not None
    now = await case_worker.env.get_current_time()
    signals = [case_signal(code, "escalation", now) for _ in range(30)]
    # All at once, so that one run's inbox holds far more than its threshold allows.
    await asyncio.gather(
        *(handle.signal(EnterpriseCreditWorkflow.record_credit_event, s) for s in signals)
    )
    view = await wait_for(handle, lambda v: len(v.recorded) == 30, what="(all 30 entries)")

    histories = await _run_histories(case_worker, code, first_run)
    assert len(histories) > 2, "the burst should span several runs"
    for number, history in enumerate(histories, start=1):
        # Signals land in history whenever they arrive; what the run itself adds is bounded.
        own = [
            e
            for e in history.events
            if e.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
        # One step may cross the threshold; the slack of a second covers what a loaded
        # machine adds (a workflow task that times out and is retried). Handling the whole
        # burst in one run, as before, costs some 270 events.
        assert len(own) <= THRESHOLD + 2 * ONE_STEP, (
            f"run {number} of {len(histories)} grew to {len(own)} events of its own"
        )
    recorded_ids = [
        e.data["case_event_id"]
        for e in case_worker.store.read_stream(credit_stream_id(code))
        if e.event_type == "CreditEventRecorded"
    ]
    assert sorted(recorded_ids) == sorted(s.event_id for s in signals)
    assert_store_matches_workflow(case_worker.store, code, view)
