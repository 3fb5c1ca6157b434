"""The checks the credit rules share: the actor's role, required text, and the grid level that
decides a listing (``[credit] decided_by_level``)."""

from __future__ import annotations

from domain.case.commands import Actor, Role
from domain.errors import DomainError
from domain.policy import Policy


def require_role(actor: Actor, roles: tuple[Role, ...], rule: str, what: str) -> None:
    """Only ``roles`` may do ``what`` (refused as ``rule``, on ``actor.role``)."""
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise DomainError(rule, f"only {allowed} may {what}", "actor.role")


def require_text(value: str, rule: str, field: str) -> None:
    """``field`` is stated: not empty, not blank."""
    if not value.strip():
        raise DomainError(rule, f"{field} is required", field)


def require_deciding_level(actor: Actor, policy: Policy, what: str) -> None:
    """``[credit] decided_by_level``: a proceeding is opened, a listing and an early removal
    decided and an early removal revoked by a supervisor at that grid level or above (Order
    11 makes the listing the department's decision). Without the key, any supervisor (as
    records kept under older policies were decided)."""
    level = policy.credit.decided_by_level
    if level is None:
        return
    if actor.unit_code is None or actor.unit_level is None:
        raise DomainError(
            "credit.authority.unit_required",
            f"{what} is decided at the {level.value} level or above: the command names the "
            "supervisor's grid unit and its level",
            "actor.unit_level",
        )
    if actor.unit_level.rank > level.rank:
        raise DomainError(
            "credit.authority.level_below",
            f"{what} is decided at the {level.value} level or above; {actor.unit_code} is "
            f"{actor.unit_level.value}",
            "actor.unit_level",
        )
