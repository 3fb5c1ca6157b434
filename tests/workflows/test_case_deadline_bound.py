"""A deadline a person gives lies at most the policy's longest rectification period ahead:
refused where a command is accepted — a new case's start (behind a ``workflow.patched`` id) and
the update validators — and never where a recorded command is decided again, so a case that
accepted a far deadline before the rule still waits for it and replays unchanged."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest
from temporalio import workflow
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

import worker as worker_module
from activities.eventstore import EventStore
from activities.settings import Settings
from domain.case.commands import ListHazard
from domain.policy import ListingLevel
from tests.workflows.case_helpers import SUPERVISOR, as_input, eventually, start_case
from tests.workflows.conftest import RunningWorker
from tests.workflows.test_case_registration import failure_of, registration, start_raw
from worker import WORKFLOWS, build_worker, workflow_runner
from workflows.case import REGISTRATION_DEADLINE_BOUNDED, SupervisedCaseWorkflow
from workflows.ids import case_workflow_id

TWO_YEARS = timedelta(days=730)


async def test_a_registration_deadline_beyond_the_policys_longest_period_fails_a_new_case(
    case_worker: RunningWorker, unique_hazard_id: str
):
    now = await case_worker.env.get_current_time()
    command = await registration(
        case_worker, hazard_id=unique_hazard_id, deadline=(now + TWO_YEARS).replace(microsecond=0)
    )
    handle = await start_raw(case_worker, case_workflow_id(unique_hazard_id), command)
    cause = await failure_of(handle)
    assert cause.type == "case.deadline.beyond_policy"
    assert cause.details and cause.details[0]["field"] == "deadline"
    assert "P1Y" in cause.message  # the default policy's longest: a listing's year
    assert case_worker.store.read_stream(f"case-{unique_hazard_id}") == []


async def test_a_listing_deadline_beyond_the_policys_longest_period_is_refused_by_the_validator(
    case_worker: RunningWorker, unique_hazard_id: str
):
    handle, _ = await start_case(case_worker, unique_hazard_id)
    before = (await handle.query(SupervisedCaseWorkflow.state)).version
    now = await case_worker.env.get_current_time()
    listing = ListHazard(
        actor=SUPERVISOR,
        level=ListingLevel.COUNTY,
        measures="停用并更换",
        deadline=now + TWO_YEARS,
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(SupervisedCaseWorkflow.list_hazard, as_input(listing))
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "case.deadline.beyond_policy"
    assert (await handle.query(SupervisedCaseWorkflow.state)).version == before


@asynccontextmanager
async def earlier_release(
    env: WorkflowEnvironment, settings: Settings, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningWorker]:
    """A worker running the code as it was before the bound: ``workflow.patched`` says no for
    REGISTRATION_DEADLINE_BOUNDED (and records no marker), as the earlier code never asked.
    Unsandboxed, so that the stand-in reaches the workflow."""
    real = workflow.patched

    def before_the_bound(patch_id: str) -> bool:
        return False if patch_id == REGISTRATION_DEADLINE_BOUNDED else real(patch_id)

    monkeypatch.setattr(workflow, "patched", before_the_bound)
    monkeypatch.setattr(worker_module, "workflow_runner", UnsandboxedWorkflowRunner)
    task_queue = f"earlier-{uuid.uuid4().hex[:8]}"
    parts = build_worker(env.client, settings, store, task_queue)
    running = RunningWorker(env, env.client, task_queue, store, store.engine)
    try:
        async with parts.worker:
            yield running
            await running.terminate_started()
    finally:
        parts.executor.shutdown(wait=False)
        monkeypatch.undo()


async def test_a_case_that_accepted_a_far_deadline_before_the_bound_waits_for_it_and_replays(
    time_skipping_env: WorkflowEnvironment,
    test_settings: Settings,
    store: EventStore,
    monkeypatch: pytest.MonkeyPatch,
    unique_hazard_id: str,
):
    """Within the supported years, however far: the workflow re-arms a timer it can hold
    (at most ten years) instead of asking the server for one of millennia. Such a case was
    accepted before the bound; its history replays with the current code."""
    far = datetime.fromisoformat("9998-12-31T23:59:59-05:00")
    async with earlier_release(time_skipping_env, test_settings, store, monkeypatch) as old:
        handle, _ = await start_case(old, unique_hazard_id, deadline=far)
        view = await handle.query(SupervisedCaseWorkflow.state)
        assert view.status == "rectifying" and datetime.fromisoformat(view.deadline or "") == far
        assert (await handle.describe()).status.name == "RUNNING"
        # The timer is armed in the task after the registration's last activity.
        history = await eventually(
            handle.fetch_history,
            lambda h: any(e.HasField("timer_started_event_attributes") for e in h.events),
            "the case's timer",
        )
    failures = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    assert failures == []
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.HasField("timer_started_event_attributes")
    ]
    assert timers and max(timers) <= timedelta(days=3650)

    assert workflow.patched.__name__ == "patched", "the current code replays it"
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
