"""The administrator's calendar file is read strictly (issue 21: a holiday written as a date-time
was accepted and never matched a day), every error names its line and key, and one error loads
nothing; ``check_calendar_file`` also asks that every day of each year be accounted for."""

from __future__ import annotations

from datetime import date

import pytest

from domain.calendar import WorkingCalendar, parse_calendar_toml
from domain.calendar_file import (
    CalendarFileError,
    check_calendar_file,
    key_lines,
    parse_calendar_file,
)
from domain.errors import PolicyError
from domain.policy import parse_policy
from tests.domain.domain_builders import DEFAULT, DEFAULT_TEXT

# The schedule of a year as the State Council's notice gives it (TEST DATA shaped like 2026's).
COMPLETE_2030 = """\
[2030]
notice = "国务院办公厅关于2030年部分节假日安排的通知 (test data)"
workdays = [2030-02-02, 2030-02-16]

[2030.holidays]
new_year = [2030-01-01]
spring_festival = [
  2030-02-03, 2030-02-04, 2030-02-05, 2030-02-06,
  2030-02-07, 2030-02-08, 2030-02-09, 2030-02-10,
]
qingming = [2030-04-05, 2030-04-06, 2030-04-07]
labour_day = ["2030-05-01", "2030-05-02", "2030-05-03", "2030-05-04", "2030-05-05"]
dragon_boat = [2030-06-05]
mid_autumn = [2030-09-12]
national_day = [2030-10-01, 2030-10-02, 2030-10-03, 2030-10-04, 2030-10-05, 2030-10-06, 2030-10-07]
"""


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(CalendarFileError) as refused:
        parse_calendar_file(text)
    return [(p.line, p.key, p.rule) for p in refused.value.problems]


def test_a_holiday_written_as_a_date_time_is_refused_naming_its_line_and_key():
    text = '# 2030\n[2030]\nholidays = [\n  2030-01-01T00:00:00,\n  "2030-02-04",\n]\n'
    with pytest.raises(CalendarFileError) as refused:
        parse_calendar_toml(text)
    assert (refused.value.rule, refused.value.field) == ("calendar.not_a_date", "2030.holidays[0]")
    (problem,) = refused.value.problems
    assert problem.line == 4
    assert "date-time" in problem.message and "write 2030-01-01" in problem.message
    assert "line 4: 2030.holidays[0]" in str(problem)


def test_one_error_loads_nothing_and_every_error_is_listed():
    text = (
        "[2030]\n"
        'holidays = [2030-01-01, 2030-02-03T08:00:00, "2030-13-01", 20300101, "20300105"]\n'
        "workdays = [2030-02-02 08:00:00]\n"
        "[2031]\n"
        "holidays = [2031-01-01]\n"  # a good year: still not loaded from this file
    )
    assert problems_of(text) == [
        (2, "2030.holidays[1]", "calendar.not_a_date"),
        (2, "2030.holidays[2]", "calendar.not_a_date"),
        (2, "2030.holidays[3]", "calendar.not_a_date"),
        (2, "2030.holidays[4]", "calendar.not_a_date"),
        (3, "2030.workdays[0]", "calendar.not_a_date"),
    ]


