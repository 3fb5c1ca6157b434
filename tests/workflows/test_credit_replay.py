"""Recordings of the enterprise credit workflow for the replay gates.

A credit record lives for years, so its workflow changes are gated like the case's: the
histories recorded here are committed under tests/histories/ and replayed (kind and order of
commands in test_case_replay.py, the activity inputs in test_replay_inputs.py). Record them
again, after a change that is meant to be new behaviour for new records only, with

    DUBAN_RECORD_HISTORIES=1 .venv/bin/pytest tests/workflows/test_credit_replay.py

after deleting the files deliberately: a recorder never writes over a committed history.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from domain.credit.commands import (
    ApplyEarlyRemoval,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
)
from tests.workflows.conftest import RunningWorker
from tests.workflows.credit_helpers import (
    ENTERPRISE,
    SUPERVISOR,
    as_input,
    case_signal,
    new_credit_code,
    start_credit,
    wait_for,
)
from tests.workflows.history_files import HISTORIES, refuse_to_overwrite, write_history
from workflows.credit import EnterpriseCreditWorkflow
from workflows.ids import credit_workflow_id

RECORDING = os.environ.get("DUBAN_RECORD_HISTORIES") == "1"
CREDIT_HISTORIES = ("credit-blacklist-course", "credit-continued-as-new")


def test_credit_histories_are_committed_to_gate_workflow_changes():
    committed = {path.stem for path in HISTORIES.glob("*.json")}
    assert set(CREDIT_HISTORIES) <= committed


@pytest.mark.skipif(not RECORDING, reason="set DUBAN_RECORD_HISTORIES=1 to record histories")
async def test_record_credit_histories_from_real_runs(case_worker: RunningWorker):
    for name in CREDIT_HISTORIES:  # before the minutes of recording, not after them
        refuse_to_overwrite(HISTORIES / f"{name}.json")
    env = case_worker.env
    code = new_credit_code()
    handle = await start_credit(case_worker, code)
    now = await env.get_current_time()
    await handle.signal(
        EnterpriseCreditWorkflow.record_credit_event,
        case_signal(code, "major_overdue_at_top", now),
    )
    view = await wait_for(handle, lambda v: v.proceeding is not None)
    await handle.execute_update(
        EnterpriseCreditWorkflow.file_objection,
        as_input(FileObjection(actor=ENTERPRISE, statement="逾期系设备采购延误")),
    )
    await env.sleep(timedelta(days=20))
    await wait_for(handle, lambda v: v.proceeding and v.proceeding["window_closed"])
    view = await handle.execute_update(
        EnterpriseCreditWorkflow.decide_listing,
        as_input(DecideListing(actor=SUPERVISOR, list_enterprise=True, basis="应急管理部令第11号")),
    )
    assert view.blacklist is not None
    await env.sleep(timedelta(days=370))
    await handle.execute_update(
        EnterpriseCreditWorkflow.apply_early_removal,
        as_input(ApplyEarlyRemoval(actor=ENTERPRISE, statement="已完成整改并通过复查")),
    )
    view = await handle.execute_update(
        EnterpriseCreditWorkflow.decide_early_removal,
        as_input(DecideEarlyRemoval(actor=SUPERVISOR, approve=True, reason="符合信用修复条件")),
    )
    assert not view.is_blacklisted
    await save(await _run(case_worker, code, latest=True), "credit-blacklist-course")

    code = new_credit_code()
    handle = await start_credit(case_worker, code, continue_as_new_after_events=40)
    first_run = (await handle.describe()).run_id
    now = await env.get_current_time()
    signals = [case_signal(code, "escalation", now) for _ in range(12)]
    await asyncio.gather(
        *(handle.signal(EnterpriseCreditWorkflow.record_credit_event, s) for s in signals)
    )
    await wait_for(handle, lambda v: len(v.recorded) == 12)
    first = case_worker.client.get_workflow_handle(credit_workflow_id(code), run_id=first_run)
    history = await first.fetch_history()
    assert history.events[-1].event_type == (
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    ), "the recorded run should end by continuing as new"
    await save(first, "credit-continued-as-new")


async def _run(worker: RunningWorker, code: str, *, latest: bool) -> WorkflowHandle[Any, Any]:
    handle = worker.client.get_workflow_handle(credit_workflow_id(code))
    if latest:
        run_id = (await handle.describe()).run_id
        handle = worker.client.get_workflow_handle(credit_workflow_id(code), run_id=run_id)
    return handle


async def save(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """Write the record's history as ``name``; an existing file is never recorded over."""
    write_history(await handle.fetch_history(), HISTORIES / f"{name}.json")
