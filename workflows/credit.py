"""The enterprise credit workflow (企业信用): one per enterprise, fed by its cases.

This first version records every credit-relevant case event on the enterprise's credit stream
exactly once (a case's retried signal carries the same event id) and stays open for more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import AppendEventsInput, CreditSignalInput, EventToAppend
    from workflows.ids import credit_stream_id


@dataclass
class CreditWorkflowInput:
    credit_code: str
    enterprise_name: str = ""
    grid_code: str = ""
    version: int = 0
    seen_event_ids: list[str] = field(default_factory=list)


@dataclass
class CreditView:
    credit_code: str
    version: int
    recorded: list[dict[str, Any]]


@workflow.defn(name="EnterpriseCredit")
class EnterpriseCreditWorkflow:
    @workflow.init
    def __init__(self, request: CreditWorkflowInput) -> None:
        self._request = request
        self._version = request.version
        self._seen = set(request.seen_event_ids)
        self._inbox: list[CreditSignalInput] = []
        self._recorded: list[dict[str, Any]] = []

    @workflow.run
    async def run(self, request: CreditWorkflowInput) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._inbox))
            signal = self._inbox.pop(0)
            if signal.event_id in self._seen:
                continue
            data = {
                "case_event_id": signal.event_id,
                "case_event_type": signal.event_type,
                **signal.event,
            }
            await workflow.execute_activity(
                "append_events",
                AppendEventsInput(
                    stream_id=credit_stream_id(request.credit_code),
                    expected_version=self._version,
                    events=[
                        EventToAppend(
                            event_id=str(workflow.uuid4()),
                            event_type="CreditEventRecorded",
                            schema_version=1,
                            data=data,
                            occurred_at=workflow.now().isoformat(),
                        )
                    ],
                    actor_id="system",
                    actor_role="system",
                    causation_id=signal.event_id,
                    workflow_id=workflow.info().workflow_id,
                    run_id=workflow.info().run_id,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
            )
            self._version += 1
            self._seen.add(signal.event_id)
            self._recorded.append(data)

    @workflow.signal(name="record_credit_event")
    def record_credit_event(self, signal: CreditSignalInput) -> None:
        self._inbox.append(signal)

    @workflow.query(name="credit")
    def credit(self) -> CreditView:
        return CreditView(self._request.credit_code, self._version, list(self._recorded))
