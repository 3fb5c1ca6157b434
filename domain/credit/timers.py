"""A credit record's timers and what each does when it fires: the end of a proceeding's
objection window, and the blacklist entry's expiry.

Timer keys: ``objection:<proceeding_no>`` (window end), ``expiry:<proceeding_no>`` (removal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.case.commands import Role
from domain.credit.commands import FireCreditTimer
from domain.credit.events import BlacklistExpired, CreditEvent, ObjectionWindowClosed
from domain.credit.guards import require_role
from domain.credit.state import CreditState
from domain.errors import DomainError
from domain.policy import Policy


@dataclass(frozen=True)
class CreditTimer:
    key: str
    kind: str  # "objection_window" | "expiry"
    due_at: datetime


def pending_credit_timers(state: CreditState | None, policy: Policy) -> list[CreditTimer]:
    if state is None:
        return []
    timers: list[CreditTimer] = []
    p = state.proceeding
    if p is not None and p.objection_until is not None and not p.window_closed:
        timers.append(
            CreditTimer(f"objection:{p.proceeding_no}", "objection_window", p.objection_until)
        )
    b = state.blacklist
    if b is not None and not b.removed_early:
        key = f"expiry:{b.proceeding_no}"
        if key not in state.fired_timers:
            timers.append(CreditTimer(key, "expiry", b.expires_at))
    return sorted(timers, key=lambda t: (t.due_at, t.key))


def fire_credit_timer(
    state: CreditState, command: FireCreditTimer, now: datetime, policy: Policy
) -> list[CreditEvent]:
    """The system fires a pending timer that has fallen due."""
    require_role(command.actor, (Role.SYSTEM,), "credit.timer.system_only", "fire a timer")
    timer = next((t for t in pending_credit_timers(state, policy) if t.key == command.key), None)
    if timer is None:
        if command.key in state.fired_timers:
            raise DomainError("credit.timer.already_fired", f"timer {command.key} has fired", "key")
        raise DomainError("credit.timer.not_pending", f"timer {command.key} is not pending", "key")
    if now < timer.due_at:
        raise DomainError(
            "credit.timer.not_due",
            f"timer {command.key} is due at {timer.due_at.isoformat()}",
            "key",
        )
    number = command.key.split(":", 1)[1]
    if timer.kind == "objection_window":
        return [ObjectionWindowClosed(number, command.key, now)]
    return [BlacklistExpired(number, command.key, now)]
