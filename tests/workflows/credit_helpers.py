"""Builders and checks shared by the credit-workflow tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.eventstore import EventStore
from domain.case.commands import Actor, Role
from domain.credit import (
    credit_command_to_data,
    credit_event_from_data,
    credit_state_to_data,
    fold_credit,
)
from domain.credit.commands import CreditCommand
from domain.credit_code import make_credit_code
from tests.domain.domain_builders import COUNTY, supervisor_of
from tests.workflows.conftest import RunningWorker
from workflows.contracts import (
    CreditCommandInput,
    CreditSignalInput,
    CreditView,
    CreditWorkflowInput,
)
from workflows.credit import EnterpriseCreditWorkflow
from workflows.ids import credit_stream_id, credit_workflow_id

ENTERPRISE = Actor("ent-credit", Role.ENTERPRISE)
# The county bureau's supervisor: [credit] decided_by_level = "county" in the shipped policies.
SUPERVISOR = supervisor_of("sup-credit", COUNTY)
GRID = "P37-C07-X82-T03-V11"


def new_credit_code() -> str:
    return make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())


async def start_credit(
    worker: RunningWorker, credit_code: str, **fields: Any
) -> WorkflowHandle[Any, Any]:
    worker.started.append(credit_workflow_id(credit_code))
    handle = await worker.client.start_workflow(
        EnterpriseCreditWorkflow.run,
        CreditWorkflowInput(credit_code, "诸城某化工有限公司", GRID, **fields),
        id=credit_workflow_id(credit_code),
        task_queue=worker.task_queue,
    )
    await wait_for(handle, lambda v: v.version >= 1)
    # Without a run id the handle follows the workflow into each continued-as-new run.
    return worker.client.get_workflow_handle(credit_workflow_id(credit_code))


def case_signal(
    credit_code: str, kind: str, at: datetime, *, case_id: str | None = None
) -> CreditSignalInput:
    """What a case's ``signal_credit_workflow`` activity sends for a ``CreditTriggerRaised``."""
    return CreditSignalInput(
        credit_code=credit_code,
        enterprise_name="诸城某化工有限公司",
        grid_code=GRID,
        event_id=str(uuid.uuid4()),
        event_type="CreditTriggerRaised",
        event={
            "case_id": case_id or f"H-{uuid.uuid4().hex[:10]}",
            "credit_code": credit_code,
            "kind": kind,
            "hazard_class": "major",
            "at": at.isoformat(),
        },
    )


def as_input(command: CreditCommand) -> CreditCommandInput:
    return CreditCommandInput(credit_command_to_data(command))


async def wait_for(
    handle: WorkflowHandle[Any, Any],
    ready: Callable[[CreditView], bool],
    *,
    what: str = "",
    timeout: float = 15,
) -> CreditView:
    view: CreditView | None = None
    for _ in range(int(timeout / 0.05)):
        try:
            view = await handle.query(EnterpriseCreditWorkflow.credit)
        except RPCError as exc:
            # While runs hand over (continue-as-new) on a loaded machine a query can time out
            # before the new run's first task completes; the next attempt reaches it.
            if exc.status is not RPCStatusCode.DEADLINE_EXCEEDED:
                raise
            continue
        if ready(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"the credit record never got there {what}: {view}")


def stored(store: EventStore, credit_code: str) -> list[str]:
    return [e.event_type for e in store.read_stream(credit_stream_id(credit_code))]


def assert_store_matches_workflow(store: EventStore, credit_code: str, view: CreditView) -> None:
    """The workflow's state is exactly the fold of the enterprise's stored credit events."""
    recorded = store.read_stream(credit_stream_id(credit_code))
    state = fold_credit(
        [credit_event_from_data(e.event_type, e.schema_version, e.data) for e in recorded]
    )
    assert credit_state_to_data(state) == view.state
    assert len(recorded) == view.version
    assert [e.stream_version for e in recorded] == list(range(1, len(recorded) + 1))


def outbox(store: EventStore, credit_code: str) -> list[tuple[str, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT recipient_kind, recipient_id, payload->>'event_type'"
                " FROM notification_outbox WHERE case_id = :c ORDER BY id"
            ),
            {"c": credit_stream_id(credit_code)},
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]
