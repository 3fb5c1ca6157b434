"""Self-inspection (企业自查自改, edition 5): the supervising unit's acceptance (受理) of a major
hazard the enterprise reported itself, the alerts while nobody accepts it, and the write-off of
a general hazard on the enterprise's own report.

Timer keys: ``acceptance:1`` at ``accept_by``, then ``acceptance:1:<n>`` every
``self_inspection.accept_within`` after the alert before it, each alert one grid level further
up the path (the top unit keeps being alerted) until the hazard is accepted.
"""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import AcceptSelfReport, Role
from domain.case.events import (
    CaseClosed,
    CaseEvent,
    CloseBasis,
    HazardClass,
    SelfReportAcceptanceOverdue,
    SelfReportAccepted,
)
from domain.case.guards import acting_unit, require_role
from domain.case.state import CaseState
from domain.editions import self_rectified_general_closes_on_report
from domain.errors import DomainError
from domain.policy import Policy

ACCEPTANCE_KEY = "acceptance:1"


def accept_self_report(state: CaseState, cmd: AcceptSelfReport, now: datetime) -> list[CaseEvent]:
    """受理 by a supervisor of the accepting unit or of a unit above it on the grid path."""
    require_role(cmd.actor, (Role.SUPERVISOR,), "case.self_report.supervisor_only", "accept (受理)")
    pending = state.acceptance_pending
    if pending is None:
        raise DomainError(
            "case.self_report.not_awaiting_acceptance",
            f"case {state.hazard_id} awaits no acceptance",
        )
    unit = acting_unit(state.grid_path, cmd.actor)
    accepting = state.unit(pending.unit_code)
    assert accepting is not None
    if unit.code != accepting.code and not unit.level.is_above(accepting.level):
        raise DomainError(
            "case.self_report.acceptance_unit",
            f"the self-reported hazard is accepted by {accepting.code} "
            f"({accepting.level.value}) or a unit above it; {unit.code} is {unit.level.value}",
            "actor.unit_code",
        )
    return [
        SelfReportAccepted(
            accepted_by=cmd.actor.id, unit_code=unit.code, comments=cmd.comments, at=now
        )
    ]


def require_accepted(state: CaseState) -> None:
    """A self-reported major hazard is verified only once its supervising unit accepted it."""
    if state.acceptance_pending is not None:
        raise DomainError(
            "case.self_report.awaiting_acceptance",
            f"the self-reported major hazard awaits acceptance (受理) by "
            f"{state.acceptance_pending.unit_code} first",
        )


def acceptance_alert_due(
    state: CaseState, policy: Policy, calendar: WorkingCalendar
) -> tuple[str, datetime] | None:
    """The next acceptance alert: its timer key and when it falls due (None: none pending)."""
    pending = state.acceptance_pending
    if pending is None:
        return None
    fired = set(state.fired_timers)
    if ACCEPTANCE_KEY not in fired:
        return ACCEPTANCE_KEY, pending.accept_by
    rules = policy.self_inspection
    if rules is None:  # a policy cannot lose the section its case was registered under
        return None
    due, number = pending.accept_by, 2
    while True:
        due = rules.accept_within.add_to(due, calendar, policy.tz)
        key = f"{ACCEPTANCE_KEY}:{number}"
        if key not in fired:
            return key, due
        number += 1


def acceptance_overdue(state: CaseState, key: str, now: datetime) -> SelfReportAcceptanceOverdue:
    """Alert ``n`` goes ``n`` levels above the accepting unit, staying at the top unit."""
    pending = state.acceptance_pending
    assert pending is not None
    number = 1 if key == ACCEPTANCE_KEY else int(key.rsplit(":", 1)[1])
    codes = [u.code for u in state.grid_path]
    index = min(codes.index(pending.unit_code) + number - 1, len(codes) - 1)
    return SelfReportAcceptanceOverdue(
        timer_key=key,
        accept_by=pending.accept_by,
        alert_no=number,
        alerted_unit_code=codes[index],
        at=now,
    )


def closes_on_own_report(state: CaseState, policy: Policy) -> bool:
    """(``self_rectified_general_closes_on_report``) 自查自改: a general hazard the enterprise
    registered itself, never listed, escalated or referred, is written off on its report."""
    return (
        self_rectified_general_closes_on_report(policy)
        and state.self_reported
        and state.hazard_class is HazardClass.GENERAL
        and state.listing is None
        and state.escalation_index == 0
        and not state.referred
        and not state.refused
    )


def self_rectified(now: datetime) -> CaseClosed:
    return CaseClosed(basis=CloseBasis.SELF_RECTIFIED, at=now)
