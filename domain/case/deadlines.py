"""How a case's deadlines are counted: a rectification period (整改期限) from an instant, and
the listing maximum (挂牌督办期限) that bounds the deadlines of a listed case.

Where the listing maximum starts counting is decided here once (``listing_maximum_start``),
for every rule that sets or checks a deadline of a listed case.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import overload

from domain.calendar import WorkingCalendar, end_of_day
from domain.case.state import ListingRecord
from domain.durations import PolicyDuration
from domain.editions import (
    deadlines_capped_by_listing_maximum,
    listing_maximum_counts_from_first_listing,
    periods_end_as_legal_periods,
)
from domain.errors import DomainError
from domain.policy import Policy


def period_end(
    duration: PolicyDuration, start: datetime, policy: Policy, calendar: WorkingCalendar
) -> datetime:
    """A rectification period (整改期限) from ``start``: a legal period
    (``periods_end_as_legal_periods``) — a period in days, months or years ends at 24:00 of
    its last day, rolled to the next working day when that day is off work (Civil Code Art.
    201–203) — or, under edition 1, the duration added exactly."""
    if periods_end_as_legal_periods(policy):
        return duration.add_as_period(start, calendar, policy.tz)
    return duration.add_to(start, calendar, policy.tz)


def period_end_at_least(duration: PolicyDuration, start: datetime, policy: Policy) -> datetime:
    """The earliest ``period_end(duration, start, …)`` can be, with no calendar: a legal period
    ends no earlier than 24:00 of its last day (a day off only moves it later), and n working
    days take at least n days."""
    tz = policy.tz
    if duration.is_working_days:
        first_day = start.astimezone(tz).date()
        return end_of_day(first_day + timedelta(days=duration.working_days), tz)
    exact = duration.add_to(start, WorkingCalendar(), tz)  # calendar days: no calendar needed
    if duration.seconds or not periods_end_as_legal_periods(policy):
        return exact
    return end_of_day(exact.astimezone(tz).date(), tz)


@overload
def listing_maximum_start(
    listing: ListingRecord | None, policy: Policy, *, listing_now: datetime
) -> datetime: ...


@overload
def listing_maximum_start(
    listing: ListingRecord | None, policy: Policy, *, listing_now: None = None
) -> datetime | None: ...


def listing_maximum_start(
    listing: ListingRecord | None, policy: Policy, *, listing_now: datetime | None = None
) -> datetime | None:
    """Where the listing maximum counts from for a case listed as ``listing`` (None: not
    listed), or None when nothing bounds its deadlines.

    The first listing (``listing_maximum_counts_from_first_listing``): a raised level does not
    start the year again; under edition 1 the current listing. ``listing_now``: a listing is
    being made at that instant — it is the current listing, and the first when there was none.
    """
    if listing is not None and listing_maximum_counts_from_first_listing(policy):
        return listing.period_start
    if listing_now is not None:
        return listing_now
    return listing.listed_at if listing is not None else None


def listing_limit(start: datetime, policy: Policy, calendar: WorkingCalendar) -> datetime:
    """The latest deadline a listing whose maximum counts from ``start`` allows."""
    return period_end(policy.listing.max_duration, start, policy, calendar)


def check_listing_maximum(
    deadline: datetime,
    start: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    field: str,
) -> None:
    """Refuse (``case.listing.deadline_exceeds_max``) a deadline a person gives beyond the
    listing maximum counted from ``start``."""
    limit = listing_limit(start, policy, calendar)
    if deadline > limit:
        raise DomainError(
            "case.listing.deadline_exceeds_max",
            f"挂牌督办 lasts at most {policy.listing.max_duration}: deadline must be on or "
            f"before {limit.isoformat()}",
            field,
        )


def capped_by_listing_maximum(
    deadline: datetime,
    listing: ListingRecord | None,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> datetime:
    """A deadline the policy computed, bounded by the listing maximum
    (``deadlines_capped_by_listing_maximum``); refused (``case.listing.period_ended``) when
    the maximum has already ended."""
    if not deadlines_capped_by_listing_maximum(policy):
        return deadline
    start = listing_maximum_start(listing, policy)
    if start is None:
        return deadline
    limit = listing_limit(start, policy, calendar)
    if limit <= now:
        raise DomainError(
            "case.listing.period_ended",
            f"the 挂牌督办 period ended at {limit.isoformat()}; no deadline can be set within it",
        )
    return min(deadline, limit)
