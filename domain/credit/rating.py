"""An enterprise's credit rating (信用等级) under the policy's local scheme, its inspection
frequency, and whitelist eligibility (白名单): queries on the state at ``now``."""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.credit.state import CreditState
from domain.policy import Policy


def rating_of(
    state: CreditState, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> tuple[str, int]:
    """(grade, points) under the policy's local scheme at ``now``."""
    scheme = policy.credit.rating
    since = scheme.window.subtract_from(now, calendar, policy.tz)
    deducted = sum(
        scheme.deductions.get(e.kind.value, 0) for e in state.entries if e.occurred_at > since
    )
    points = scheme.base_points - deducted
    if state.is_blacklisted:
        return scheme.blacklisted_grade, points
    return _grade(points, policy), points


def unrecorded_rating(policy: Policy) -> tuple[str, int]:
    """(grade, points) of an enterprise with no credit record: nothing recorded against it, so
    the local scheme's base points and their grade. Every enterprise has a grade."""
    points = policy.credit.rating.base_points
    return _grade(points, policy), points


def _grade(points: int, policy: Policy) -> str:
    grades = policy.credit.rating.grades
    return next((g.grade for g in grades if points >= g.min_points), grades[-1].grade)


def inspections_per_year(
    state: CreditState, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> int | None:
    """检查频次: routine inspections a year for the enterprise's grade at ``now`` (e.g. a D
    enterprise at least 4), or None when the policy's scheme gives no frequencies."""
    grade, _ = rating_of(state, now, policy, calendar)
    return next(
        (g.inspections_per_year for g in policy.credit.rating.grades if g.grade == grade), None
    )


def whitelist_eligible(
    state: CreditState | None, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> bool:
    """白名单: known for the clean period, nothing recorded or listed in it, a good grade."""
    if state is None or state.is_blacklisted or state.proceeding is not None:
        return False
    wl = policy.credit.whitelist
    since = wl.clean_period.subtract_from(now, calendar, policy.tz)
    if state.opened_at > since:
        return False
    if any(e.occurred_at > since for e in state.entries):
        return False
    if state.last_listing_ended_at is not None and state.last_listing_ended_at > since:
        return False
    return rating_of(state, now, policy, calendar)[0] in wl.grades
