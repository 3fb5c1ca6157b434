"""Withdrawal (撤销督办): a supervisor ends a case that should not run, taking down its listing."""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import Role, WithdrawCase
from domain.case.events import CaseEvent, CaseWithdrawn, DelistBasis
from domain.case.guards import (
    acting_unit,
    require_role,
    require_supervising_or_above,
    require_text,
)
from domain.case.listing import delisted_event, with_publication
from domain.case.state import CaseState
from domain.editions import (
    withdrawal_by_supervising_unit_or_above,
    withdrawal_by_unit_on_grid_path,
)
from domain.policy import Policy


def withdraw_case(
    state: CaseState, cmd: WithdrawCase, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    """撤销督办 by a supervisor: of the supervising unit or a unit above it
    (``withdrawal_by_supervising_unit_or_above``), before that of any unit on the case's grid
    path (``withdrawal_by_unit_on_grid_path``). A listing moves the supervision up to its
    authority (and escalation only ever moves it further up), so this also keeps a unit below
    a listing authority from taking down that authority's listing."""
    require_role(cmd.actor, (Role.SUPERVISOR,), "case.withdraw.supervisor_only", "withdraw a case")
    if withdrawal_by_supervising_unit_or_above(policy):
        require_supervising_or_above(state, cmd.actor, policy, "撤销督办")
    elif withdrawal_by_unit_on_grid_path(policy):
        acting_unit(state.grid_path, cmd.actor)
    require_text(cmd.reason, "case.withdraw.reason_required", "reason", "a reason")
    events: list[CaseEvent] = []
    if state.listing is not None:
        events += with_publication(
            delisted_event(state, DelistBasis.WITHDRAWN, cmd.actor, now, policy, calendar), policy
        )
    events.append(CaseWithdrawn(withdrawn_by=cmd.actor.id, reason=cmd.reason, at=now))
    return events
