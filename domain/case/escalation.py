"""Escalation (逐级督办): a missed deadline moves the case up the ladder's next rung, or refers
it to enforcement at the top (移送执法); a refusal to rectify (拒不整改) is referred, too. What
each counts on the enterprise's credit record is raised here.
"""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import Actor, RecordRefusal, Role
from domain.case.deadlines import listing_limit, listing_maximum_start, period_end
from domain.case.events import (
    CaseEscalated,
    CaseEvent,
    CreditTriggerRaised,
    DeadlineMissed,
    EnforcementReferred,
    HazardClass,
    ReferralGround,
    RefusalRecorded,
)
from domain.case.guards import require_role, require_supervising_or_above, require_text
from domain.case.listing import listed_event, with_publication
from domain.case.state import CaseState, evolve
from domain.case.timers import Timer
from domain.editions import (
    deadlines_capped_by_listing_maximum,
    escalation_listing_states_rung_measures,
    referred_once_per_case,
)
from domain.errors import DomainError
from domain.policy import CreditEventKind, ListingLevel, Policy, Rung, Step

_STEP_TEXT = {
    Step.SUPERVISION_LETTER: "督办函",
    Step.PUBLIC_CRITICISM: "通报",
    Step.SUMMONS: "约谈",
    Step.LISTING_LEVEL_RAISE: "提级挂牌",
    Step.SUSPENSION_ORDER: "停产整顿",
    Step.ENFORCEMENT_REFERRAL: "移送执法",
}
_LEVEL_TEXT = {
    ListingLevel.COUNTY: "县级",
    ListingLevel.CITY: "市级",
    ListingLevel.PROVINCE: "省级",
}


def rung_measures(index: int, rung: Rung) -> str:
    """The measures a listing made by escalation states: the rung's steps (逐级督办)."""
    level = f"({_LEVEL_TEXT[rung.listing_level]})" if rung.listing_level else ""
    steps = [_STEP_TEXT[s] + (level if s is Step.LISTING_LEVEL_RAISE else "") for s in rung.steps]
    return f"逐级督办第{index}级: " + "、".join(steps)


def _overdue_kind(state: CaseState) -> CreditEventKind:
    return (
        CreditEventKind.MAJOR_OVERDUE_AT_TOP
        if state.hazard_class is HazardClass.MAJOR
        else CreditEventKind.OVERDUE_AT_TOP
    )


