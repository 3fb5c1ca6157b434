"""A public report (举报) as a durable workflow on the time-skipping server: received and assigned,
reminded before its verify-by, alerted up the grid after it, substantiated with its linked cases
and rewarded per the policy; dismissed with a reason it ends at once. A history of it gates
replay. Record it (after deleting it deliberately) with

    DUBAN_RECORD_HISTORY=public-report-alerted-substantiated-rewarded .venv/bin/pytest \\
        tests/workflows/test_public_report.py
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from activities.eventstore import EventStore
from domain.case.commands import Actor, Role
from domain.case.events import HazardClass
from domain.public_report import (
    DecideReward,
    DismissReport,
    ReceivePublicReport,
    SubstantiateReport,
    fold_report,
    report_command_to_data,
    report_event_from_data,
)
from tests.domain.domain_builders import COUNTY_SUPERVISOR, PATH, VILLAGE_SUPERVISOR
from tests.workflows.conftest import RunningWorker
from tests.workflows.history_files import HISTORIES, refuse_to_overwrite
from tests.workflows.test_case_replay_people import save
from workflows.contracts import PublicReportCommandInput, PublicReportWorkflowInput
from workflows.ids import public_report_stream_id, public_report_workflow_id
from workflows.public_report import PublicReportWorkflow

HISTORY = "public-report-alerted-substantiated-rewarded"
RECORDING = HISTORY in os.environ.get("DUBAN_RECORD_HISTORY", "").split(",")
PUBLIC = Actor("public", Role.SYSTEM)


def new_report_id() -> str:
    return "R-" + secrets.token_hex(12)


async def receive(worker: RunningWorker, report_id: str) -> WorkflowHandle[Any, Any]:
    command = ReceivePublicReport(
        actor=PUBLIC,
        report_id=report_id,
        grid_path=PATH,
        credit_code=None,
        enterprise_name=None,
        place="东关社区农贸市场北侧仓库",
        description="仓库内违规存放液化气钢瓶",
        identity_digest="c" * 64,
    )
    worker.started.append(public_report_workflow_id(report_id))
    handle = await worker.client.start_workflow(
        PublicReportWorkflow.run,
        PublicReportWorkflowInput(report_command_to_data(command), correlation_id="test"),
        id=public_report_workflow_id(report_id),
        task_queue=worker.task_queue,
    )
    for _ in range(600):
        if (await handle.query(PublicReportWorkflow.state)).version >= 1:
            return handle
        await asyncio.sleep(0.05)
    raise AssertionError("the report was never received")


def command(cmd: Any) -> PublicReportCommandInput:
    return PublicReportCommandInput(report_command_to_data(cmd))


def stored(store: EventStore, report_id: str) -> list[str]:
    return [e.event_type for e in store.read_stream(public_report_stream_id(report_id))]


async def test_an_unverified_report_is_reminded_alerted_up_the_grid_then_substantiated_and_rewarded(
    case_worker: RunningWorker, store: EventStore
):
    report_id = new_report_id()
    handle = await receive(case_worker, report_id)
    from datetime import timedelta

    await case_worker.env.sleep(timedelta(days=38))  # P30D, reminder P3D before, alert P7D
    assert stored(store, report_id) == [
        "PublicReportReceived",
        "PublicReportReminderDue",
        "PublicReportVerificationOverdue",
        "PublicReportVerificationOverdue",
    ]
    view = await handle.execute_update(
        PublicReportWorkflow.substantiate,
        command(SubstantiateReport(VILLAGE_SUPERVISOR, ("H-20250303-abc",), "属实")),
    )
    assert view.status == "substantiated" and view.pending_timers == [], view
    with pytest.raises(Exception) as refused:
        await handle.execute_update(
            PublicReportWorkflow.decide_reward,
            command(DecideReward(VILLAGE_SUPERVISOR, HazardClass.GENERAL)),
        )
    assert "public_report.reward.level" in repr(refused.value.__cause__ or refused.value)
    view = await handle.execute_update(
        PublicReportWorkflow.decide_reward,
        command(DecideReward(COUNTY_SUPERVISOR, HazardClass.MAJOR, fine_yuan=40_000)),
    )
    assert (view.status, view.reward_yuan) == ("rewarded", 6_000), view
    records = store.read_stream(public_report_stream_id(report_id))
    state = fold_report(report_event_from_data(e.event_type, e.data) for e in records)
    assert state is not None and state.status == "rewarded" and state.version == view.version
    assert all(
        v != "c" * 64
        for e in records
        for v in e.data.values()
        if e.event_type != "PublicReportReceived"
    )


async def test_a_dismissed_report_ends_its_workflow(case_worker: RunningWorker, store: EventStore):
    report_id = new_report_id()
    handle = await receive(case_worker, report_id)
    view = await handle.execute_update(
        PublicReportWorkflow.dismiss,
        command(DismissReport(VILLAGE_SUPERVISOR, "现场核查, 仓库已清空, 未见钢瓶")),
    )
    assert view.status == "dismissed", view
    result = await handle.result()
    assert result.status == "dismissed"
    assert stored(store, report_id) == ["PublicReportReceived", "PublicReportDismissed"]


@pytest.mark.skipif(not RECORDING, reason=f"set DUBAN_RECORD_HISTORY={HISTORY} to record it")
async def test_record_a_report_alerted_substantiated_and_rewarded(case_worker: RunningWorker):
    from datetime import timedelta

    refuse_to_overwrite(HISTORIES / f"{HISTORY}.json")
    handle = await receive(case_worker, "R-" + "0" * 23 + "1")
    await case_worker.env.sleep(timedelta(days=31))
    await handle.execute_update(
        PublicReportWorkflow.substantiate,
        command(SubstantiateReport(VILLAGE_SUPERVISOR, ("H-20250303-abc",), "属实")),
    )
    await handle.execute_update(
        PublicReportWorkflow.decide_reward,
        command(DecideReward(COUNTY_SUPERVISOR, HazardClass.GENERAL)),
    )
    await save(handle, HISTORY)
