"""The public-report workflow (举报核实): one per report, alive until it is dismissed or its
reward decided. The same shape as a case: decide, record, evolve; the workflow waits for the
earliest timer the domain names (the reminder before ``verify_by``, the alerts up the grid
after it) or a person's update, whichever comes first.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.case.commands import SYSTEM_ACTOR
    from domain.errors import DomainError
    from domain.policy import Policy
    from domain.public_report import (
        DecideReward,
        DismissReport,
        FireReportTimer,
        PublicReportCommand,
        PublicReportEvent,
        PublicReportState,
        SubstantiateReport,
        decide_report,
        due_report_timers,
        evolve_report,
        pending_report_timers,
        report_command_from_data,
        report_event_to_data,
    )
    from domain.public_report.events import (
        PublicReportReceived,
        PublicReportReminderDue,
        PublicReportVerificationOverdue,
    )
    from workflows.contracts import (
        PUBLIC_REPORT_STATE_QUERY,
        PUBLIC_REPORT_WORKFLOW,
        NotificationToQueue,
        PublicReportCommandInput,
        PublicReportView,
        PublicReportWorkflowInput,
    )
    from workflows.ids import public_report_stream_id
    from workflows.recording import append_events, enqueue_notifications, load_rules, to_append
    from workflows.refusals import refusal, refuse_the_system_actor
    from workflows.timers import fire_due_timers, wait_for_change

LONGEST_WAIT = timedelta(days=3650)


@workflow.defn(name=PUBLIC_REPORT_WORKFLOW)
class PublicReportWorkflow:
    @workflow.init
    def __init__(self, request: PublicReportWorkflowInput) -> None:
        self._state: PublicReportState | None = None
        self._version = 0
        self._policy: Policy | None = None
        self._lock = asyncio.Lock()
        self._changed = False
        self._correlation_id = request.correlation_id

    @workflow.run
    async def run(self, request: PublicReportWorkflowInput) -> PublicReportView:
        rules = await load_rules("case")  # the policy in force, as a case takes it
        self._policy = Policy.from_data(rules.policy)
        async with self._lock:
            try:
                received = report_command_from_data("ReceivePublicReport", request.report)
                await self._execute(received, request.correlation_id)
            except DomainError as exc:  # validated by the starter: the rules changed since
                raise ApplicationError(
                    exc.message, {"rule": exc.rule, "field": exc.field}, type=exc.rule
                ) from exc
        while self._state is not None and self._state.is_open:
            self._changed = False
            timers = pending_report_timers(self._state, self._policy)
            if not timers:
                await wait_for_change(lambda: self._changed)
                continue
            wait = min(timers[0].due_at - workflow.now(), LONGEST_WAIT)
            if wait > timedelta(0) and await wait_for_change(lambda: self._changed, wait):
                continue
            async with self._lock:
                await self._fire_due_timers()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    async def _fire_due_timers(self) -> None:
        policy = self._policy
        assert policy is not None

        def due_now() -> list:  # type: ignore[type-arg]
            if self._state is None or not self._state.is_open:
                return []
            return due_report_timers(self._state, workflow.now(), policy)

        async def fire(key: str) -> None:
            await self._execute(FireReportTimer(actor=SYSTEM_ACTOR, key=key), None)

        await fire_due_timers(due_now, fire)

    # ------------------------------------------------------------------ people act (updates)

    @workflow.update(name="substantiate_report")
    async def substantiate(self, request: PublicReportCommandInput) -> PublicReportView:
        return await self._handle(SubstantiateReport, request)

    @substantiate.validator
    def _validate_substantiate(self, request: PublicReportCommandInput) -> None:
        self._validate(SubstantiateReport, request)

    @workflow.update(name="dismiss_report")
    async def dismiss(self, request: PublicReportCommandInput) -> PublicReportView:
        return await self._handle(DismissReport, request)

    @dismiss.validator
    def _validate_dismiss(self, request: PublicReportCommandInput) -> None:
        self._validate(DismissReport, request)

    @workflow.update(name="decide_reward")
    async def decide_reward(self, request: PublicReportCommandInput) -> PublicReportView:
        return await self._handle(DecideReward, request)

    @decide_reward.validator
    def _validate_reward(self, request: PublicReportCommandInput) -> None:
        self._validate(DecideReward, request)

    @workflow.query(name=PUBLIC_REPORT_STATE_QUERY)
    def state(self) -> PublicReportView:
        return self._view()

    def _parse(
        self, kind: type[PublicReportCommand], request: PublicReportCommandInput
    ) -> PublicReportCommand:
        try:
            command = report_command_from_data(kind.COMMAND_TYPE, request.command)
        except DomainError as exc:
            raise refusal(exc) from exc
        refuse_the_system_actor(command)
        return command

    def _validate(self, kind: type[PublicReportCommand], request: PublicReportCommandInput) -> None:
        command = self._parse(kind, request)
        if self._policy is None or self._state is None:
            return  # still starting; the handler waits and decides then
        try:
            decide_report(self._state, command, workflow.now(), self._policy)
        except DomainError as exc:
            raise refusal(exc) from exc

    async def _handle(
        self, kind: type[PublicReportCommand], request: PublicReportCommandInput
    ) -> PublicReportView:
        command = self._parse(kind, request)
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._lock:
            await self._fire_due_timers()  # an alert due before the command is recorded first
            try:
                await self._execute(command, request.correlation_id)
            except DomainError as exc:
                raise refusal(exc) from exc
        return self._view()

    # ------------------------------------------------------------------ decide, record, evolve

    async def _execute(self, command: PublicReportCommand, correlation_id: str | None) -> None:
        assert self._policy is not None
        now = workflow.now()
        events = decide_report(self._state, command, now, self._policy)
        batch = [to_append(e, report_event_to_data(e), now) for e in events]
        report_id = self._state.report_id if self._state else getattr(command, "report_id", "")
        await append_events(
            command,
            public_report_stream_id(report_id),
            self._version,
            batch,
            correlation_id=correlation_id or self._correlation_id,
        )
        notices: list[NotificationToQueue] = []
        state = self._state
        for event in events:
            state = evolve_report(state, event)
            notices += _notices(state, event)
        self._state = state
        self._version += len(events)
        self._changed = True
        if notices:
            await enqueue_notifications(report_id, notices)

    def _view(self) -> PublicReportView:
        state = self._state
        if state is None:
            return PublicReportView("", "starting", 0)
        timers = pending_report_timers(state, self._policy) if self._policy else []
        return PublicReportView(
            report_id=state.report_id,
            status=state.status,
            version=self._version,
            verify_by=state.verify_by.isoformat(),
            assigned_unit_code=state.assigned_unit.code,
            hazard_ids=list(state.hazard_ids),
            reward_yuan=state.reward_yuan,
            pending_timers=[
                {"key": t.key, "kind": t.kind, "due_at": t.due_at.isoformat()} for t in timers
            ],
        )


def _notices(state: PublicReportState, event: PublicReportEvent) -> list[NotificationToQueue]:
    """The grid's responsible people learn of a report, its reminder and its alerts; the
    reporter follows it by the receipt code (no message names them)."""
    match event:
        case PublicReportReceived() | PublicReportReminderDue():
            unit, reason = state.assigned_unit, event.EVENT_TYPE
        case PublicReportVerificationOverdue():
            found = next((u for u in state.grid_path if u.code == event.alerted_unit_code), None)
            if found is None:
                return []
            unit, reason = found, f"verification_overdue:{event.alert_no}"
        case _:
            return []
    return [
        NotificationToQueue(
            step_key=f"{state.report_id}:{state.version}:{event.EVENT_TYPE}:{unit.code}",
            recipient_kind="grid_responsible",
            recipient_id=unit.responsible_person,
            reason=f"public_report:{reason}",
            event_type=event.EVENT_TYPE,
            payload={"report_id": state.report_id, "verify_by": state.verify_by.isoformat()},
        )
    ]
