"""A hazard case (隐患督办案件): its events, commands, state, timers and rules.

The workflow loop is: ``events = decide(state, command, now, policy, calendar)``; record
them; ``state = evolve(state, e)`` for each; wait for ``min(t.due_at for t in
pending_timers(state, policy))`` or the next human command; on a timer call ``decide`` with
``FireTimer(key)`` and the system actor. ``catch_up`` gives the events of every timer already
due, so that a command is decided against the state the clock has reached. A case decides
under the edition of the policy it was registered under (``domain.editions``), so a recorded
case replays exactly as it was decided.

What lives where:

- ``events``, ``commands``: the case's events (past tense) and commands (imperative);
  ``event_types`` holds the event classes, a module a phase, and ``events`` gathers them.
- ``state``: ``CaseState``, ``evolve``, ``fold`` — what the events make of a case.
- ``timers``: the timers a state waits for and when each falls due.
- ``guards``: the checks every rule shares (role, text, a future deadline, grid authority).
- ``deadlines``: rectification periods and the listing maximum that bounds them.
- ``numbering``: the deterministic numbers of a case's documents.
- the rules by phase: ``registration`` (with ``notice``, the rectification notice),
  ``rectification`` (plan, report, verification), ``extension``, ``listing``,
  ``escalation`` (deadline missed, referral, refusal), ``withdrawal``, and ``firing`` (what
  each timer does when it fires).
- ``dispatch``: ``decide``, which rule answers a command, and ``catch_up``.
- ``notifications``: who is told about each event.
- ``codec``: events, commands and state as JSON-safe data.

This package exports the names the rest of duban uses; events and commands are imported from
``domain.case.events`` and ``domain.case.commands``.
"""

from domain.case.codec import (
    check_command_text,
    command_from_data,
    command_to_data,
    event_from_data,
    event_to_data,
    state_from_data,
    state_to_data,
)
from domain.case.dispatch import catch_up, decide
from domain.case.escalation import rung_measures
from domain.case.notice import NOTICE_KEY
from domain.case.notifications import Notification, calendar_missing_step_key, notifications_for
from domain.case.registration import (
    HAZARD_ID_PATTERN,
    HAZARD_ID_RULE,
    registration_needed_missing_year,
    validate_hazard_id,
)
from domain.case.state import (
    CaseState,
    CaseStatus,
    ListingRecord,
    PendingExtension,
    days_overdue,
    evolve,
    fold,
    in_time_zone,
)
from domain.case.timers import Timer, due_timers, pending_timers

__all__ = [
    "HAZARD_ID_PATTERN",
    "HAZARD_ID_RULE",
    "NOTICE_KEY",
    "CaseState",
    "CaseStatus",
    "ListingRecord",
    "Notification",
    "PendingExtension",
    "Timer",
    "calendar_missing_step_key",
    "catch_up",
    "check_command_text",
    "command_from_data",
    "command_to_data",
    "days_overdue",
    "decide",
    "due_timers",
    "event_from_data",
    "event_to_data",
    "evolve",
    "fold",
    "in_time_zone",
    "notifications_for",
    "pending_timers",
    "registration_needed_missing_year",
    "rung_measures",
    "state_from_data",
    "state_to_data",
    "validate_hazard_id",
]
