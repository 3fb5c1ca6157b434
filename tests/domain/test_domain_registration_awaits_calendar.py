"""A registration is never refused for calendar data: the hazard is recorded and the notice
that needs a year without holiday data waits for it (NoticeAwaitingCalendar), then is issued
once the administrator loads the year. Registrations that need no missing year record exactly
what they always did."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.calendar import PACKAGE_YEARS, WorkingCalendar, parse_calendar_toml
from domain.case import (
    NOTICE_KEY,
    decide,
    event_to_data,
    fold,
    notifications_for,
    pending_timers,
    registration_needed_missing_year,
)
from domain.case.commands import (
    DecideExtension,
    FireTimer,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.events import (
    CaseWithdrawn,
    HazardListed,
    NoticeAwaitingCalendar,
    RectificationNoticeIssued,
)
from domain.errors import CalendarDataMissing
from domain.policy import ListingLevel
from tests.domain.domain_builders import (
    CALENDAR,
    COUNTY,
    COUNTY_SUPERVISOR,
    DEFAULT,
    ENTERPRISE_ACTOR,
    FIVE,
    INSPECTOR,
    PHOTO,
    PLAN,
    SHANGHAI,
    SYSTEM,
    VILLAGE,
    VILLAGE_SUPERVISOR,
    register,
    register_major,
    run,
    types,
)

LAST_KNOWN = PACKAGE_YEARS[-1]  # the package's last year (2026 in chinese-calendar 1.11.0)
NEXT = LAST_KNOWN + 1
# Monday 7 December of the package's last year, when next year's holidays are not loaded yet.
DECEMBER = datetime(LAST_KNOWN, 12, 7, 10, tzinfo=SHANGHAI)
# The administrator's file with next year and the one after (test data, not official).
LOADED = WorkingCalendar(
    parse_calendar_toml(
        f'[{NEXT}]\nholidays = ["{NEXT}-01-01"]\n[{NEXT + 1}]\nholidays = ["{NEXT + 1}-01-01"]\n'
    )
)
REPORT = ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,))


def major_in_december(**overrides):  # type: ignore[no-untyped-def]
    return register_major(found_at=DECEMBER - timedelta(hours=1), **overrides)


def test_a_major_hazard_registered_in_december_is_recorded_with_its_notice_waiting():
    state, events = run([(major_in_december(), DECEMBER)])
    assert types(events) == ["HazardRegistered", "NoticeAwaitingCalendar"]
    waiting = events[1]
    assert isinstance(waiting, NoticeAwaitingCalendar)
    assert waiting.missing_year == NEXT
    # Everything the person gave for the notice is kept.
    assert (waiting.measures, waiting.responsible_person) == ("更换配电箱, 整理线路", "车间主任 刘")
    assert waiting.listing_level is ListingLevel.COUNTY and waiting.issued_by == INSPECTOR.id
    assert state is not None and state.is_open and state.deadline is None
    assert state.notice_pending == waiting and state.status.value == "rectifying"
    assert pending_timers(state, DEFAULT, CALENDAR, DECEMBER) == []


def test_the_rules_before_refused_that_registration():
    assert (
        registration_needed_missing_year(major_in_december(), DECEMBER, DEFAULT, CALENDAR) == NEXT
    )
    assert registration_needed_missing_year(major_in_december(), DECEMBER, DEFAULT, LOADED) is None


def test_a_general_hazard_whose_period_ends_in_an_unknown_year_waits_too():
    # 15 days from 20 December end on 4 January: whether that day works needs next year.
    late = datetime(LAST_KNOWN, 12, 20, 10, tzinfo=SHANGHAI)
    _, events = run([(register(found_at=late - timedelta(hours=1)), late)])
    assert types(events) == ["HazardRegistered", "NoticeAwaitingCalendar"]


def test_a_registration_that_needs_no_missing_year_records_exactly_what_it_did():
    state, events = run([(major_in_december(), DECEMBER)], calendar=LOADED)
    assert types(events) == [
        "HazardRegistered",
        "HazardListed",
        "ListingPublished",
        "RectificationNoticeIssued",
    ]
    notice = event_to_data(events[-1])
    assert "awaited_year" not in notice and "calendar_digest" not in notice
    assert state is not None and "notice_pending" not in event_to_data(events[0])


def test_a_listing_maximum_that_cannot_bind_does_not_need_next_years_holidays():
    # In March the county listing's three months end in June; only the one-year maximum
    # reaches next year, and the deadline is surely within it: nothing waits.
    march = datetime(LAST_KNOWN, 3, 2, 10, tzinfo=SHANGHAI)
    command = register_major(found_at=march - timedelta(hours=1))
    state, events = run([(command, march)])
    assert types(events)[-1] == "RectificationNoticeIssued"
    assert state is not None and state.deadline is not None and state.deadline.month == 6
    # The same deadline as with next year loaded; the rules before refused it.
    full, _ = run([(command, march)], calendar=LOADED)
    assert full is not None and full.deadline == state.deadline
    assert registration_needed_missing_year(command, march, DEFAULT, CALENDAR) == NEXT


def test_the_waiting_notice_is_issued_once_the_year_is_loaded_counting_from_then():
    state, _ = run([(major_in_december(), DECEMBER)])
    with pytest.raises(CalendarDataMissing) as still:
        decide(state, FireTimer(SYSTEM, NOTICE_KEY), DECEMBER, DEFAULT, CALENDAR)
    assert still.value.year == NEXT

    loaded_at = DECEMBER + timedelta(days=9, hours=5)
    issued = decide(state, FireTimer(SYSTEM, NOTICE_KEY), loaded_at, DEFAULT, LOADED)
    assert types(issued) == ["HazardListed", "ListingPublished", "RectificationNoticeIssued"]
    listed, notice = issued[0], issued[-1]
    assert isinstance(listed, HazardListed) and isinstance(notice, RectificationNoticeIssued)
    assert listed.at == notice.at == loaded_at.astimezone(listed.at.tzinfo)
    assert listed.authority_unit_code == COUNTY.code and listed.listed_by == INSPECTOR.id
    assert notice.awaited_year == NEXT and notice.calendar_digest == LOADED.year_digest(NEXT)
    assert (notice.measures, notice.issued_by) == ("更换配电箱, 整理线路", INSPECTOR.id)
    # The period (county listing: three months) counts from the notice, not from registration.
    registered_now, _ = run([(major_in_december(), loaded_at)], calendar=LOADED)
    assert registered_now is not None and notice.deadline == registered_now.deadline
    after = fold(issued, state)
    assert after is not None and after.notice_pending is None and after.deadline == notice.deadline
    assert [t.kind for t in pending_timers(after, DEFAULT, LOADED, loaded_at)] == [
        "reminder",
        "reminder",
        "deadline",
    ]
    with pytest.raises(Exception) as again:  # issued once
        decide(after, FireTimer(SYSTEM, NOTICE_KEY), loaded_at, DEFAULT, LOADED)
    assert getattr(again.value, "rule", "") == "case.timer.not_pending"


def test_the_year_digest_identifies_the_schedule_whatever_its_source():
    text = f'[{LAST_KNOWN}]\nreplace_package_data = true\nholidays = ["{LAST_KNOWN}-01-01"]\n'
    replaced = WorkingCalendar(parse_calendar_toml(text))
    assert CALENDAR.year_digest(LAST_KNOWN) == CALENDAR.year_digest(LAST_KNOWN)
    assert replaced.year_digest(LAST_KNOWN) != CALENDAR.year_digest(LAST_KNOWN)
    with pytest.raises(CalendarDataMissing):
        CALENDAR.year_digest(NEXT)


@pytest.mark.parametrize(
    "command",
    [
        RequestExtension(ENTERPRISE_ACTOR, DECEMBER + timedelta(days=200), "r", "s"),
        DecideExtension(COUNTY_SUPERVISOR, True),
        ListHazard(COUNTY_SUPERVISOR, ListingLevel.CITY, "m", listing_measures=FIVE),
        WithdrawCase(COUNTY_SUPERVISOR, "登记有误"),
        RecordRefusal(COUNTY_SUPERVISOR, "拒绝整改"),
    ],
    ids=lambda c: type(c).__name__,
)
def test_a_step_that_needs_the_waiting_notice_is_refused_naming_the_missing_year(command):  # type: ignore[no-untyped-def]
    state, _ = run([(major_in_december(), DECEMBER)])
    with pytest.raises(CalendarDataMissing) as refused:
        decide(state, command, DECEMBER, DEFAULT, CALENDAR)
    assert (refused.value.rule, refused.value.field, refused.value.year) == (
        "calendar.year_missing",
        "calendar",
        NEXT,
    )


def test_what_the_enterprise_reports_is_taken_while_the_notice_waits():
    state, events = run(
        [
            (major_in_december(), DECEMBER),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), DECEMBER),
            (REPORT, DECEMBER),
        ]
    )
    assert types(events)[2:] == ["GovernancePlanSubmitted", "RectificationReported"]
    assert state is not None and state.notice_pending is not None
    # A failed verification would set a deadline before the notice's: it waits with it.
    with pytest.raises(CalendarDataMissing):
        decide(state, VerifyRectification(COUNTY_SUPERVISOR, False), DECEMBER, DEFAULT, CALENDAR)
    # Once the notice is issued, the reported case is verified as any other.
    issued = decide(state, FireTimer(SYSTEM, NOTICE_KEY), DECEMBER, DEFAULT, LOADED)
    after = fold(issued, state)
    passed = decide(after, VerifyRectification(COUNTY_SUPERVISOR, True), DECEMBER, DEFAULT, LOADED)
    assert types(passed)[-1] == "CaseClosed"


def test_an_unlisted_case_whose_notice_waits_is_verified_a_failure_waiting_with_it():
    late = datetime(LAST_KNOWN, 12, 20, 10, tzinfo=SHANGHAI)
    state, _ = run([(register(found_at=late - timedelta(hours=1)), late), (REPORT, late)])
    with pytest.raises(CalendarDataMissing) as failed:
        decide(state, VerifyRectification(VILLAGE_SUPERVISOR, False), late, DEFAULT, CALENDAR)
    assert failed.value.year == NEXT
    passed = decide(state, VerifyRectification(VILLAGE_SUPERVISOR, True), late, DEFAULT, CALENDAR)
    assert types(passed) == ["VerificationPassed", "CaseClosed"]
    # A major hazard's verification is its listing authority's, which the notice has not
    # named yet: it waits.
    major, _ = run(
        [
            (major_in_december(), DECEMBER),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), DECEMBER),
            (REPORT, DECEMBER),
        ]
    )
    with pytest.raises(CalendarDataMissing):
        decide(major, VerifyRectification(COUNTY_SUPERVISOR, True), DECEMBER, DEFAULT, CALENDAR)


def test_an_unlisted_case_whose_notice_waits_can_be_withdrawn_by_its_supervising_unit():
    late = datetime(LAST_KNOWN, 12, 20, 10, tzinfo=SHANGHAI)
    state, events = run(
        [
            (register(found_at=late - timedelta(hours=1)), late),
            (WithdrawCase(VILLAGE_SUPERVISOR, "登记有误"), late),
        ]
    )
    assert isinstance(events[-1], CaseWithdrawn) and state is not None and not state.is_open


def test_the_administrator_the_supervisors_and_the_enterprise_are_told_who_must_act():
    _, events = run([(major_in_december(), DECEMBER)])
    registered_state = fold(events[:1])
    told = notifications_for(registered_state, events[1])
    assert {(n.recipient_kind, n.recipient_id, n.reason) for n in told} == {
        ("admin", "administrators", f"calendar_year_missing:{NEXT}"),
        ("grid_responsible", VILLAGE.responsible_person, "notice_awaiting_calendar"),
        ("enterprise", major_in_december().enterprise.credit_code, "notice_awaiting_calendar"),
        ("listing_authority", COUNTY.responsible_person, "notice_awaiting_calendar"),
    }
    assert len({n.step_key for n in told}) == len(told)
    # The administrators once per missing year, whichever case (or watch) tells them first.
    admins = next(n for n in told if n.recipient_kind == "admin")
    assert admins.step_key == f"calendar:{NEXT}:missing:admin:administrators"
    other = fold(run([(major_in_december(hazard_id="H-0002"), DECEMBER)])[1][:1])
    again = notifications_for(other, run([(major_in_december(hazard_id="H-0002"), DECEMBER)])[1][1])
    assert admins.step_key in {n.step_key for n in again}


def test_a_deadline_the_person_set_beyond_the_listing_maximum_is_brought_within_it_later():
    # Past the maximum's earliest end (7 December next year), so the maximum is needed.
    asked = datetime(NEXT, 12, 10, 17, tzinfo=SHANGHAI)
    command = major_in_december(deadline=asked)
    state, events = run([(command, DECEMBER)])
    assert types(events)[-1] == "NoticeAwaitingCalendar"
    waiting = events[-1]
    assert isinstance(waiting, NoticeAwaitingCalendar) and waiting.deadline == asked
    # Issued the next day: the maximum (one year from the listing) ends on 8 December.
    issued = decide(
        state, FireTimer(SYSTEM, NOTICE_KEY), DECEMBER + timedelta(days=1), DEFAULT, LOADED
    )
    notice = issued[-1]
    assert isinstance(notice, RectificationNoticeIssued)
    assert notice.deadline == datetime(NEXT, 12, 9, tzinfo=SHANGHAI)  # 24:00 on the 8th
    # Issued within the maximum it stands as the person set it.
    later = DECEMBER + timedelta(days=5)
    kept = decide(state, FireTimer(SYSTEM, NOTICE_KEY), later, DEFAULT, LOADED)[-1]
    assert isinstance(kept, RectificationNoticeIssued) and kept.deadline == asked


def test_an_immediate_rectification_never_waits():
    command = register(found_at=DECEMBER - timedelta(hours=1))
    _, events = run([(replace(command, mode=command.mode.IMMEDIATE), DECEMBER)])
    assert types(events) == ["HazardRegistered", "CaseClosed"]
