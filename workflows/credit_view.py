"""What the credit record answers (``CreditView``), computed from its state at a moment, and
when that answer next changes with time alone (an entry leaves the rating's window, a clean
period completes), so the workflow wakes then and its queries grade at the right time."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calendar import WorkingCalendar
    from domain.credit import (
        CreditState,
        credit_state_to_data,
        pending_credit_timers,
        rating_of,
        whitelist_eligible,
    )
    from domain.errors import DomainError
    from domain.policy import Policy
    from workflows.contracts import CreditView


def credit_view(
    view: CreditView,
    state: CreditState | None,
    policy: Policy | None,
    calendar: WorkingCalendar,
    now: datetime,
) -> CreditView:
    """``view`` (the record's names, version and run) filled from ``state``, rated at ``now``."""
    if state is None or policy is None:
        return view
    try:
        view.rating, view.points = rating_of(state, now, policy, calendar)
        view.whitelist_eligible = whitelist_eligible(state, now, policy, calendar)
    except DomainError:
        pass  # a working-day window in a year without holiday data: the recorded grade stands
    data = credit_state_to_data(state)
    assert data is not None
    view.recorded_rating = state.rating
    view.is_blacklisted = state.is_blacklisted
    view.proceeding = data["proceeding"]
    view.blacklist = data["blacklist"]
    view.recorded = list(data["entries"])
    view.pending_timers = [
        {"key": t.key, "kind": t.kind, "due_at": t.due_at.isoformat()}
        for t in pending_credit_timers(state, policy)
    ]
    view.state = data
    return view


def next_regrade(
    state: CreditState | None,
    policy: Policy | None,
    calendar: WorkingCalendar,
    now: datetime,
) -> datetime | None:
    """When the rating or whitelist eligibility next changes with time alone: an entry
    leaves the rating's window or the clean period, or the clean period completes."""
    if state is None or policy is None:
        return None
    scheme, clean = policy.credit.rating.window, policy.credit.whitelist.clean_period
    starts = [(e.occurred_at, scheme) for e in state.entries]
    starts += [(e.occurred_at, clean) for e in state.entries]
    starts.append((state.opened_at, clean))
    if state.last_listing_ended_at is not None:
        starts.append((state.last_listing_ended_at, clean))
    moments = []
    for start, period in starts:
        try:
            moment = period.add_to(start, calendar, policy.tz) + timedelta(seconds=1)
        except DomainError:
            continue  # a working-day period in a year without holiday data
        if moment > now:
            moments.append(moment)
    return min(moments, default=None)
