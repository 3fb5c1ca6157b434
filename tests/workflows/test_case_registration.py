"""A registration the case cannot be recorded with fails the case at once, naming the rule,
and stores nothing — it never wedges a workflow that retries a task for ever."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from domain.case import command_to_data
from domain.case.commands import RegisterHazard
from domain.credit_code import make_credit_code
from tests.domain.domain_builders import ENTERPRISE, register
from tests.workflows.case_helpers import start_case
from tests.workflows.conftest import RunningWorker
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CaseWorkflowInput
from workflows.ids import case_workflow_id


async def start_raw(
    worker: RunningWorker, workflow_id: str, command: RegisterHazard
) -> WorkflowHandle[Any, Any]:
    worker.started.append(workflow_id)
    return await worker.client.start_workflow(
        SupervisedCaseWorkflow.run,
        CaseWorkflowInput(command_to_data(command)),
        id=workflow_id,
        task_queue=worker.task_queue,
    )


async def failure_of(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def registration(worker: RunningWorker, **fields: Any) -> RegisterHazard:
    now = await worker.env.get_current_time()
    enterprise = replace(
        ENTERPRISE, credit_code=make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    )
    fields.setdefault("found_at", now.replace(microsecond=0))
    return register(enterprise=enterprise, **fields)


async def test_a_hazard_id_no_case_stream_can_be_named_by_fails_the_case_at_once(
    case_worker: RunningWorker,
):
    command = await registration(case_worker, hazard_id="H bad/1")
    handle = await start_raw(case_worker, f"case-bad-{uuid.uuid4().hex[:8]}", command)
    cause = await failure_of(handle)
    assert cause.type == "case.register.hazard_id_pattern"
    assert "1-80 characters" in cause.message


async def test_text_the_record_cannot_hold_fails_a_new_case_at_once(
    case_worker: RunningWorker, unique_hazard_id: str
):
    command = await registration(
        case_worker, hazard_id=unique_hazard_id, description="配电箱\x00门未关闭"
    )
    handle = await start_raw(case_worker, case_workflow_id(unique_hazard_id), command)
    cause = await failure_of(handle)
    assert cause.type == "input.text_invalid"
    assert cause.details and cause.details[0]["field"] == "description"
    assert case_worker.store.read_stream(f"case-{unique_hazard_id}") == []


async def test_an_instant_outside_the_supported_years_fails_a_new_case_at_once(
    case_worker: RunningWorker, unique_hazard_id: str
):
    command = await registration(
        case_worker,
        hazard_id=unique_hazard_id,
        deadline=datetime.fromisoformat("9999-12-31T23:59:59-05:00"),
    )
    handle = await start_raw(case_worker, case_workflow_id(unique_hazard_id), command)
    cause = await failure_of(handle)
    assert cause.type == "time.out_of_range"
    assert cause.details and cause.details[0]["field"] == "deadline"
    assert case_worker.store.read_stream(f"case-{unique_hazard_id}") == []


async def test_a_second_registration_of_a_recorded_case_fails_at_once_and_stores_nothing(
    case_worker: RunningWorker, unique_hazard_id: str
):
    """The case's stream already holds a registration (its first workflow was terminated):
    the store refuses the append for good, and the new run fails instead of retrying."""
    handle, command = await start_case(case_worker, unique_hazard_id)
    stored = case_worker.store.read_stream(f"case-{unique_hazard_id}")
    await handle.terminate("operator ended the first run")
    again = await start_raw(case_worker, case_workflow_id(unique_hazard_id), command)
    cause = await failure_of(again)
    assert cause.type == "case.register.unrecordable"
    assert case_worker.store.read_stream(f"case-{unique_hazard_id}") == stored