def deadline_missed(
    state: CaseState,
    timer: Timer,
    actor: Actor,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    """逾期: move up to the next rung above the current supervising level, or refer at the top.

    The rung's deadline stays within the listing maximum (``_rung_deadline``); when that
    maximum has already ended, the case is referred (挂牌督办期满仍未整改) instead of taking a
    rung that could have no deadline.
    """
    events: list[CaseEvent] = [
        DeadlineMissed(
            timer_key=timer.key,
            deadline=timer.due_at,
            deadline_no=state.deadline_no,
            escalation_index=state.escalation_index,
            extension_lapsed=state.pending_extension is not None,
            at=now,
        )
    ]
    after_missed = evolve(state, events[0])
    nxt = _next_rung(state, policy)
    if nxt is None:
        return events + referral(
            after_missed, ReferralGround.OVERDUE_AT_TOP, _overdue_kind(state), actor, now, policy
        )
    rung = policy.escalation.ladder[nxt]
    unit = state.unit_at(rung.grid_level)
    if unit is None:  # registration checked the path; a changed policy may still lack the level
        raise DomainError(
            "case.escalate.no_unit_at_level", f"the grid path has no {rung.grid_level.value} unit"
        )
    level = rung.listing_level
    lists_now = level is not None and (
        state.listing is None or level.rank > state.listing.level.rank
    )
    deadline = _rung_deadline(state, rung, lists_now, now, policy, calendar)
    if deadline is None:
        return events + referral(
            after_missed,
            ReferralGround.LISTING_PERIOD_ENDED,
            _overdue_kind(state),
            actor,
            now,
            policy,
        )
    events.append(
        CaseEscalated(
            escalation_index=nxt + 1,
            grid_level=rung.grid_level,
            unit_code=unit.code,
            unit_name=unit.name,
            responsible_person=unit.responsible_person,
            steps=rung.steps,
            deadline=deadline,
            deadline_no=state.deadline_no + 1,
            at=now,
        )
    )
    events.append(
        CreditTriggerRaised(
            credit_code=state.credit_code,
            kind=CreditEventKind.ESCALATION,
            hazard_class=state.hazard_class,
            at=now,
        )
    )
    if level is not None and lists_now:
        listing_unit = state.unit_at(level.grid_level)
        if listing_unit is not None:
            states_measures = escalation_listing_states_rung_measures(policy)
            text = rung_measures(nxt + 1, rung) if states_measures else ""
            events += with_publication(
                listed_event(state, level, listing_unit, text, None, actor, now, policy, calendar),
                policy,
            )
    if Step.ENFORCEMENT_REFERRAL in rung.steps:
        events += referral(
            after_missed,
            ReferralGround.LADDER_STEP,
            CreditEventKind.ENFORCEMENT_REFERRAL,
            actor,
            now,
            policy,
        )
    return events


def _next_rung(state: CaseState, policy: Policy) -> int | None:
    """The index of the ladder's next rung above the case's supervising level, or None at the
    top."""
    ladder = policy.escalation.ladder
    return next(
        (
            i
            for i in range(state.escalation_index, len(ladder))
            if ladder[i].grid_level.is_above(state.supervising_level)
        ),
        None,
    )


def _rung_deadline(
    state: CaseState,
    rung: Rung,
    lists_now: bool,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> datetime | None:
    """The deadline the rung sets: its period from ``now``, within the listing maximum
    (``deadlines_capped_by_listing_maximum``; a listing the rung makes now counts as one), or
    None when that maximum has already ended (挂牌督办期满仍未整改)."""
    deadline = period_end(rung.deadline, now, policy, calendar)
    if not deadlines_capped_by_listing_maximum(policy):
        return deadline
    listing_now = now if lists_now else None
    start = listing_maximum_start(state.listing, policy, listing_now=listing_now)
    if start is None:
        return deadline
    limit = listing_limit(start, policy, calendar)
    if limit <= now:
        return None
    return min(deadline, limit)


def referral(
    state: CaseState,
    ground: ReferralGround,
    kind: CreditEventKind,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> list[CaseEvent]:
    """移送执法 and what it counts on the credit record.

    ``referred_once_per_case``: a case is referred once (a second refusal or a later overdue
    at the top is recorded, not referred again); every referral counts as
    ``enforcement_referral``, whatever its ground, and the ground's own kind (refusal, overdue
    at the top) counts once per case.
    """
    unit = state.unit_at(policy.escalation.enforcement_grid_level) or state.grid_path[-1]
    referred = EnforcementReferred(
        ground=ground,
        authority_unit_code=unit.code,
        authority_person=unit.responsible_person,
        referred_by=actor.id,
        at=now,
    )

    def trigger(k: CreditEventKind) -> CreditTriggerRaised:
        return CreditTriggerRaised(
            credit_code=state.credit_code, kind=k, hazard_class=state.hazard_class, at=now
        )

    if not referred_once_per_case(policy):
        return [referred, trigger(kind)]
    events: list[CaseEvent] = []
    if not state.referred:
        events.append(referred)
    if kind is not CreditEventKind.ENFORCEMENT_REFERRAL and kind not in state.raised_credit_kinds:
        events.append(trigger(kind))
    if not state.referred:
        events.append(trigger(CreditEventKind.ENFORCEMENT_REFERRAL))
    return events


def record_refusal(
    state: CaseState, cmd: RecordRefusal, now: datetime, policy: Policy
) -> list[CaseEvent]:
    require_role(
        cmd.actor, (Role.SUPERVISOR,), "case.refusal.supervisor_only", "record a refusal (拒不整改)"
    )
    require_supervising_or_above(state, cmd.actor, policy, "拒不整改的认定")
    require_text(cmd.details, "case.refusal.details_required", "details", "details of the refusal")
    return [
        RefusalRecorded(recorded_by=cmd.actor.id, details=cmd.details, at=now),
        *referral(state, ReferralGround.REFUSAL, CreditEventKind.REFUSAL, cmd.actor, now, policy),
    ]
