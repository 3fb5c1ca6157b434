"""The checks every rule of a case shares: the actor's role, required text, a deadline in the
future, and the actor's authority on the grid (定格、定责、定人).

Each raises a DomainError naming its rule and field. A rule calls them in a fixed order, and
the order is part of the rule: a command breaking two rules is always refused for the same one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.case.commands import Actor, Role
from domain.case.state import CaseState
from domain.durations import utc_instant
from domain.editions import authority_follows_the_grid
from domain.errors import DomainError
from domain.grid import GridUnit
from domain.policy import Policy


def require_role(actor: Actor, roles: Sequence[Role], rule: str, what: str) -> None:
    """Only ``roles`` may do ``what`` (refused as ``rule``, on ``actor.role``)."""
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise DomainError(
            rule, f"only {allowed} may {what}; {actor.role.value} may not", "actor.role"
        )


def require_text(value: str, rule: str, field: str, what: str) -> None:
    """``what`` is stated in ``field``: not empty, not blank."""
    if not value.strip():
        raise DomainError(rule, f"{what} is required", field)


def future_deadline(deadline: datetime, now: datetime, field: str) -> datetime:
    """A deadline a person gives, in UTC: an aware instant after ``now``."""
    deadline = utc_instant(deadline, field)
    if deadline <= now:
        raise DomainError(
            "case.deadline.in_past", f"deadline {deadline.isoformat()} is not after now", field
        )
    return deadline


def acting_unit(state_path: Sequence[GridUnit], actor: Actor) -> GridUnit:
    """The actor's grid unit on the case's grid path (a supervisor acts only inside the subtree
    of their unit: 定格、定责、定人)."""
    if actor.unit_code is None:
        raise DomainError(
            "case.authority.unit_required",
            "a supervisor's command names the grid unit the supervisor acts for",
            "actor.unit_code",
        )
    unit = next((u for u in state_path if u.code == actor.unit_code), None)
    if unit is None:
        path = " → ".join(u.code for u in state_path)
        raise DomainError(
            "case.authority.outside_grid",
            f"grid unit {actor.unit_code} is not on this case's grid path ({path})",
            "actor.unit_code",
        )
    if actor.unit_level is not None and actor.unit_level is not unit.level:
        raise DomainError(
            "case.authority.unit_level_mismatch",
            f"grid unit {unit.code} is {unit.level.value}, not {actor.unit_level.value}",
            "actor.unit_level",
        )
    return unit


def require_supervising_or_above(state: CaseState, actor: Actor, policy: Policy, what: str) -> None:
    """The supervising unit (督办单位) or a unit above it on the grid path acts
    (``authority_follows_the_grid``; before, the role alone was checked)."""
    if not authority_follows_the_grid(policy):
        return
    unit = acting_unit(state.grid_path, actor)
    if unit.level.is_above(state.supervising_level) or unit.code == state.supervising_unit_code:
        return
    raise DomainError(
        "case.authority.below_supervising_unit",
        f"{what} is for the supervising unit {state.supervising_unit_code} "
        f"({state.supervising_level.value}) or above; {unit.code} is {unit.level.value}",
        "actor.unit_code",
    )
