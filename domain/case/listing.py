"""Listed supervision (挂牌督办): who may list at a level, what a listing states, a listing's
and a de-listing's events with their publication, and the ``ListHazard`` rule.

A listing is also made at registration (``domain.case.notice``) and by escalation
(``domain.case.escalation``); both build its event here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import Actor, ListHazard, Role
from domain.case.deadlines import (
    check_listing_maximum,
    listing_limit,
    listing_maximum_start,
)
from domain.case.events import (
    CaseEvent,
    DelistBasis,
    HazardDelisted,
    HazardListed,
    ListingMeasures,
    ListingPublished,
    PublicationKind,
)
from domain.case.guards import acting_unit, future_deadline, require_role
from domain.case.numbering import listing_no
from domain.case.state import CaseState
from domain.editions import (
    authority_follows_the_grid,
    deadlines_capped_by_listing_maximum,
    listing_states_five_implementations,
    listings_published_on_register,
)
from domain.errors import DomainError
from domain.grid import GridUnit
from domain.policy import ListingLevel, Policy


def require_listing_rank(
    path: Sequence[GridUnit], actor: Actor, level: ListingLevel, policy: Policy
) -> None:
    """A listing at a level is made by a unit at that level or above
    (``authority_follows_the_grid``)."""
    if not authority_follows_the_grid(policy):
        return
    unit = acting_unit(path, actor)
    if unit.level.rank > level.grid_level.rank:
        raise DomainError(
            "case.list.level_above_actor",
            f"a {level.value} listing is made at the {level.value} level or above; "
            f"{unit.code} is {unit.level.value}",
            "level",
        )


def require_listing_measures(
    measures: ListingMeasures | None, policy: Policy
) -> ListingMeasures | None:
    """A listing's 五落实, required where ``listing_states_five_implementations``."""
    if listing_states_five_implementations(policy) and measures is None:
        raise DomainError(
            "case.list.five_implementations_required",
            "挂牌督办 states its 五落实: responsibility, measures, funds, time limit and "
            "emergency plan",
            "listing_measures",
        )
    return measures


def with_publication(event: HazardListed | HazardDelisted, policy: Policy) -> list[CaseEvent]:
    """A listing or de-listing and (``listings_published_on_register``) its publication on
    duban's public register of listed hazards (挂牌/摘牌公告), which is immediate and so within
    ``publish_by``."""
    if not listings_published_on_register(policy):
        return [event]
    kind = PublicationKind.LISTING if isinstance(event, HazardListed) else PublicationKind.DELISTING
    return [
        event,
        ListingPublished(
            listing_no=event.listing_no,
            kind=kind,
            level=event.level,
            authority_unit_code=event.authority_unit_code,
            publish_by=event.publish_by,
            at=event.at,
        ),
    ]


def listed_event(
    state: CaseState,
    level: ListingLevel,
    unit: GridUnit,
    measures: str,
    deadline: datetime | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    listing_measures: ListingMeasures | None = None,
) -> HazardListed:
    """The listing of ``state``'s hazard at ``level`` by ``unit`` (it supersedes a lower one)."""
    return HazardListed(
        listing_no=listing_no(state.hazard_id, level, unit, now, policy.tz),
        level=level,
        authority_unit_code=unit.code,
        authority_name=unit.name,
        authority_person=unit.responsible_person,
        measures=measures,
        deadline=deadline,
        deadline_no=state.deadline_no + 1 if deadline is not None else None,
        supersedes=state.listing.listing_no if state.listing else None,
        publish_by=policy.listing.publish_within.add_to(now, calendar, policy.tz),
        listed_by=actor.id,
        at=now,
        listing_measures=listing_measures,
    )


def delisted_event(
    state: CaseState,
    basis: DelistBasis,
    actor: Actor,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> HazardDelisted:
    """摘牌 of ``state``'s listing, on ``basis``."""
    assert state.listing is not None
    return HazardDelisted(
        listing_no=state.listing.listing_no,
        level=state.listing.level,
        authority_unit_code=state.listing.authority_unit_code,
        basis=basis,
        publish_by=policy.listing.publish_within.add_to(now, calendar, policy.tz),
        delisted_by=actor.id,
        at=now,
    )


def list_hazard(
    state: CaseState, cmd: ListHazard, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    """挂牌督办 of a registered case, or a higher listing of a listed one (提级挂牌)."""
    require_role(
        cmd.actor, (Role.SUPERVISOR,), "case.list.supervisor_only", "list a hazard (挂牌督办)"
    )
    if state.listing is not None and cmd.level.rank <= state.listing.level.rank:
        raise DomainError(
            "case.list.level_not_higher",
            f"already listed at {state.listing.level.value}; a new listing must be higher",
            "level",
        )
    unit = state.unit_at(cmd.level.grid_level)
    if unit is None:
        raise DomainError(
            "case.list.no_unit_at_level", f"the grid path has no {cmd.level.value} unit", "level"
        )
    require_listing_rank(state.grid_path, cmd.actor, cmd.level, policy)
    measures = require_listing_measures(cmd.listing_measures, policy)
    start = listing_maximum_start(state.listing, policy, listing_now=now)
    deadline: datetime | None = None
    if cmd.deadline is not None:
        deadline = future_deadline(cmd.deadline, now, "deadline")
        check_listing_maximum(deadline, start, policy, calendar, "deadline")
    elif deadlines_capped_by_listing_maximum(policy) and state.deadline is not None:
        limit = listing_limit(start, policy, calendar)
        if state.deadline > limit and limit > now:
            deadline = limit  # a deadline set before the listing is brought within its maximum
    return with_publication(
        listed_event(
            state,
            cmd.level,
            unit,
            cmd.measures,
            deadline,
            cmd.actor,
            now,
            policy,
            calendar,
            measures,
        ),
        policy,
    )
