"""What a person may do on a case now (可办事项): the actions a page offers, from the case's
state, the person's role and grid unit, and the policy.

Pure and advisory: the console shows the forms this returns and nothing else, but every action
is still decided by ``decide`` in the case's workflow, which may refuse what was offered (a
timer fell due meanwhile, a field breaks a rule). Each condition here is a state precondition
of the rule that decides the action, checked with the rule's own guards where it has them, so
an action is not offered that its rule would refuse whatever the form said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from domain.case.commands import Actor, Role
from domain.case.events import HazardClass
from domain.case.guards import acting_unit, require_supervising_or_above
from domain.case.listing import require_listing_rank
from domain.case.state import CaseState
from domain.editions import (
    authority_follows_the_grid,
    withdrawal_by_supervising_unit_or_above,
    withdrawal_by_unit_on_grid_path,
)
from domain.errors import DomainError
from domain.policy import ListingLevel, Policy


class ActionKind(StrEnum):
    """The actions of a case a person takes (each one of the API's case-action routes)."""

    VERIFY = "verification"  # 验收 (pass: 销号, and 摘牌 of a listed hazard)
    DECIDE_EXTENSION = "extension-decision"  # 延期审批
    LIST = "listing"  # 挂牌督办 / 提级挂牌
    REFUSAL = "refusal"  # 拒不整改 → 移送执法
    WITHDRAW = "withdrawal"  # 撤销督办
    SUBMIT_PLAN = "governance-plan"  # 治理方案
    REPORT = "rectification-report"  # 申请验收
    REQUEST_EXTENSION = "extension-request"  # 延期申请


@dataclass(frozen=True)
class Offer:
    """One action offered. ``delists``: a passed verification also takes the listing down
    (摘牌). ``levels``: the listing levels a LIST may choose from (each higher than the
    case's listing, with a unit on its grid path, within the actor's rank)."""

    kind: ActionKind
    delists: bool = False
    levels: tuple[ListingLevel, ...] = ()


def _allowed(check: Callable[[], object]) -> bool:
    try:
        check()
    except DomainError:
        return False
    return True


def _may_verify(state: CaseState, actor: Actor, policy: Policy) -> bool:
    """The verifier of ``rectification._require_verifier``: the listing authority of a listed
    hazard, else the supervising unit or above (editions without grid authority: anyone
    supervising, the listing authority for 摘牌 when the actor names a unit)."""
    listing = state.listing
    if not authority_follows_the_grid(policy):
        return listing is None or actor.unit_code in (None, listing.authority_unit_code)
    if listing is None:
        return _allowed(lambda: require_supervising_or_above(state, actor, policy, "验收"))
    try:
        return acting_unit(state.grid_path, actor).code == listing.authority_unit_code
    except DomainError:
        return False


def _listing_levels(state: CaseState, actor: Actor, policy: Policy) -> tuple[ListingLevel, ...]:
    current = state.listing.level.rank if state.listing else -1
    levels = []
    for level in ListingLevel:
        if level.rank <= current or state.unit_at(level.grid_level) is None:
            continue
        try:
            require_listing_rank(state.grid_path, actor, level, policy)
        except DomainError:
            continue
        levels.append(level)
    return tuple(levels)


def _may_withdraw(state: CaseState, actor: Actor, policy: Policy) -> bool:
    if withdrawal_by_supervising_unit_or_above(policy):
        return _allowed(lambda: require_supervising_or_above(state, actor, policy, "撤销督办"))
    if withdrawal_by_unit_on_grid_path(policy):
        return _allowed(lambda: acting_unit(state.grid_path, actor))
    return True


def offered_actions(state: CaseState | None, actor: Actor, policy: Policy) -> tuple[Offer, ...]:
    """The actions ``actor`` may take on the case now, in the order a page shows them. None
    for a closed or withdrawn case, a case waiting for a year's holiday data, an auditor, an
    inspector or an administrator."""
    if state is None or not state.is_open or state.notice_pending is not None:
        return ()
    offers: list[Offer] = []
    if actor.role is Role.SUPERVISOR:
        if state.reported_at is not None and _may_verify(state, actor, policy):
            offers.append(Offer(ActionKind.VERIFY, delists=state.listing is not None))
        if state.pending_extension is not None and _allowed(
            lambda: require_supervising_or_above(state, actor, policy, "延期审批")
        ):
            offers.append(Offer(ActionKind.DECIDE_EXTENSION))
        levels = _listing_levels(state, actor, policy)
        if levels:
            offers.append(Offer(ActionKind.LIST, levels=levels))
        if _allowed(lambda: require_supervising_or_above(state, actor, policy, "拒不整改的认定")):
            offers.append(Offer(ActionKind.REFUSAL))
        if _may_withdraw(state, actor, policy):
            offers.append(Offer(ActionKind.WITHDRAW))
    elif actor.role is Role.ENTERPRISE:
        reported = state.reported_at is not None
        if state.hazard_class is HazardClass.MAJOR and not reported:
            offers.append(Offer(ActionKind.SUBMIT_PLAN))
        if not reported and (state.hazard_class is not HazardClass.MAJOR or state.plan_submitted):
            offers.append(Offer(ActionKind.REPORT))
        if (
            not reported
            and state.pending_extension is None
            and state.deadline is not None
            and state.extensions_granted < policy.extension.max_extensions
        ):
            offers.append(Offer(ActionKind.REQUEST_EXTENSION))
    return tuple(offers)
