"""Early removal from the list (提前移出, 信用修复): the enterprise's application, the decision,
and its revocation when obtained by false statements (the listing restored with its original
expiry)."""

from __future__ import annotations

from datetime import datetime

from domain.case.commands import Role
from domain.credit.commands import ApplyEarlyRemoval, DecideEarlyRemoval, RevokeEarlyRemoval
from domain.credit.events import (
    CreditEvent,
    EarlyRemovalApplied,
    EarlyRemovalApproved,
    EarlyRemovalRejected,
    EarlyRemovalRevoked,
)
from domain.credit.guards import require_deciding_level, require_role, require_text
from domain.credit.state import CreditState
from domain.errors import DomainError
from domain.policy import Policy


def apply_early_removal(
    state: CreditState, command: ApplyEarlyRemoval, now: datetime
) -> list[CreditEvent]:
    """The listed enterprise applies, from ``early_removal_from`` on."""
    actor = command.actor
    require_role(actor, (Role.ENTERPRISE,), "credit.early_removal.enterprise_only", "apply")
    b = state.blacklist
    if b is None or b.removed_early:
        raise DomainError("credit.early_removal.not_listed", "the enterprise is not on the list")
    if b.removal_applied:
        raise DomainError("credit.early_removal.already_applied", "an application is pending")
    if now < b.early_removal_from:
        raise DomainError(
            "credit.early_removal.too_early",
            f"提前移出 may be applied for from {b.early_removal_from.isoformat()}",
        )
    require_text(command.statement, "credit.early_removal.statement_required", "statement")
    return [EarlyRemovalApplied(command.statement, actor.id, now)]


def decide_early_removal(
    state: CreditState, command: DecideEarlyRemoval, now: datetime, policy: Policy
) -> list[CreditEvent]:
    """A supervisor of the deciding level approves or (with a reason) rejects the application."""
    actor = command.actor
    require_role(actor, (Role.SUPERVISOR,), "credit.early_removal.supervisor_decides", "decide")
    require_deciding_level(actor, policy, "the early removal decision (信用修复)")
    if state.blacklist is None or not state.blacklist.removal_applied:
        raise DomainError("credit.early_removal.none_pending", "no application is pending")
    if command.approve:
        return [EarlyRemovalApproved(actor.id, command.reason, now)]
    require_text(command.reason, "credit.early_removal.reason_required", "reason")
    return [EarlyRemovalRejected(actor.id, command.reason, now)]


def revoke_early_removal(
    state: CreditState, command: RevokeEarlyRemoval, now: datetime, policy: Policy
) -> list[CreditEvent]:
    """弄虚作假: the early removal revoked, the listing restored with its original expiry."""
    actor = command.actor
    require_role(actor, (Role.SUPERVISOR,), "credit.revoke.supervisor_only", "revoke")
    require_deciding_level(actor, policy, "revoking an early removal (撤销信用修复)")
    b = state.blacklist
    if b is None or not b.removed_early:
        raise DomainError("credit.revoke.not_removed_early", "there is no early removal to revoke")
    require_text(command.reason, "credit.revoke.reason_required", "reason")
    return [EarlyRemovalRevoked(actor.id, command.reason, b.expires_at, now)]
