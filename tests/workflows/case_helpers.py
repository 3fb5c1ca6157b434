"""Builders and checks shared by the case-workflow tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import WorkflowHandle

from activities.eventstore import EventStore
from domain.case import command_to_data, event_from_data, fold, state_to_data
from domain.case.commands import (
    Actor,
    CaseCommand,
    RegisterHazard,
    ReportRectification,
    Role,
    VerifyRectification,
)
from domain.credit_code import make_credit_code
from tests.domain.domain_builders import COUNTY, PHOTO, register, register_major, supervisor_of
from tests.domain.domain_builders import ENTERPRISE as ENTERPRISE_OF_TESTS
from tests.workflows.conftest import RunningWorker
from workflows import search_attributes as sa
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CaseCommandInput, CaseView, CaseWorkflowInput
from workflows.ids import case_stream_id, case_workflow_id, credit_workflow_id

T = TypeVar("T")

INSPECTOR = Actor("insp-1", Role.INSPECTOR)
ENTERPRISE = Actor("ent-1", Role.ENTERPRISE)
# The county bureau's supervisor (on the path of every case the builders register).
SUPERVISOR = supervisor_of("sup-1", COUNTY)


async def start_case(
    worker: RunningWorker, hazard_id: str, *, major: bool = False, **overrides: Any
) -> tuple[WorkflowHandle[Any, Any], RegisterHazard]:
    now = await worker.env.get_current_time()
    build = register_major if major else register
    # An enterprise of the test's own: its credit workflow must not outlive the test's worker.
    enterprise = replace(
        ENTERPRISE_OF_TESTS,
        credit_code=make_credit_code("91370782" + uuid.uuid4().hex[:9].upper()),
    )
    overrides.setdefault("enterprise", enterprise)
    command = build(hazard_id=hazard_id, found_at=now - timedelta(hours=1), **overrides)
    worker.started += [
        case_workflow_id(hazard_id),
        credit_workflow_id(command.enterprise.credit_code),
    ]
    handle = await worker.client.start_workflow(
        SupervisedCaseWorkflow.run,
        CaseWorkflowInput(command_to_data(command), correlation_id=f"test-{hazard_id}"),
        id=case_workflow_id(hazard_id),
        task_queue=worker.task_queue,
    )
    await wait_for_version(handle, 1)
    return handle, command


async def wait_for_version(handle: WorkflowHandle[Any, Any], version: int) -> CaseView:
    import asyncio

    for _ in range(600):  # up to 30 s: the machine may be busy
        view = await handle.query(SupervisedCaseWorkflow.state)
        if view.version >= version:
            return view
        await asyncio.sleep(0.05)
    description = await handle.describe()
    history = await handle.fetch_history()
    failures = [
        str(e.workflow_task_failed_event_attributes.failure.message)
        for e in history.events
        if e.HasField("workflow_task_failed_event_attributes")
    ]
    outcome = ""
    if description.status is not None and description.status.name == "FAILED":
        try:
            await handle.result()
        except Exception as exc:  # the workflow's failure, to show in the assertion
            outcome = repr(getattr(exc, "cause", exc))
    raise AssertionError(
        f"case never reached version {version}: {description.status}, "
        f"task failures {failures} {outcome}"
    )


async def search_attributes(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """What an operator sees in the Temporal UI (upserts reach the server with the task)."""
    attributes = (await handle.describe()).typed_search_attributes
    return {
        key.name: attributes.get(key)
        for key in (sa.CASE_STATUS, sa.CASE_LEVEL, sa.CASE_GRID, sa.CASE_LISTED, sa.CASE_DEADLINE)
    }


def as_input(command: CaseCommand) -> CaseCommandInput:
    return CaseCommandInput(command_to_data(command))


def report(summary: str = "配电箱已更换, 线路已整理") -> CaseCommandInput:
    return as_input(ReportRectification(actor=ENTERPRISE, summary=summary, evidence=(PHOTO,)))


def verify(passed: bool, **fields: Any) -> CaseCommandInput:
    return as_input(VerifyRectification(actor=SUPERVISOR, passed=passed, **fields))


def stored_types(store: EventStore, hazard_id: str) -> list[str]:
    return [e.event_type for e in store.read_stream(case_stream_id(hazard_id))]


def assert_store_matches_workflow(store: EventStore, hazard_id: str, view: CaseView) -> None:
    """The state the workflow holds is exactly the fold of the case's stored events."""
    recorded = store.read_stream(case_stream_id(hazard_id))
    state = fold(event_from_data(e.event_type, e.schema_version, e.data) for e in recorded)
    assert state_to_data(state) == view.state
    assert len(recorded) == view.version
    versions = [e.stream_version for e in recorded]
    assert versions == list(range(1, len(recorded) + 1))
    assert len({e.event_id for e in recorded}) == len(recorded)


def at(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)


async def eventually(check: Callable[[], Awaitable[T]], ready: Callable[[T], bool], what: str) -> T:
    """``check()`` until ``ready`` says yes (up to 30 s: the machine may be busy). For what a
    workflow does after the step a test waited for (a timer armed, a notification queued)."""
    import asyncio

    value = await check()
    for _ in range(600):
        if ready(value):
            return value
        await asyncio.sleep(0.05)
        value = await check()
    raise AssertionError(f"{what}: not seen within 30 s (last: {value!r})")
