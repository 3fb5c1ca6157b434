"""Replay gate: histories recorded from real runs (committed under tests/histories/) must
replay with the current workflow code. A change that running cases could not survive fails
here and needs ``workflow.patched``. Record new histories with

    DUBAN_RECORD_HISTORIES=1 .venv/bin/pytest tests/workflows/test_case_replay.py

and the policy-edition-2 history (its own switch: the others stay as they were recorded) with

    DUBAN_RECORD_HISTORY=case-edition-2-late-failure .venv/bin/pytest \
        tests/workflows/test_case_replay.py -k edition_2

A recorder never writes over a committed history: delete the file deliberately first. The
histories of the people's commands under edition 2 are recorded by test_case_replay_people.py.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from domain.case.commands import DecideExtension, RequestExtension, SubmitGovernancePlan
from tests.domain.domain_builders import PLAN
from tests.workflows.case_helpers import (
    ENTERPRISE,
    SUPERVISOR,
    as_input,
    report,
    start_case,
    verify,
)
from tests.workflows.conftest import RunningWorker
from tests.workflows.history_files import HISTORIES, refuse_to_overwrite, write_history
from worker import WORKFLOWS, workflow_runner
from workflows.case import SupervisedCaseWorkflow

RECORDING = os.environ.get("DUBAN_RECORD_HISTORIES") == "1"
EDITION_2_HISTORY = "case-edition-2-late-failure"
RECORDING_EDITION_2 = os.environ.get("DUBAN_RECORD_HISTORY") == EDITION_2_HISTORY


def committed_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def test_histories_are_committed_to_gate_workflow_changes():
    names = {path.stem for path in committed_histories()}
    assert {
        "case-rectified-on-time",
        "case-escalated-to-top",
        "case-major-listed",
        EDITION_2_HISTORY,  # a case decided under policy edition 2 (see below)
    } <= names


@pytest.mark.parametrize("path", committed_histories(), ids=lambda p: p.stem)
async def test_a_committed_history_replays_with_the_current_code(path: Path):
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@pytest.mark.skipif(not RECORDING, reason="set DUBAN_RECORD_HISTORIES=1 to record histories")
async def test_record_histories_from_real_runs(case_worker: RunningWorker):
    for name in ("case-rectified-on-time", "case-escalated-to-top", "case-major-listed"):
        refuse_to_overwrite(HISTORIES / f"{name}.json")
    handle, _ = await start_case(case_worker, "H-hist-ontime")
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    # Not handle.result(): on the time-skipping server, waiting for a result lets it skip
    # ahead to its next internal timer (years), which would move the next case's clock.
    await save(handle, "case-rectified-on-time")

    handle, _ = await start_case(case_worker, "H-hist-top")
    for _ in range(6):
        await case_worker.env.sleep(timedelta(days=40))
    view = await handle.query(SupervisedCaseWorkflow.state)
    assert view.status == "referred", view
    await save(handle, "case-escalated-to-top")

    handle, _ = await start_case(case_worker, "H-hist-major", major=True)
    await handle.execute_update(
        SupervisedCaseWorkflow.submit_governance_plan,
        as_input(SubmitGovernancePlan(actor=ENTERPRISE, plan=PLAN)),
    )
    await case_worker.env.sleep(timedelta(days=30))
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    await save(handle, "case-major-listed")


@pytest.mark.skipif(
    not RECORDING_EDITION_2, reason=f"set DUBAN_RECORD_HISTORY={EDITION_2_HISTORY} to record it"
)
async def test_record_an_edition_2_history_from_a_real_run(case_worker: RunningWorker):
    """A general case under the shipped (edition 2) policy: a verification failed after the
    deadline escalates it; an extension asked for at the township is decided late, after the
    decision alert; the rectification is then verified. Its replay gates those rules."""
    refuse_to_overwrite(HISTORIES / f"{EDITION_2_HISTORY}.json")
    handle, command = await start_case(case_worker, "H-hist-ed2")
    deadline = datetime.fromisoformat((await handle.query(SupervisedCaseWorkflow.state)).deadline)
    await case_worker.env.sleep(timedelta(days=10))
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    await case_worker.env.sleep(
        deadline + timedelta(days=1) - await case_worker.env.get_current_time()
    )
    view = await handle.execute_update(
        SupervisedCaseWorkflow.verify_rectification, verify(False, comments="仍未整改到位")
    )
    assert view.escalation_index == 1, view
    township = datetime.fromisoformat(view.deadline)
    await handle.execute_update(
        SupervisedCaseWorkflow.request_extension,
        as_input(
            RequestExtension(
                actor=ENTERPRISE,
                requested_deadline=township + timedelta(days=20),
                reasons="设备供货延迟",
                interim_safeguards="临时围挡, 专人值守",
            )
        ),
    )
    await case_worker.env.sleep(timedelta(days=4))  # past decide_by (2 working days)
    view = await handle.execute_update(
        SupervisedCaseWorkflow.decide_extension,
        as_input(DecideExtension(actor=SUPERVISOR, approve=True, reason="同意 (审批超时)")),
    )
    assert datetime.fromisoformat(view.deadline) == township + timedelta(days=20), view
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report("已整改"))
    view = await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    assert view.status == "closed", view
    assert command.enterprise.credit_code
    await save(handle, EDITION_2_HISTORY)


async def save(handle, name: str) -> None:  # type: ignore[no-untyped-def]
    """Write the case's history as ``name``; an existing file is never recorded over."""
    refuse_to_overwrite(HISTORIES / f"{name}.json")
    for _ in range(100):  # a closed case's workflow completes once its handlers finish
        if (await handle.describe()).status.name != "RUNNING" or name.endswith("top"):
            break
        await asyncio.sleep(0.05)
    write_history(await handle.fetch_history(), HISTORIES / f"{name}.json")
