"""Tells an enterprise's credit workflow about a case event that counts on its record.

Signal-with-start: the credit workflow (one per enterprise, id from its credit code) is started
if it is not running, and the signal is delivered either way. The signal carries the case
event's id, so the credit workflow drops a repeat when this activity is retried.
"""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.client import Client

from workflows.contracts import (
    CREDIT_EVENT_SIGNAL,
    CREDIT_WORKFLOW,
    CreditSignalInput,
    CreditWorkflowInput,
)
from workflows.ids import credit_workflow_id

log = structlog.get_logger(__name__)


class CreditLinkActivities:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name="signal_credit_workflow")
    async def signal_credit_workflow(self, request: CreditSignalInput) -> str:
        workflow_id = credit_workflow_id(request.credit_code)
        handle = await self._client.start_workflow(
            CREDIT_WORKFLOW,
            CreditWorkflowInput(
                credit_code=request.credit_code,
                enterprise_name=request.enterprise_name,
                grid_code=request.grid_code,
            ),
            id=workflow_id,
            task_queue=self._task_queue,
            start_signal=CREDIT_EVENT_SIGNAL,
            start_signal_args=[request],
        )
        log.info(
            "credit.signalled",
            workflow_id=workflow_id,
            case_event_id=request.event_id,
            event_type=request.event_type,
        )
        return handle.result_run_id or ""
