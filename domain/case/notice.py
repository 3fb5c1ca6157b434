"""The registration's rectification notice (整改通知书) and the listing it makes: issued with the
registration, or later, once the calendar data it waited for is loaded.

A registration is never refused for calendar data: when its notice needs a year the calendar
lacks, the hazard is recorded and the notice waits (``NoticeAwaitingCalendar``) until a timer
(``NOTICE_KEY``) issues it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.deadlines import (
    check_listing_maximum,
    listing_limit,
    listing_maximum_start,
    period_end,
    period_end_at_least,
)
from domain.case.events import (
    CaseEvent,
    HazardListed,
    NoticeAwaitingCalendar,
    RectificationNoticeIssued,
)
from domain.case.listing import with_publication
from domain.case.numbering import listing_no, notice_no
from domain.case.state import CaseState
from domain.grid import GridUnit
from domain.policy import Policy

NOTICE_KEY = "notice:1"  # FireTimer key that issues a notice awaiting calendar data


def issue_notice(
    hazard_id: str,
    path: Sequence[GridUnit],
    notice: NoticeAwaitingCalendar,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    *,
    bounded: bool = False,
    registering: bool = True,
) -> list[CaseEvent]:
    """The registration's rectification notice, and the listing it makes, issued at ``now``.

    ``bounded``: the listing maximum is computed only where it can bind (a deadline past its
    earliest possible end), so that a year it alone needs is not needed. ``registering``
    False (a notice issued after waiting): a deadline the person set beyond the maximum is
    brought within it, since nobody is there to be refused.
    """
    tz = policy.tz
    events: list[CaseEvent] = []
    deadline = notice.deadline
    level = notice.listing_level
    if level is not None:
        authority = next(u for u in path if u.level is level.grid_level)
        maximum = policy.listing.max_duration
        start = listing_maximum_start(None, policy, listing_now=now)  # this listing is the first
        if deadline is not None:
            if not bounded or deadline > period_end_at_least(maximum, start, policy):
                if registering:
                    check_listing_maximum(deadline, start, policy, calendar, "deadline")
                else:
                    deadline = min(deadline, listing_limit(start, policy, calendar))
        else:
            deadline = period_end(policy.deadlines.listed.for_level(level), now, policy, calendar)
            if not bounded or deadline > period_end_at_least(maximum, start, policy):
                deadline = min(deadline, listing_limit(start, policy, calendar))
        listed = HazardListed(
            listing_no=listing_no(hazard_id, level, authority, now, tz),
            level=level,
            authority_unit_code=authority.code,
            authority_name=authority.name,
            authority_person=authority.responsible_person,
            measures=notice.measures,
            deadline=None,
            deadline_no=None,
            supersedes=None,
            publish_by=policy.listing.publish_within.add_to(now, calendar, tz),
            listed_by=notice.issued_by,
            at=now,
            listing_measures=notice.listing_measures,
        )
        events += with_publication(listed, policy)
    elif deadline is None:
        deadline = period_end(policy.deadlines.general, now, policy, calendar)
    events.append(
        RectificationNoticeIssued(
            notice_no=notice_no(hazard_id, now, tz),
            deadline=deadline,
            deadline_no=1,
            measures=notice.measures,
            responsible_person=notice.responsible_person,
            issued_by=notice.issued_by,
            at=now,
        )
    )
    return events


def issue_waiting_notice(
    state: CaseState, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    """The notice that waited for calendar data, issued now that the year can be counted: its
    period counts from now (the enterprise is never held to a deadline it could not be told),
    and it records the year it waited for and that year's working days' digest."""
    notice = state.notice_pending
    assert notice is not None
    events = issue_notice(
        state.hazard_id,
        state.grid_path,
        notice,
        now,
        policy,
        calendar,
        bounded=True,
        registering=False,
    )
    issued = events[-1]
    assert isinstance(issued, RectificationNoticeIssued)
    events[-1] = replace(
        issued,
        awaited_year=notice.missing_year,
        calendar_digest=calendar.year_digest(notice.missing_year),
    )
    return events
