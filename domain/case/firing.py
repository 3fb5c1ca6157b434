"""What a timer does when it fires (``FireTimer``): a reminder, a lapsed reminder, an overdue
verification, a late extension decision, a missed deadline — or the notice that waited for
calendar data. Which timers are pending, and when, is in ``domain.case.timers``."""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import FireTimer, Role
from domain.case.escalation import deadline_missed
from domain.case.events import CaseEvent, ReminderDue, ReminderLapsed, VerificationOverdue
from domain.case.extension import decision_overdue
from domain.case.guards import require_role
from domain.case.notice import NOTICE_KEY, issue_waiting_notice
from domain.case.self_inspection import acceptance_overdue
from domain.case.state import CaseState
from domain.case.timers import pending_timers
from domain.errors import DomainError
from domain.policy import Policy


def fire_timer(
    state: CaseState, cmd: FireTimer, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    require_role(cmd.actor, (Role.SYSTEM,), "case.timer.system_only", "fire a timer")
    if cmd.key == NOTICE_KEY and state.notice_pending is not None:
        return issue_waiting_notice(state, now, policy, calendar)
    timer = next(
        (t for t in pending_timers(state, policy, calendar, now) if t.key == cmd.key), None
    )
    if timer is None:
        if cmd.key in state.fired_timers:
            raise DomainError(
                "case.timer.already_fired", f"timer {cmd.key} has already fired", "key"
            )
        raise DomainError(
            "case.timer.not_pending",
            f"timer {cmd.key} is not pending (a reminder is not sent once its deadline passed)",
            "key",
        )
    if now < timer.due_at:
        raise DomainError(
            "case.timer.not_due", f"timer {cmd.key} is due at {timer.due_at.isoformat()}", "key"
        )
    if timer.kind == "reminder":
        assert state.deadline is not None
        return [
            ReminderDue(
                timer_key=timer.key, deadline=state.deadline, before=timer.key.split(":")[2], at=now
            )
        ]
    if timer.kind == "reminder_lapsed":
        assert state.deadline is not None
        return [
            ReminderLapsed(
                timer_key=timer.key,
                deadline=state.deadline,
                before=timer.key.split(":")[2],
                due_at=timer.due_at,
                at=now,
            )
        ]
    if timer.kind == "review":
        return [VerificationOverdue(timer_key=timer.key, review_by=timer.due_at, at=now)]
    if timer.kind == "acceptance":
        return [acceptance_overdue(state, timer.key, now)]
    if timer.kind == "extension_decision":
        return [decision_overdue(state, timer, now)]
    return deadline_missed(state, timer, cmd.actor, now, policy, calendar)
