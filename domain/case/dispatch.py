"""``decide``: which rule answers each command, after the checks every command meets (an
auditor changes nothing, a case is registered once, a closed case takes nothing, a waiting
notice holds what needs it, due timers first); and ``catch_up``, the timers already due.

The rules themselves live by phase: ``registration``, ``rectification``, ``extension``,
``listing``, ``escalation``, ``withdrawal``, and ``firing`` for the timers.
"""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
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
    Role,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.escalation import record_refusal
from domain.case.events import CaseEvent
from domain.case.extension import decide_extension, request_extension
from domain.case.firing import fire_timer
from domain.case.listing import list_hazard
from domain.case.rectification import report_rectification, submit_plan, verify_rectification
from domain.case.registration import register_hazard
from domain.case.self_inspection import accept_self_report
from domain.case.service import acknowledge_service
from domain.case.state import CaseState, fold
from domain.case.timers import due_timers
from domain.case.withdrawal import withdraw_case
from domain.durations import utc_instant
from domain.editions import due_timers_fire_before_commands
from domain.errors import CalendarDataMissing, DomainError
from domain.policy import Policy


def decide(
    state: CaseState | None,
    command: CaseCommand,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    """The events that ``command`` causes at ``now``, or a DomainError naming the broken rule.

    A person's command is refused while a timer of the state is due and not yet fired
    (``case.timer.due_first``, ``due_timers_fire_before_commands``) — a report a second after
    the deadline must meet the escalated case, never the one the clock has left behind. Fire
    the due timers first (the workflow does; ``catch_up`` computes them for a validator).
    """
    now = utc_instant(now, "now")
    if command.actor.role is Role.AUDITOR:
        raise DomainError(
            "case.auditor.read_only", "an auditor reads and changes nothing", "actor.role"
        )
    if state is None:
        if not isinstance(command, RegisterHazard):
            raise DomainError(
                "case.not_registered", "no case exists yet: register the hazard first"
            )
        return register_hazard(command, now, policy, calendar)
    if isinstance(command, RegisterHazard):
        raise DomainError(
            "case.register.already_registered", f"case {state.hazard_id} already exists"
        )
    if not state.is_open:
        raise DomainError(
            "case.closed.no_commands",
            f"case {state.hazard_id} is {state.status.value}; it accepts no command",
        )
    if state.notice_pending is not None and not _goes_on_without_notice(state, command):
        # Every other step needs the notice's deadline or its listing: it waits with it.
        raise CalendarDataMissing(state.notice_pending.missing_year)
    if due_timers_fire_before_commands(policy) and not isinstance(command, FireTimer):
        due = due_timers(state, now, policy, calendar)
        if due:
            raise DomainError(
                "case.timer.due_first",
                f"timer {due[0].key} fell due at {due[0].due_at.isoformat()}; it is decided "
                "before any command",
                "now",
            )
    match command:
        case SubmitGovernancePlan():
            return submit_plan(state, command, now)
        case ReportRectification():
            return report_rectification(state, command, now, policy, calendar)
        case VerifyRectification():
            return verify_rectification(state, command, now, policy, calendar)
        case RequestExtension():
            return request_extension(state, command, now, policy, calendar)
        case DecideExtension():
            return decide_extension(state, command, now, policy, calendar)
        case ListHazard():
            return list_hazard(state, command, now, policy, calendar)
        case RecordRefusal():
            return record_refusal(state, command, now, policy)
        case WithdrawCase():
            return withdraw_case(state, command, now, policy, calendar)
        case FireTimer():
            return fire_timer(state, command, now, policy, calendar)
        case AcknowledgeService():
            return acknowledge_service(state, command, now)
        case AcceptSelfReport():
            return accept_self_report(state, command, now)
    raise DomainError("case.command.unknown", f"unknown command {type(command).__name__}")


def _goes_on_without_notice(state: CaseState, command: CaseCommand) -> bool:
    """What a case whose notice waits for calendar data still takes: the enterprise's plan and
    rectification report (nothing a person reports is refused for the administrator's delay),
    the system's timers, and — when no listing waits, so that the supervising unit is what it
    will be — a supervisor's verification (a pass closes the case; a failure, which sets a
    deadline, waits), withdrawal or record of a refusal. A listing that waits names the
    authority of these acts: they wait with it."""
    if isinstance(
        command, FireTimer | SubmitGovernancePlan | ReportRectification | AcknowledgeService
    ):
        return True
    if isinstance(command, AcceptSelfReport):
        return True  # 受理 needs no deadline: the enterprise's report is accepted as it stands
    pending = state.notice_pending
    unlisted = pending is not None and pending.listing_level is None
    return unlisted and isinstance(command, WithdrawCase | RecordRefusal | VerifyRectification)


def catch_up(
    state: CaseState | None, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> tuple[CaseState | None, list[CaseEvent]]:
    """Fire every timer due at ``now``, earliest first, as the system would; the state after
    them and their events. A command's validation runs against this state, so that a report
    one second after a deadline meets the escalated case whatever the order of delivery."""
    events: list[CaseEvent] = []
    while state is not None and state.is_open:
        due = due_timers(state, now, policy, calendar)
        if not due:
            break
        fired = decide(state, FireTimer(SYSTEM_ACTOR, due[0].key), now, policy, calendar)
        events += fired
        state = fold(fired, state)
    return state, events
