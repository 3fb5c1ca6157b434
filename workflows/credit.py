"""The enterprise credit workflow (企业安全生产信用): one per enterprise, for its whole life.

Its state is the fold of the enterprise's credit stream (``credit-<code>``), and every step is
the case workflow's: ``decide_credit`` → ``append_events`` (ids from ``workflow.uuid4()``) →
``evolve_credit``. Cases feed it by signal-with-start (``record_credit_event``); a trigger of
the policy opens a serious-dishonesty proceeding (严重失信主体名单, Order 11) whose notice (告知)
goes to the notification outbox; the objection window (陈述申辩期) and the 3-year list period
are durable timers (``pending_credit_timers``); supervisors and the enterprise act through
Updates whose validators refuse, before anything reaches history, what the domain refuses.

The workflow lives for years, so it continues-as-new before its history grows large. A new run
re-reads the credit stream (the store is the memory, not the workflow's history), takes over
any signal the old run had not handled, and rebuilds the set of case events already recorded,
so a case's retried signal is still recorded once.

Beside it: its answer and next regrade (``credit_view.py``), who it tells
(``credit_notices.py``), and what it shares with the case workflow (``recording.py``,
``refusals.py``, ``timers.py``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calendar import WorkingCalendar, parse_calendar_toml
    from domain.case.commands import SYSTEM_ACTOR
    from domain.credit import (
        CreditState,
        CreditTimer,
        check_credit_command_text,
        credit_command_from_data,
        credit_event_from_data,
        credit_event_to_data,
        decide_credit,
        evolve_credit,
        pending_credit_timers,
    )
    from domain.credit.commands import (
        AcknowledgeCreditService,
        ApplyEarlyRemoval,
        CreditCommand,
        DecideEarlyRemoval,
        DecideListing,
        FileObjection,
        FireCreditTimer,
        OpenCreditRecord,
        OpenProceeding,
        RecordCreditEvent,
        RevokeEarlyRemoval,
    )
    from domain.credit.events import CreditEvent, CreditEventRecorded
    from domain.errors import DomainError
    from domain.policy import CreditEventKind, Policy
    from workflows.contracts import (
        CREDIT_EVENT_SIGNAL,
        CREDIT_WORKFLOW,
        CreditCommandInput,
        CreditSignalInput,
        CreditView,
        CreditWorkflowInput,
        ReadStreamInput,
        ReadStreamResult,
    )
    from workflows.credit_notices import credit_notices
    from workflows.credit_view import credit_view, next_regrade
    from workflows.ids import credit_stream_id
    from workflows.recording import (
        RECORD_RETRY,
        RECORD_TIMEOUT,
        append_events,
        enqueue_notifications,
        load_rules,
        to_append,
    )
    from workflows.refusals import refusal, refuse_the_system_actor
    from workflows.timers import caught_up, fire_due_timers, wait_for_change

# workflow.patched ids: records that ran under the earlier code replay along the earlier path.
HANDOVER_CARRIES_SIGNALS = "handover-carries-signals"


@workflow.defn(name=CREDIT_WORKFLOW)
class EnterpriseCreditWorkflow:
    @workflow.init
    def __init__(self, request: CreditWorkflowInput) -> None:
        self._request = request
        self._credit_code = request.credit_code
        self._enterprise_name = request.enterprise_name
        self._grid_code = request.grid_code
        self._state: CreditState | None = None
        self._version = 0
        self._loaded = False
        self._policy: Policy | None = None
        self._calendar = WorkingCalendar()
        self._lock = asyncio.Lock()
        self._changed = False
        # Signals can arrive before ``run`` starts (signal-with-start): they wait here.
        self._inbox: list[CreditSignalInput] = list(request.pending_signals)
        self._seen_case_events: set[str] = set()
        self._steps = 0  # decisions recorded by this run

    # ------------------------------------------------------------------ the life of a record

    @workflow.run
    async def run(self, request: CreditWorkflowInput) -> CreditView:
        await self._load()
        async with self._lock:
            if self._state is None:
                try:
                    await self._execute(
                        OpenCreditRecord(SYSTEM_ACTOR, self._credit_code, self._enterprise_name)
                    )
                except DomainError as exc:  # e.g. a credit code whose check character fails
                    raise refusal(exc) from exc
        while not self._should_continue_as_new():
            async with self._lock:
                await self._fire_due_timers()
                await self._drain_inbox()
            if self._should_continue_as_new():
                break
            self._changed = False
            timers = pending_credit_timers(self._state, self._policy) if self._policy else []
            wait = timers[0].due_at - workflow.now() if timers else None
            if wait is not None and wait <= timedelta(0):
                continue
            regrade = next_regrade(self._state, self._policy, self._calendar, workflow.now())
            if regrade is not None and (wait is None or regrade - workflow.now() < wait):
                # Nothing to record then: waking moves the clock that queries grade with.
                wait = regrade - workflow.now()
            # A timeout means a timer fell due: it fires at the top of the loop.
            await wait_for_change(lambda: self._changed or bool(self._inbox), wait)
        # Hand over without losing anything: let running updates finish, then carry every
        # signal not yet handled to the next run (which handles them first). Handling them
        # here instead would let a burst of signals grow this history past the threshold.
        if workflow.patched(HANDOVER_CARRIES_SIGNALS):
            await workflow.wait_condition(workflow.all_handlers_finished)
        else:
            while True:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._inbox:
                    break
                async with self._lock:
                    await self._drain_inbox()
        workflow.continue_as_new(
            CreditWorkflowInput(
                credit_code=self._credit_code,
                enterprise_name=self._enterprise_name,
                grid_code=self._grid_code,
                continue_as_new_after_events=request.continue_as_new_after_events,
                pending_signals=list(self._inbox),
                runs=request.runs + 1,
            )
        )

    async def _load(self) -> None:
        """Rules in force now (captured in this run's history), then the fold of the stream."""
        rules = await load_rules("credit")
        self._policy = Policy.from_data(rules.policy)
        if rules.calendar_text:
            self._calendar = WorkingCalendar(parse_calendar_toml(rules.calendar_text))
        stored: ReadStreamResult = await workflow.execute_activity(
            "read_stream",
            ReadStreamInput(credit_stream_id(self._credit_code)),
            result_type=ReadStreamResult,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
        state = self._state
        for recorded in stored.events:
            event = credit_event_from_data(
                recorded.event_type, recorded.schema_version, recorded.data
            )
            state = evolve_credit(state, event)
            case_event_id = recorded.data.get("case_event_id")
            if isinstance(case_event_id, str):
                self._seen_case_events.add(case_event_id)
        self._state = state
        self._version = stored.events[-1].stream_version if stored.events else 0
        if state is not None and not self._enterprise_name:
            self._enterprise_name = state.enterprise_name
        self._loaded = True

    def _should_continue_as_new(self) -> bool:
        # Only a run that has done something hands over: a threshold set below what loading
        # costs must not make runs continue into each other for ever.
        info = workflow.info()
        return self._steps > 0 and (
            info.get_current_history_length() >= self._request.continue_as_new_after_events
            or info.is_continue_as_new_suggested()
        )

    def _due_timers(self, state: CreditState | None) -> list[CreditTimer]:
        assert self._policy is not None
        return [t for t in pending_credit_timers(state, self._policy) if t.due_at <= workflow.now()]

    async def _fire_due_timers(self) -> None:
        """Fire every timer that is due now, earliest first (each may change the next)."""
        assert self._policy is not None

        async def fire(key: str) -> None:
            await self._execute(FireCreditTimer(actor=SYSTEM_ACTOR, key=key))

        await fire_due_timers(lambda: self._due_timers(self._state), fire)

    async def _drain_inbox(self) -> None:
        # Under the patch, stop at the history threshold: what is left is carried over.
        bounded = workflow.patched(HANDOVER_CARRIES_SIGNALS)
        while self._inbox and not (bounded and self._should_continue_as_new()):
            signal = self._inbox.pop(0)
            if signal.event_id in self._seen_case_events:
                continue  # a retried signal of a case event already on the record
            if signal.grid_code and not self._grid_code:
                self._grid_code = signal.grid_code
            try:
                command = _record_command(signal)
                await self._execute(command, case_event_id=signal.event_id)
            except DomainError as exc:
                # A signal cannot be refused to its sender; the refusal is logged, not recorded.
                workflow.logger.warning(
                    "credit signal refused: %s",
                    exc,
                    extra={
                        "credit_code": self._credit_code,
                        "case_event_id": signal.event_id,
                        "rule": exc.rule,
                    },
                )

    # ------------------------------------------------------------------ cases signal

    @workflow.signal(name=CREDIT_EVENT_SIGNAL)
    def record_credit_event(self, signal: CreditSignalInput) -> None:
        self._inbox.append(signal)

    # ------------------------------------------------------------------ people act (updates)

    @workflow.update(name="open_proceeding")
    async def open_proceeding(self, request: CreditCommandInput) -> CreditView:
        return await self._handle(OpenProceeding, request)

    @open_proceeding.validator
    def _validate_open_proceeding(self, request: CreditCommandInput) -> None:
        self._validate(OpenProceeding, request)

    @workflow.update(name="file_objection")
    async def file_objection(self, request: CreditCommandInput) -> CreditView:
        return await self._handle(FileObjection, request)

    @file_objection.validator
    def _validate_objection(self, request: CreditCommandInput) -> None:
        self._validate(FileObjection, request)

    @workflow.update(name="decide_listing")
    async def decide_listing(self, request: CreditCommandInput) -> CreditView:
        return await self._handle(DecideListing, request)

    @decide_listing.validator
    def _validate_listing(self, request: CreditCommandInput) -> None:
        self._validate(DecideListing, request)

    @workflow.update(name="apply_early_removal")
    async def apply_early_removal(self, request: CreditCommandInput) -> CreditView:
        return await self._handle(ApplyEarlyRemoval, request)

    @apply_early_removal.validator
    def _validate_early_removal_application(self, request: CreditCommandInput) -> None:
        self._validate(ApplyEarlyRemoval, request)

    @workflow.update(name="decide_early_removal")
    async def decide_early_removal(self, request: CreditCommandInput) -> CreditView:
        return await self._handle(DecideEarlyRemoval, request)

    @decide_early_removal.validator
    def _validate_early_removal_decision(self, request: CreditCommandInput) -> None:
        self._validate(DecideEarlyRemoval, request)

    @workflow.update(name="acknowledge_service")
    async def acknowledge_service(self, request: CreditCommandInput) -> CreditView:
        """签收: the enterprise acknowledged a credit notice (read in its inbox). A new update:
        histories recorded before it never hold it, so they replay unchanged."""
        return await self._handle(AcknowledgeCreditService, request)

    @acknowledge_service.validator
    def _validate_acknowledgement(self, request: CreditCommandInput) -> None:
        self._validate(AcknowledgeCreditService, request)

    @workflow.update(name="revoke_early_removal")
    async def revoke_early_removal(self, request: CreditCommandInput) -> CreditView:
        return await self._handle(RevokeEarlyRemoval, request)

    @revoke_early_removal.validator
    def _validate_revocation(self, request: CreditCommandInput) -> None:
        self._validate(RevokeEarlyRemoval, request)

    @workflow.query(name="credit")
    def credit(self) -> CreditView:
        return self._view()

    def _parse(self, kind: type[CreditCommand], request: CreditCommandInput) -> CreditCommand:
        try:
            return credit_command_from_data(kind.COMMAND_TYPE, kind.SCHEMA_VERSION, request.command)
        except DomainError as exc:
            raise refusal(exc) from exc

    def _validate(self, kind: type[CreditCommand], request: CreditCommandInput) -> None:
        """Refuse before anything reaches history: the domain says no, or the input is bad.
        Text the record cannot hold is refused here, where a command is accepted, and not in
        the handler, which reads the command again on every replay."""
        try:
            check_credit_command_text(request.command)
        except DomainError as exc:
            raise refusal(exc) from exc
        command = self._parse(kind, request)
        refuse_the_system_actor(command)
        if self._policy is None or self._state is None:
            return  # still starting; the handler waits and decides then
        try:
            # Decide against the state the handler will see: timers already due fire first.
            state = self._state_with_due_timers()
            decide_credit(state, command, workflow.now(), self._policy, self._calendar)
        except DomainError as exc:
            raise refusal(exc) from exc

    def _state_with_due_timers(self) -> CreditState | None:
        assert self._policy is not None
        policy = self._policy

        def fire(state: CreditState | None, key: str) -> list[CreditEvent]:
            timer = FireCreditTimer(actor=SYSTEM_ACTOR, key=key)
            return decide_credit(state, timer, workflow.now(), policy, self._calendar)

        return caught_up(self._state, self._due_timers, fire, evolve_credit)

    async def _handle(self, kind: type[CreditCommand], request: CreditCommandInput) -> CreditView:
        command = self._parse(kind, request)
        await workflow.wait_condition(lambda: self._loaded and self._state is not None)
        async with self._lock:
            await self._fire_due_timers()
            try:
                await self._execute(command, request.correlation_id)
            except DomainError as exc:
                raise refusal(exc) from exc
        return self._view()

    # ------------------------------------------------------------------ decide, record, evolve

    async def _execute(
        self,
        command: CreditCommand,
        correlation_id: str | None = None,
        *,
        case_event_id: str | None = None,
    ) -> list[CreditEvent]:
        assert self._policy is not None
        now = workflow.now()
        events = decide_credit(self._state, command, now, self._policy, self._calendar)
        if not events:
            return events
        event_ids = await self._record(command, events, now, correlation_id, case_event_id)
        state = self._state
        for event in events:
            state = evolve_credit(state, event)
        self._state = state
        self._version += len(events)
        self._steps += 1
        self._changed = True
        if case_event_id is not None:
            self._seen_case_events.add(case_event_id)
        notices = [
            notice
            for event, event_id in zip(events, event_ids, strict=True)
            for notice in credit_notices(
                event, event_id, self._credit_code, self._enterprise_name, self._grid_code
            )
        ]
        if notices:
            await enqueue_notifications(credit_stream_id(self._credit_code), notices)
        return events

    async def _record(
        self,
        command: CreditCommand,
        events: list[CreditEvent],
        now: datetime,
        correlation_id: str | None,
        case_event_id: str | None,
    ) -> list[str]:
        """Append the events (ids from ``workflow.uuid4()``: a retry stores nothing twice).

        A case's event id travels in the recorded event's data (``case_event_id``, which the
        domain's reader ignores) so that the next run knows which case events are on record.
        """
        batch = []
        for event in events:
            data = credit_event_to_data(event)
            if case_event_id is not None and isinstance(event, CreditEventRecorded):
                data["case_event_id"] = case_event_id
            batch.append(to_append(event, data, now))
        return await append_events(
            command,
            credit_stream_id(self._credit_code),
            self._version,
            batch,
            correlation_id=correlation_id,
            causation_id=case_event_id,
        )

    def _view(self) -> CreditView:
        view = CreditView(
            credit_code=self._credit_code,
            enterprise_name=self._enterprise_name,
            grid_code=self._grid_code,
            version=self._version,
            runs=self._request.runs,
        )
        return credit_view(view, self._state, self._policy, self._calendar, workflow.now())


def _record_command(signal: CreditSignalInput) -> RecordCreditEvent:
    """The case's ``CreditTriggerRaised`` (as data, with its case id) as a domain command."""
    event = signal.event
    try:
        case_id = str(event["case_id"])
        kind = CreditEventKind(event["kind"])
        occurred_at = datetime.fromisoformat(str(event["at"]))
    except (KeyError, ValueError) as exc:
        raise DomainError(
            "credit.signal.malformed", f"the case event cannot be read: {exc}", "event"
        ) from exc
    if occurred_at.tzinfo is None:
        raise DomainError("credit.signal.malformed", "the case event's time has no offset", "at")
    return RecordCreditEvent(
        actor=SYSTEM_ACTOR,
        credit_code=signal.credit_code,
        enterprise_name=signal.enterprise_name,
        case_id=case_id,
        kind=kind,
        occurred_at=occurred_at,
    )
