"""The supervised-case workflow (督办案件): one per hazard, alive until it is written off.

The workflow decides, the event store remembers, the domain explains. Each step is:

    events = decide(state, command, now)      # pure domain rules
    append(stream, expected_version, events)  # activity; ids from workflow.uuid4()
    state  = fold(evolve, events)             # the same evolve an auditor replays

Nobody runs a cron: the workflow waits for the earliest timer the domain says the state needs
(reminder, deadline, review window) or for a person's update, whichever comes first, and
re-reads the timers after every change (the updatable-timer pattern), so an approved extension
or a new deadline moves them.

Beside it: its waits for calendar data (``case_calendar.py``), its answer (``case_view.py``),
and what it shares with the credit workflow (``recording.py``, ``refusals.py``, ``timers.py``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.calendar import WorkingCalendar, parse_calendar_toml
    from domain.case import (
        CaseState,
        Timer,
        catch_up,
        check_command_text,
        command_from_data,
        decide,
        due_timers,
        event_to_data,
        evolve,
        notifications_for,
        pending_timers,
        registration_needed_missing_year,
    )
    from domain.case.commands import (
        SYSTEM_ACTOR,
        AcceptSelfReport,
        AcknowledgeService,
        CaseCommand,
        DecideExtension,
        FireTimer,
        ListHazard,
        RecordRefusal,
        RegisterHazard,
        ReportRectification,
        RequestExtension,
        SubmitGovernancePlan,
        VerifyRectification,
        WithdrawCase,
    )
    from domain.case.events import CaseEvent, CreditTriggerRaised
    from domain.deadline_bounds import check_deadline_bound
    from domain.errors import CalendarDataMissing, DomainError
    from domain.policy import Policy
    from workflows.case_calendar import CALENDAR_RETRY, CaseCalendarWaits
    from workflows.case_view import case_view
    from workflows.contracts import (
        CASE_CALENDAR_LOADED_SIGNAL,
        CASE_STATE_QUERY,
        CASE_WORKFLOW,
        CaseCommandInput,
        CaseView,
        CaseWorkflowInput,
        CreditSignalInput,
        NotificationToQueue,
    )
    from workflows.ids import case_stream_id
    from workflows.recording import (
        RECORD_RETRY,
        RECORD_TIMEOUT,
        append_events,
        enqueue_notifications,
        load_rules,
        to_append,
    )
    from workflows.refusals import blocked_refusal, refusal, refuse_the_system_actor
    from workflows.search_attributes import case_search_attributes
    from workflows.timers import fire_due_timers, wait_for_change

# workflow.patched ids: cases that ran under the earlier code replay along the earlier path.
CALENDAR_BLOCK_RELEASES_LOCK = "calendar-block-releases-lock"
REGISTRATION_TEXT_CHECKED = "registration-text-checked"
REGISTRATION_DEADLINE_BOUNDED = "registration-deadline-bounded"
# Marked only by registrations the earlier code refused for calendar data (the case failed,
# nothing recorded): those are recorded now, their notice waiting for the year.
REGISTRATION_NEVER_REFUSED_FOR_CALENDAR = "registration-never-refused-for-calendar"
# A deadline may lie years ahead (a person may set one up to 9998): the case re-arms its timer
# at least this often rather than asking the server for one longer than it can hold.
LONGEST_WAIT = timedelta(days=3650)


@workflow.defn(name=CASE_WORKFLOW)
class SupervisedCaseWorkflow(CaseCalendarWaits):
    @workflow.init
    def __init__(self, request: CaseWorkflowInput) -> None:
        self._state: CaseState | None = None
        self._version = 0
        self._policy: Policy | None = None
        self._calendar = WorkingCalendar()
        self._lock = asyncio.Lock()
        self._changed = False
        self._blocked: str | None = None
        self._blocked_year: int | None = None
        # Why the registration's notice still waits (its own block: firing other timers does
        # not clear it).
        self._notice_blocked: CalendarDataMissing | None = None
        self._timers_blocked = False  # ``_blocked`` says the next timer's time cannot be told
        self._correlation_id = request.correlation_id

    # ------------------------------------------------------------------ the life of a case

    @workflow.run
    async def run(self, request: CaseWorkflowInput) -> CaseView:
        rules = await load_rules("case")
        self._policy = Policy.from_data(rules.policy)
        if rules.calendar_text:
            self._calendar = WorkingCalendar(parse_calendar_toml(rules.calendar_text))
        async with self._lock:
            try:
                if workflow.patched(REGISTRATION_TEXT_CHECKED):
                    # Cases started before this check replay without it (nothing to refuse).
                    check_command_text(request.registration)
                registration = command_from_data(
                    RegisterHazard.COMMAND_TYPE, 1, request.registration
                )
                if workflow.patched(REGISTRATION_DEADLINE_BOUNDED):
                    # A patch of its own: a case started under the text check alone replays
                    # without this one (it may have accepted a far deadline).
                    check_deadline_bound(registration, workflow.now(), self._policy)
                assert isinstance(registration, RegisterHazard)
                refused_before = registration_needed_missing_year(
                    registration, workflow.now(), self._policy, self._calendar
                )
                if refused_before is not None and not workflow.patched(
                    REGISTRATION_NEVER_REFUSED_FOR_CALENDAR
                ):
                    raise CalendarDataMissing(refused_before)  # as the earlier code did
                await self._execute(registration, request.correlation_id)
            except DomainError as exc:
                # Validated by the starter; a refusal here means the rules changed in between
                # (or a starter that did not validate). Fail the case with the rule, at once:
                # nothing was recorded, and retrying the task could never succeed.
                raise ApplicationError(
                    exc.message, {"rule": exc.rule, "field": exc.field}, type=exc.rule
                ) from exc
            except ValueError as exc:  # an id no stream can be named by (the domain checks it)
                raise ApplicationError(
                    str(exc),
                    {"rule": "case.register.unrecordable"},
                    type="case.register.unrecordable",
                ) from exc
        while self._is_open():
            self._changed = False
            # Only a case registered with its notice waiting for calendar data has one; every
            # other case goes through this loop exactly as before.
            notice_waits = self._notice_waiting() and await self._issue_waiting_notice()
            if not self._is_open():
                break
            timers = await self._pending_timers_or_wait_for_calendar()
            if timers is None:
                continue  # the calendar lacked a year the next timer needs: it was re-read
            if timers:
                wait = min(timers[0].due_at - workflow.now(), LONGEST_WAIT)
                if notice_waits:
                    wait = min(wait, CALENDAR_RETRY)
                if wait > timedelta(0) and await wait_for_change(lambda: self._changed, wait):
                    continue  # a person acted: the timers may have moved
            elif notice_waits:
                await self._wait_for_calendar()
                continue
            else:
                await wait_for_change(lambda: self._changed)
                continue
            if workflow.patched(CALENDAR_BLOCK_RELEASES_LOCK):
                async with self._lock:
                    blocked = await self._fire_due_timers_or_note_block()
                if blocked:
                    # Wait with the lock released: people's updates are answered (and refused
                    # with the reason) instead of hanging for hours behind the blocked step.
                    await self._wait_for_calendar()
            else:
                async with self._lock:
                    await self._fire_due_timers_or_wait_for_calendar()
        # Let in-flight updates finish before the case's history closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    def _is_open(self) -> bool:
        return self._state is not None and self._state.is_open

    def _pending_timers(self) -> list[Timer]:
        assert self._policy is not None
        return pending_timers(self._state, self._policy, self._calendar, workflow.now())

    async def _fire_due_timers(self) -> None:
        """Fire every timer that is due now, earliest first (each may change the next)."""
        assert self._policy is not None
        policy = self._policy

        def due_now() -> list[Timer]:
            if not self._is_open():
                return []
            return due_timers(self._state, workflow.now(), policy, self._calendar)

        async def fire(key: str) -> None:
            await self._execute(FireTimer(actor=SYSTEM_ACTOR, key=key), None)

        await fire_due_timers(due_now, fire)

    # ------------------------------------------------------------------ people act (updates)

    @workflow.update(name="submit_governance_plan")
    async def submit_governance_plan(self, request: CaseCommandInput) -> CaseView:
        return await self._handle(SubmitGovernancePlan, request)

    @submit_governance_plan.validator
    def _validate_plan(self, request: CaseCommandInput) -> None:
        self._validate(SubmitGovernancePlan, request)

    @workflow.update(name="report_rectification")
    async def report_rectification(self, request: CaseCommandInput) -> CaseView:
        return await self._handle(ReportRectification, request)

    @report_rectification.validator
    def _validate_report(self, request: CaseCommandInput) -> None:
        self._validate(ReportRectification, request)

    @workflow.update(name="verify_rectification")
    async def verify_rectification(self, request: CaseCommandInput) -> CaseView:
        return await self._handle(VerifyRectification, request)

    @verify_rectification.validator
    def _validate_verify(self, request: CaseCommandInput) -> None:
        self._validate(VerifyRectification, request)

    @workflow.update(name="request_extension")
    async def request_extension(self, request: CaseCommandInput) -> CaseView:
        return await self._handle(RequestExtension, request)

    @request_extension.validator
    def _validate_extension_request(self, request: CaseCommandInput) -> None:
        self._validate(RequestExtension, request)

    @workflow.update(name="decide_extension")
    async def decide_extension(self, request: CaseCommandInput) -> CaseView:
        return await self._handle(DecideExtension, request)

    @decide_extension.validator
    def _validate_extension_decision(self, request: CaseCommandInput) -> None:
        self._validate(DecideExtension, request)

    @workflow.update(name="list_hazard")
    async def list_hazard(self, request: CaseCommandInput) -> CaseView:
        return await self._handle(ListHazard, request)

    @list_hazard.validator
    def _validate_listing(self, request: CaseCommandInput) -> None:
        self._validate(ListHazard, request)

    @workflow.update(name="record_refusal")
    async def record_refusal(self, request: CaseCommandInput) -> CaseView:
        return await self._handle(RecordRefusal, request)

    @record_refusal.validator
    def _validate_refusal(self, request: CaseCommandInput) -> None:
        self._validate(RecordRefusal, request)

    @workflow.update(name="withdraw_case")
    async def withdraw_case(self, request: CaseCommandInput) -> CaseView:
        return await self._handle(WithdrawCase, request)

    @withdraw_case.validator
    def _validate_withdrawal(self, request: CaseCommandInput) -> None:
        self._validate(WithdrawCase, request)

    @workflow.update(name="acknowledge_service")
    async def acknowledge_service(self, request: CaseCommandInput) -> CaseView:
        """签收: the enterprise acknowledged a notice served on it (read in its inbox). A new
        update: histories recorded before it never hold it, so they replay unchanged."""
        return await self._handle(AcknowledgeService, request)

    @acknowledge_service.validator
    def _validate_acknowledgement(self, request: CaseCommandInput) -> None:
        self._validate(AcknowledgeService, request)

    @workflow.update(name="accept_self_report")
    async def accept_self_report(self, request: CaseCommandInput) -> CaseView:
        """受理 (edition 5): a new update; no recorded case sent it, so no patch is needed."""
        return await self._handle(AcceptSelfReport, request)

    @accept_self_report.validator
    def _validate_acceptance(self, request: CaseCommandInput) -> None:
        self._validate(AcceptSelfReport, request)

    @workflow.query(name=CASE_STATE_QUERY)
    def state(self) -> CaseView:
        return self._view()

    @workflow.signal(name=CASE_CALENDAR_LOADED_SIGNAL)
    def calendar_loaded(self) -> None:
        """The administrator loaded calendar data (``duban calendar load``): a case waiting for
        a year re-reads the calendar now instead of at its next retry. Any other case ignores
        it (nothing is decided, nothing recorded)."""
        if self._blocked is not None or self._notice_blocked is not None:
            self._changed = True

    def _parse(self, kind: type[CaseCommand], request: CaseCommandInput) -> CaseCommand:
        try:
            return command_from_data(kind.COMMAND_TYPE, kind.SCHEMA_VERSION, request.command)
        except DomainError as exc:
            raise refusal(exc) from exc

    def _validate(self, kind: type[CaseCommand], request: CaseCommandInput) -> None:
        """Refuse before anything reaches history: the domain says no, or the input is bad.
        Text the record cannot hold and a deadline beyond the policy's longest period are
        refused here, where a command is accepted, and not in the handler, which reads the
        command again on every replay."""
        try:
            check_command_text(request.command)
        except DomainError as exc:
            raise refusal(exc) from exc
        command = self._parse(kind, request)
        refuse_the_system_actor(command)
        if self._policy is None:
            return  # still starting; the handler waits and decides then
        try:
            check_deadline_bound(command, workflow.now(), self._policy)
            if self._state is None:
                return  # still starting; the handler waits and decides then
            # Decide against the state the handler will see: timers already due fire first,
            # so a report a second after the deadline is judged against the escalated case.
            state = self._state_with_due_timers()
            decide(state, command, workflow.now(), self._policy, self._calendar)
        except CalendarDataMissing as exc:
            raise blocked_refusal(exc) from exc
        except DomainError as exc:
            raise refusal(exc) from exc

    def _state_with_due_timers(self) -> CaseState | None:
        """The state after the timers due now have fired — computed, not recorded."""
        assert self._policy is not None
        state, _ = catch_up(self._state, workflow.now(), self._policy, self._calendar)
        return state

    async def _handle(self, kind: type[CaseCommand], request: CaseCommandInput) -> CaseView:
        command = self._parse(kind, request)
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._lock:
            # Timers that fell due before this command are decided first, so a report one
            # second after the deadline always meets an already-escalated case, whatever order
            # the server delivered the timer and the update in.
            if workflow.patched(CALENDAR_BLOCK_RELEASES_LOCK):
                if await self._fire_due_timers_or_note_block():
                    # A due step cannot be decided yet; deciding this command first would
                    # judge it against a state that skipped the step. Refuse, record nothing.
                    raise ApplicationError(
                        f"the case is waiting for calendar data before its next step: "
                        f"{self._blocked}",
                        {"rule": "case.blocked.calendar", "field": "calendar"},
                        type="case.blocked.calendar",
                        non_retryable=True,
                    )
            else:
                await self._fire_due_timers_or_wait_for_calendar()
            try:
                await self._execute(command, request.correlation_id)
            except CalendarDataMissing:
                await self._refresh_calendar()
                try:
                    await self._execute(command, request.correlation_id)
                except DomainError as exc:
                    raise refusal(exc) from exc
            except DomainError as exc:
                raise refusal(exc) from exc
        return self._view()

    # ------------------------------------------------------------------ decide, record, evolve

    async def _execute(self, command: CaseCommand, correlation_id: str | None) -> list[CaseEvent]:
        assert self._policy is not None
        now = workflow.now()
        events = decide(self._state, command, now, self._policy, self._calendar)
        if not events:
            return events
        event_ids = await self._record(command, events, now, correlation_id)
        notices: list[NotificationToQueue] = []
        state = self._state
        for event in events:
            notices += [
                NotificationToQueue(
                    step_key=n.step_key,
                    recipient_kind=n.recipient_kind,
                    recipient_id=n.recipient_id,
                    reason=n.reason,
                    event_type=event.EVENT_TYPE,
                    payload={"event": event_to_data(event)},
                )
                for n in notifications_for(state, event)
            ]
            state = evolve(state, event)
        self._state = state
        self._version += len(events)
        self._changed = True
        if state is not None:
            workflow.upsert_search_attributes(case_search_attributes(state))
        assert self._state is not None
        if notices:
            await enqueue_notifications(self._state.hazard_id, notices)
        for event, event_id in zip(events, event_ids, strict=True):
            if isinstance(event, CreditTriggerRaised):
                await workflow.execute_activity(
                    "signal_credit_workflow",
                    CreditSignalInput(
                        credit_code=self._state.credit_code,
                        enterprise_name=self._state.enterprise_name,
                        grid_code=self._state.grid_path[0].code,
                        event_id=event_id,
                        event_type=event.EVENT_TYPE,
                        event={"case_id": self._state.hazard_id, **event_to_data(event)},
                    ),
                    start_to_close_timeout=RECORD_TIMEOUT,
                    retry_policy=RECORD_RETRY,
                )
        return events

    async def _record(
        self,
        command: CaseCommand,
        events: list[CaseEvent],
        now: datetime,
        correlation_id: str | None,
    ) -> list[str]:
        """Append the events (ids from ``workflow.uuid4()``: a retry stores nothing twice)."""
        batch = [to_append(event, event_to_data(event), now) for event in events]
        hazard_id = self._state.hazard_id if self._state else getattr(command, "hazard_id", "")
        return await append_events(
            command,
            case_stream_id(hazard_id),
            self._version,
            batch,
            correlation_id=correlation_id or self._correlation_id,
            when_unrecordable=self._refuse_an_unrecordable_registration,
        )

    def _refuse_an_unrecordable_registration(self, exc: ActivityError) -> None:
        if self._state is None:
            # The registration itself cannot be recorded (the case's stream already exists,
            # an id reused): nothing of this case is stored, so fail it at once.
            raise DomainError(
                "case.register.unrecordable",
                f"the registration cannot be recorded: {exc.cause}",
                "hazard_id",
            ) from exc

    def _view(self) -> CaseView:
        state = self._state
        if state is None:
            return CaseView("", "starting", 0, None, 0, "", "", None, False)
        try:
            timers = self._pending_timers() if self._policy else []
        except CalendarDataMissing:
            timers = []  # ``blocked`` says why
        view = case_view(state, self._version, workflow.now(), timers, self._blocked)
        if self._blocked is not None:
            view.blocked_year = self._blocked_year
        elif self._notice_blocked is not None:  # the notice's year may differ from the record's
            missing = self._notice_blocked
            view.blocked, view.blocked_year = f"{missing.rule}: {missing.message}", missing.year
        return view
