"""A case's timers (时限): which it waits for, and when each falls due.

Timer keys: ``deadline:<n>`` for the n-th deadline set in the case, ``reminder:<n>:<offset>``
for a reminder before it (offset as in the policy, e.g. ``P3D``), ``review:<m>`` for the m-th
rectification report awaiting verification, ``decision:<k>`` for the k-th extension request
awaiting the authority's decision and ``decision:<k>:<n>`` for its n-th repeated alert. A
fired key is recorded in the state and is never pending again; setting a new deadline gives
new keys. What a timer does when it fires is in ``domain.case.firing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar, end_of_day
from domain.case.self_inspection import acceptance_alert_due
from domain.case.state import CaseState
from domain.durations import PolicyDuration
from domain.editions import (
    deadline_waits_for_extension_decision,
    decision_alert_repeats_up_the_grid,
    lapsed_reminders_recorded,
    reminders_stop_at_their_deadline,
)
from domain.errors import CalendarDataMissing
from domain.policy import Policy


@dataclass(frozen=True)
class Timer:
    key: str
    kind: str  # "reminder" | "reminder_lapsed" | "deadline" | "review" | "extension_decision"
    due_at: datetime


def pending_timers(
    state: CaseState | None,
    policy: Policy,
    calendar: WorkingCalendar | None = None,
    now: datetime | None = None,
) -> list[Timer]:
    """The timers this state waits for, earliest first.

    While an extension request awaits its decision (``deadline_waits_for_extension_decision``)
    the deadline does not fall due — the enterprise asked in time; a late authority must not
    cost it the extension — and the decision has a timer of its own at ``decide_by``, repeated
    up the grid while it stays undecided (``decision_alert_repeats_up_the_grid``; counted on
    ``calendar``, by default the package's years), so that the case is always driven by a
    timer.

    Given ``now``, the reminders of a deadline that has already passed are not sent
    (``reminders_stop_at_their_deadline``): a catch-up after the deadline tells nobody "3 days
    before". Nor are they dropped in silence (``lapsed_reminders_recorded``): each stays
    pending as a ``reminder_lapsed`` timer, due at the time it should have gone out, and firing
    it records ``ReminderLapsed`` (sent to nobody), so the record says the enterprise was never
    reminded. Cases of earlier editions replay as they were recorded (``domain.editions``).
    """
    if state is None or not state.is_open:
        return []
    fired = set(state.fired_timers)
    timers: list[Timer] = []
    waiting_for_decision = (
        deadline_waits_for_extension_decision(policy) and state.pending_extension is not None
    )
    if state.reported_at is not None:
        key = f"review:{state.reports}"
        if key not in fired and state.review_by is not None:
            timers.append(Timer(key, "review", state.review_by))
    elif state.deadline is not None:
        deadline_key = f"deadline:{state.deadline_no}"
        if deadline_key not in fired:
            tz = ZoneInfo(state.time_zone)
            passed = (
                reminders_stop_at_their_deadline(policy)
                and now is not None
                and now >= state.deadline
            )
            kind = "reminder_lapsed" if passed else "reminder"
            for offset in (
                policy.reminders.before_deadline
                if not passed or lapsed_reminders_recorded(policy)
                else ()
            ):
                key = f"reminder:{state.deadline_no}:{offset}"
                due = offset.subtract_calendar(state.deadline, tz)
                set_at = state.deadline_set_at or state.registered_at
                if key not in fired and due > set_at:
                    timers.append(Timer(key, kind, due))
            if not waiting_for_decision:
                timers.append(Timer(deadline_key, "deadline", state.deadline))
    if waiting_for_decision:
        alert = _decision_alert(state, policy, calendar or WorkingCalendar(), now)
        if alert is not None:
            timers.append(alert)
    acceptance = acceptance_alert_due(state, policy, calendar or WorkingCalendar())
    if acceptance is not None:
        timers.append(Timer(acceptance[0], "acceptance", acceptance[1]))
    return sorted(timers, key=lambda t: (t.due_at, t.key))


def _decision_alert(
    state: CaseState, policy: Policy, calendar: WorkingCalendar, now: datetime | None
) -> Timer | None:
    """The next alert of the pending extension request: ``decision:<k>`` at ``decide_by``,
    then (``decision_alert_repeats_up_the_grid``) ``decision:<k>:<n>`` every
    ``decide_within`` after the alert before it.

    An alert counted into a year the calendar has no data for stands, until it could first be
    due, as a timer at the earliest instant it could fall: the working days still to count
    after the last known day, taken as if every day of the new year were one
    (``_earliest_alert``). Nothing waits on calendar data it does not need yet; from that
    instant on, the missing year is the case's block.
    """
    pending = state.pending_extension
    assert pending is not None
    first = f"decision:{state.extension_requests}"
    fired = set(state.fired_timers)
    if first not in fired:
        return Timer(first, "extension_decision", pending.decide_by)
    if not decision_alert_repeats_up_the_grid(policy):
        return None  # edition 2: one alert, then the case waits for the decision
    interval = policy.extension.limits(listed=state.listing is not None).decide_within
    due, number = pending.decide_by, 2
    while True:
        key = f"{first}:{number}"
        try:
            due = _next_alert(due, interval, policy, calendar)
        except CalendarDataMissing as missing:
            not_before = _earliest_alert(due, interval, missing.year, policy, calendar)
            if now is not None and now < not_before and key not in fired:
                return Timer(key, "extension_decision", not_before)
            raise
        if key not in fired:
            return Timer(key, "extension_decision", due)
        number += 1


def _earliest_alert(
    after: datetime,
    interval: PolicyDuration,
    missing_year: int,
    policy: Policy,
    calendar: WorkingCalendar,
) -> datetime:
    """A lower bound of ``_next_alert(after, …)`` when ``missing_year`` has no calendar data:
    the working days counted up to 31 December before it are known; the rest fall in the
    missing year, at the earliest on its first days in a row."""
    new_year = date(missing_year, 1, 1)
    if not interval.is_working_days:
        return datetime(missing_year, 1, 1, tzinfo=policy.tz).astimezone(UTC)
    day = (after.astimezone(policy.tz) - timedelta(microseconds=1)).date()
    remaining = interval.working_days
    while (day := day + timedelta(days=1)) < new_year:
        if calendar.is_working_day(day):
            remaining -= 1
    return end_of_day(new_year + timedelta(days=max(remaining, 1) - 1), policy.tz)


def _next_alert(
    after: datetime, interval: PolicyDuration, policy: Policy, calendar: WorkingCalendar
) -> datetime:
    if interval.is_working_days:
        # From the end of the day the last alert closed: a decide_by at 24:00 Wednesday and
        # P2WD give 24:00 Friday, two whole working days later (not Monday).
        closed = (after.astimezone(policy.tz) - timedelta(microseconds=1)).date()
        return end_of_day(calendar.nth_working_day(closed, interval.working_days), policy.tz)
    return interval.add_to(after, calendar, policy.tz)


def due_timers(
    state: CaseState | None,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar | None = None,
) -> list[Timer]:
    """The pending timers whose time has come at ``now``."""
    return [t for t in pending_timers(state, policy, calendar, now) if t.due_at <= now]