def test_a_date_is_a_toml_date_or_the_same_date_in_quotes():
    years = parse_calendar_toml('[2030]\nholidays = [2030-01-01, "2030-02-04"]\n')
    assert years[2030].holidays == frozenset({date(2030, 1, 1), date(2030, 2, 4)})
    assert not WorkingCalendar(years).is_working_day(date(2030, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[2030\nholidays = []\n", (1, "calendar", "calendar.file_invalid")),
        ("[2030]\nholidays = [2031-01-01]\n", (2, "2030.holidays[0]", "calendar.file_invalid")),
        (
            "[2030]\nholidays = [2030-01-01, 2030-01-01]\n",
            (2, "2030.holidays[1]", "calendar.file_invalid"),
        ),
        ("[2030]\n\nholidays = []\n", (3, "2030.holidays", "calendar.holidays_required")),
        (
            "[2030]\nholidays = [2030-01-01]\nnotice = 3\n",
            (3, "2030.notice", "calendar.file_invalid"),
        ),
        (
            "[2030]\nworkdays = []\n[2030.holidays]\nnew_year = [2030-01-01]\n"
            "easter = [2030-04-21]\n",
            (5, "2030.holidays.easter", "calendar.file_invalid"),
        ),
        (
            "[2030]\n[2030.holidays]\nnew_year = []\n",
            (3, "2030.holidays.new_year", "calendar.file_invalid"),
        ),
        ("[203]\nholidays = [2030-01-01]\n", (1, "203", "calendar.file_invalid")),
    ],
)
def test_each_error_names_its_line_key_and_rule(text: str, expected: tuple[int, str, str]):
    assert problems_of(text)[0] == expected


def test_the_lines_of_keys_follow_tables_arrays_and_inline_tables():
    text = (
        '[2030]  # a year\nnotice = "a # in a title"\nworkdays = [ 2030-02-02,\n'
        '  "2030-02-16" ] # two\n[2030.holidays]\nqingming = [2030-04-05]\n'
        "[2031]\nholidays = { new_year = [2031-01-01] }\n"
    )
    lines = key_lines(text)
    assert lines["2030"] == 1 and lines["2030.notice"] == 2
    assert (lines["2030.workdays[0]"], lines["2030.workdays[1]"]) == (3, 4)
    assert lines["2030.holidays.qingming[0]"] == 6
    assert lines["2031.holidays.new_year"] == 8


def test_a_complete_year_names_every_holiday_period_and_passes_the_check():
    assert check_calendar_file(COMPLETE_2030) == []
    cal = WorkingCalendar(parse_calendar_toml(COMPLETE_2030))
    assert not cal.is_working_day(date(2030, 2, 4)) and cal.is_working_day(date(2030, 2, 2))
    assert parse_calendar_file(COMPLETE_2030).notices[2030].startswith("国务院办公厅")


def test_a_plain_list_is_read_by_workers_but_the_check_asks_for_named_periods():
    text = '[2030]\nholidays = ["2030-01-01"]\n'
    assert parse_calendar_toml(text)[2030].holidays == frozenset({date(2030, 1, 1)})
    assert [(p.line, p.key, p.rule) for p in check_calendar_file(text)] == [
        (2, "2030.holidays", "calendar.periods_required")
    ]


def _with(old: str, new: str) -> str:
    assert old in COMPLETE_2030
    return COMPLETE_2030.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _with("dragon_boat = [2030-06-05]\n", ""),
            ("2030.holidays.dragon_boat", "calendar.period_missing"),
        ),
        (
            _with(
                "qingming = [2030-04-05, 2030-04-06, 2030-04-07]",
                "qingming = [2030-04-05, 2030-04-07]",
            ),
            ("2030.holidays.qingming", "calendar.period_not_consecutive"),
        ),
        (
            _with("labour_day = [", 'labour_day = ["2030-05-01"]\nx = ['),
            ("2030.holidays.x", "calendar.file_invalid"),
        ),
        (
            _with(
                'labour_day = ["2030-05-01", "2030-05-02", "2030-05-03", "2030-05-04", '
                '"2030-05-05"]',
                'labour_day = ["2030-05-01"]',
            ),
            ("2030.holidays.labour_day", "calendar.period_too_short"),
        ),
        (
            _with("mid_autumn = [2030-09-12]", "mid_autumn = [2030-08-12]"),
            ("2030.holidays.mid_autumn", "calendar.period_misplaced"),
        ),
        (
            _with("new_year = [2030-01-01]", "new_year = [2030-01-02]"),
            ("2030.holidays.new_year", "calendar.period_misplaced"),
        ),
        (
            _with("workdays = [2030-02-02, 2030-02-16]", "workdays = [2030-02-01]"),
            ("2030.workdays[0]", "calendar.workday_not_weekend"),
        ),
    ],
)
def test_the_check_finds_a_year_that_does_not_account_for_every_day(
    text: str, expected: tuple[str, str]
):
    found = [(p.key, p.rule) for p in check_calendar_file(text)]
    assert expected in found, found
    assert all(p.line is not None for p in check_calendar_file(text))


def test_mid_autumn_and_national_day_may_be_one_period():
    text = _with("mid_autumn = [2030-09-12]\n", "").replace(
        "national_day =", "mid_autumn_national_day ="
    )
    assert check_calendar_file(text) == []


def test_the_warning_date_is_a_policy_setting_that_keeps_the_shipped_fingerprint():
    assert DEFAULT.calendar.warn_from == "11-01"
    assert DEFAULT.calendar.warning_day(2026) == date(2026, 11, 1)
    assert "calendar" not in DEFAULT.to_data()  # its default: left out of the fingerprint
    earlier = parse_policy(DEFAULT_TEXT.replace('warn_from = "11-01"', 'warn_from = "10-15"'))
    assert earlier.calendar.warning_day(2026) == date(2026, 10, 15)
    assert earlier.fingerprint != DEFAULT.fingerprint
    for bad in ("02-29", "11-1", "13-01", "Nov 1"):
        with pytest.raises(PolicyError) as refused:
            parse_policy(DEFAULT_TEXT.replace('warn_from = "11-01"', f'warn_from = "{bad}"'))
        assert (refused.value.rule, refused.value.key) == (
            "policy.calendar_warn_from",
            "calendar.warn_from",
        )
