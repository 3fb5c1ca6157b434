"""The gaps a mutation run of domain/ found (issue 21): each test here fails under a mutant that
the other tests let live — a week duration, an empty time part, durations whose ranges partly
overlap, periods that start at 00:30 local or end on a Sunday, the refusals' fields and rule
ids, the credit code's region slice and an enterprise's normalised code."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import PACKAGE_YEARS, WorkingCalendar, YearCalendar, end_of_day
from domain.calendar_file import (
    CalendarFileError,
    CalendarProblem,
    _line_of,
    check_calendar_file,
    key_lines,
    parse_calendar_file,
)
from domain.case.commands import Actor, ReportRectification, RequestExtension, Role
from domain.case.guards import acting_unit, future_deadline
from domain.credit.guards import require_deciding_level
from domain.credit_code import (
    is_valid_credit_code,
    make_credit_code,
    validate_credit_code,
)
from domain.deadline_bounds import check_deadline_bound, latest_deadline
from domain.durations import EARLIEST_YEAR, LATEST_YEAR, PolicyDuration, utc_instant
from domain.errors import CalendarDataMissing, DomainError, PolicyError
from domain.grid import Enterprise, GridLevel, GridTree, GridUnit
from tests.domain.domain_builders import (
    CITY,
    COUNTY,
    DEFAULT,
    ENTERPRISE_ACTOR,
    NOW,
    PATH,
    PROVINCE,
    SHANGHAI,
    TOWNSHIP,
    VILLAGE,
    register,
)
from tests.domain.test_domain_calendar_file import COMPLETE_2030

CAL = WorkingCalendar()
UNKNOWN_YEAR = PACKAGE_YEARS.stop + 50  # a year no source has data for


def refusal(call, *args, **kwargs) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    return refused.value.rule, refused.value.field


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


class NoOffset(tzinfo):
    """A time zone that does not know its offset: such a datetime is naive (datetime docs)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("P2W", (0, 0, 14, 0, 0)),
        ("P1W3D", (0, 0, 10, 0, 0)),
        (" p1y2m10dt2h30m5s ", (1, 2, 10, 2 * 3600 + 30 * 60 + 5, 0)),
        ("PT1H", (0, 0, 0, 3600, 0)),
        ("PT2M", (0, 0, 0, 120, 0)),
        ("P3M", (0, 3, 0, 0, 0)),
        ("P20WD", (0, 0, 0, 0, 20)),
        ("p1wd", (0, 0, 0, 0, 1)),
    ],
)
def test_each_part_of_a_duration_is_read_into_its_own_unit(text: str, parts: tuple[int, ...]):
    d = PolicyDuration.parse(text)
    assert (d.years, d.months, d.days, d.seconds, d.working_days) == parts


def test_a_week_duration_prints_as_days_and_a_working_day_duration_as_written():
    assert str(PolicyDuration.parse("P2W")) == "P14D"
    assert str(PolicyDuration.parse("PT3725S")) == "PT1H2M5S"
    assert str(PolicyDuration.parse("P1DT1S")) == "P1DT1S"
    assert str(PolicyDuration.parse("P3WD")) == "P3WD"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("P1DT", "duration.syntax"),
        ("PT", "duration.syntax"),
        ("P", "duration.syntax"),
        ("P1X", "duration.syntax"),
        ("P0WD", "duration.positive"),
        ("PT0S", "duration.positive"),
        ("P0Y0M0D", "duration.positive"),
    ],
)
def test_a_bad_duration_names_its_rule_and_the_field_it_was_given_for(text: str, rule: str):
    assert refusal(PolicyDuration.parse, text, "deadlines.rectify") == (rule, "deadlines.rectify")
    assert refusal(PolicyDuration.parse, text)[1] == "duration"


def test_zero_and_working_days_are_told_apart():
    assert PolicyDuration().is_zero and not PolicyDuration(seconds=1).is_zero
    assert not PolicyDuration(working_days=1).is_zero and not PolicyDuration(years=1).is_zero
    assert not PolicyDuration(months=1).is_zero and not PolicyDuration(days=1).is_zero
    assert PolicyDuration(working_days=1).is_working_days
    assert not PolicyDuration(days=1).is_working_days


def test_bounds_in_seconds_give_the_shortest_and_longest_span():
    day = 86400
    assert PolicyDuration.parse("P1Y2M3DT4S").bounds_in_seconds() == (
        (365 + 2 * 28 + 3) * day + 4,
        (366 + 2 * 31 + 3) * day + 4,
    )
    assert PolicyDuration.parse("P3WD").bounds_in_seconds() == (3 * day, (3 * 7 + 9) * day)
    assert PolicyDuration.parse("PT30S").bounds_in_seconds() == (30, 30)


@pytest.mark.parametrize(
    ("shorter", "longer", "surely"),
    [
        ("P366D", "P1Y", False),  # a year is 365 or 366 days: 366 days may be longer
        ("P365D", "P1Y", True),
        ("P1DT1S", "P1D", False),
        ("P1D", "P1DT1S", True),
        ("P1MT1S", "P1M", False),
        ("P1M", "P1MT1S", True),
        ("P1M1D", "P1M", False),
        ("P1Y", "P12M", True),
        ("P12M", "P1Y1D", True),
        ("P1Y", "P1Y1D", True),
        ("P1WD", "P1D", False),
        ("P1D", "P1WD", True),
        ("P4WD", "P1M", False),
        ("P2WD", "P2WD", True),
        ("P2D", "P1WD", False),  # one working day may be a single day
        ("P5WD", "P1Y", True),
        ("P1D", "P1D", True),
        ("P1D", "PT86400S", True),
        ("PT86401S", "P1D", False),
        ("P1DT1S", "PT86401S", True),
    ],
)
def test_surely_at_most_with_ranges_that_partly_overlap(shorter: str, longer: str, surely: bool):
    assert PolicyDuration.parse(shorter).surely_at_most(PolicyDuration.parse(longer)) is surely


def test_a_legal_period_with_a_time_part_is_exact_and_working_days_end_the_day():
    start = local(2025, 3, 7, 9)  # a Friday
    assert PolicyDuration.parse("PT30S").add_as_period(start, CAL, SHANGHAI) == start + timedelta(
        seconds=30
    )
    assert PolicyDuration.parse("P1DT1H").add_as_period(start, CAL, SHANGHAI) == local(
        2025, 3, 8, 10
    )
    assert PolicyDuration.parse("P1WD").add_as_period(start, CAL, SHANGHAI) == local(2025, 3, 11)
    # a day: the period's last day is Saturday 8 March, rolled to Monday's end
    assert PolicyDuration.parse("P1D").add_as_period(start, CAL, SHANGHAI) == local(2025, 3, 11)
    assert PolicyDuration.parse("P1M").add_as_period(start, CAL, SHANGHAI) == local(2025, 4, 8)


def test_subtracting_durations_goes_back_on_the_wall_clock_and_by_working_days():
    end = local(2025, 3, 10)  # 24:00 Sunday 9 March
    one = PolicyDuration.parse("P1WD")
    assert one.subtract_from(end, CAL, SHANGHAI) == local(2025, 3, 8)
    assert one.subtract_from(end, CAL, SHANGHAI, closing_day_must_work=True) == local(2025, 3, 7)
    assert PolicyDuration.parse("P1DT2H").subtract_from(end, CAL, SHANGHAI) == local(2025, 3, 8, 22)
    assert PolicyDuration.parse("P1Y1M").subtract_calendar(end, SHANGHAI) == local(2024, 2, 10)
    assert PolicyDuration.parse("P1Y1M").subtract_calendar(end, SHANGHAI).tzinfo == UTC


NEW_YORK = ZoneInfo("America/New_York")  # clocks go forward at 02:00 on Sunday 9 March 2025


def test_calendar_durations_count_the_wall_clock_of_the_zone_across_a_clock_change():
    def ny(*parts: int) -> datetime:
        return datetime(*parts, tzinfo=NEW_YORK)  # type: ignore[misc]

    after = ny(2025, 3, 9, 12)  # EDT
    one_day = PolicyDuration.parse("P1D")
    assert one_day.subtract_from(after, CAL, NEW_YORK) == ny(2025, 3, 8, 12)  # EST
    assert one_day.subtract_calendar(after, NEW_YORK) == ny(2025, 3, 8, 12)
    # a two-day legal period from 23:30 Saturday ends with Monday, not Tuesday
    two_days = PolicyDuration.parse("P2D")
    assert two_days.add_as_period(ny(2025, 3, 8, 23, 30), CAL, NEW_YORK) == ny(2025, 3, 11)
    # the last day is the zone's day, not the machine's: 00:30 Saturday in Shanghai
    assert one_day.add_as_period(local(2025, 3, 7, 0, 30), CAL, SHANGHAI) == local(2025, 3, 11)


def test_a_working_day_duration_cannot_be_subtracted_without_a_calendar():
    assert refusal(PolicyDuration.parse("P2WD").subtract_calendar, local(2025, 3, 3), SHANGHAI) == (
        "duration.calendar_only",
        "duration",
    )


@pytest.mark.parametrize(
    "instant", [datetime(2025, 3, 3, 9), datetime(2025, 3, 3, 9, tzinfo=NoOffset())]
)
def test_every_duration_refuses_a_naive_instant(instant: datetime):
    d = PolicyDuration.parse("P1D")
    expected = ("time.aware_required", "datetime")
    assert refusal(d.add_to, instant, CAL, SHANGHAI) == expected
    assert refusal(d.add_as_period, instant, CAL, SHANGHAI) == expected
    assert refusal(d.subtract_from, instant, CAL, SHANGHAI) == expected
    assert refusal(d.subtract_calendar, instant, SHANGHAI) == expected
    assert refusal(utc_instant, instant, "found_at") == ("time.aware_required", "found_at")


def test_an_instant_is_accepted_from_1900_to_9998_and_given_in_utc():
    assert utc_instant(local(2025, 3, 3, 8), "found_at") == datetime(2025, 3, 3, tzinfo=UTC)
    assert utc_instant(datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC), "x").year == 1900
    assert utc_instant(datetime(LATEST_YEAR, 12, 31, tzinfo=UTC), "x").year == 9998
    assert refusal(utc_instant, datetime(1899, 12, 31, tzinfo=UTC), "due") == (
        "time.out_of_range",
        "due",
    )
    assert refusal(utc_instant, datetime(9999, 1, 1, tzinfo=UTC), "due") == (
        "time.out_of_range",
        "due",
    )


# --- working days -----------------------------------------------------------------------------


def test_a_period_starting_at_00_30_local_counts_from_that_local_day():
    # 00:30 Tuesday 4 March in Shanghai is still Monday 3 March in UTC
    start = local(2025, 3, 4, 0, 30).astimezone(UTC)
    assert CAL.add_working_days(start, 1, SHANGHAI) == local(2025, 3, 6)
    assert PolicyDuration.parse("P1WD").add_to(start, CAL, SHANGHAI) == local(2025, 3, 6)
    assert CAL.subtract_working_days(local(2025, 3, 6, 0, 30), 1, SHANGHAI) == local(2025, 3, 6)


def test_an_instant_of_24_00_closes_the_day_before_it():
    assert CAL.subtract_working_days(local(2025, 3, 6), 1, SHANGHAI) == local(2025, 3, 5)
    # a microsecond after midnight closes the day it is in
    just_after = local(2025, 3, 6).replace(microsecond=1)
    assert CAL.subtract_working_days(just_after, 1, SHANGHAI) == local(2025, 3, 6)
    assert CAL.subtract_working_days(local(2025, 3, 6), 2, SHANGHAI) == local(2025, 3, 4)


def test_working_days_step_one_day_at_a_time_over_a_weekend():
    friday = local(2025, 3, 7, 9)
    assert CAL.add_working_days(friday, 1, SHANGHAI) == local(2025, 3, 11)  # Monday's end
    assert CAL.add_working_days(friday, 2, SHANGHAI) == local(2025, 3, 12)
    assert CAL.nth_working_day(date(2025, 3, 10), -1) == date(2025, 3, 7)
    assert CAL.nth_working_day(date(2025, 3, 11), -2) == date(2025, 3, 7)


def test_a_legal_period_ending_on_a_sunday_ends_on_monday():
    assert CAL.end_of_legal_period(date(2025, 3, 9), SHANGHAI) == local(2025, 3, 11)
    assert CAL.end_of_legal_period(date(2025, 3, 8), SHANGHAI) == local(2025, 3, 11)
    assert CAL.end_of_legal_period(date(2025, 3, 7), SHANGHAI) == local(2025, 3, 8)
    assert end_of_day(date(2025, 3, 9), SHANGHAI) == datetime(2025, 3, 9, 16, tzinfo=UTC)


def test_the_closing_day_counts_by_default_and_must_work_only_when_asked():
    end = local(2025, 3, 10)  # 24:00 Sunday 9 March
    assert CAL.subtract_working_days(end, 1, SHANGHAI) == local(2025, 3, 8)
    assert CAL.subtract_working_days(end, 1, SHANGHAI, closing_day_must_work=False) == local(
        2025, 3, 8
    )
    assert CAL.subtract_working_days(end, 1, SHANGHAI, closing_day_must_work=True) == local(
        2025, 3, 7
    )
    # a Saturday closing day goes back to Friday, one day at a time
    saturday_end = local(2025, 3, 9)
    assert CAL.subtract_working_days(
        saturday_end, 1, SHANGHAI, closing_day_must_work=True
    ) == local(2025, 3, 7)
    # a working closing day is counted either way
    friday_end = local(2025, 3, 8)
    assert CAL.subtract_working_days(friday_end, 1, SHANGHAI, closing_day_must_work=True) == local(
        2025, 3, 7
    )


@pytest.mark.parametrize(
    "instant", [datetime(2025, 3, 3, 9), datetime(2025, 3, 3, 9, tzinfo=NoOffset())]
)
def test_working_day_arithmetic_refuses_a_naive_datetime(instant: datetime):
    expected = ("time.aware_required", "datetime")
    assert refusal(CAL.add_working_days, instant, 1, SHANGHAI) == expected
    assert refusal(CAL.subtract_working_days, instant, 1, SHANGHAI) == expected


def test_working_day_counts_below_one_name_the_count():
    start = local(2025, 3, 3, 9)
    for n in (0, -1):
        expected = ("calendar.working_days_positive", "n")
        assert refusal(CAL.add_working_days, start, n, SHANGHAI) == expected
        assert refusal(CAL.subtract_working_days, start, n, SHANGHAI) == expected


def test_has_year_is_false_for_a_year_no_source_knows():
    assert not CAL.has_year(UNKNOWN_YEAR)
    assert not CAL.has_year(PACKAGE_YEARS.stop)
    assert CAL.has_year(PACKAGE_YEARS.start) and CAL.has_year(PACKAGE_YEARS.stop - 1)
    assert not CAL.has_year(PACKAGE_YEARS.start - 1)
    extra = WorkingCalendar({UNKNOWN_YEAR: YearCalendar(holidays=frozenset({date(2099, 1, 1)}))})
    assert extra.has_year(UNKNOWN_YEAR)
    assert CAL.first_missing_year(PACKAGE_YEARS.start) == PACKAGE_YEARS.stop
    assert CAL.first_missing_year(UNKNOWN_YEAR) == UNKNOWN_YEAR
    assert extra.file_years == (UNKNOWN_YEAR,) and CAL.file_years == ()
    assert extra.years == (*PACKAGE_YEARS, UNKNOWN_YEAR)


def test_a_file_year_decides_over_the_package_and_its_weekends():
    year = PACKAGE_YEARS.stop - 1
    first_monday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 0)
    saturday = first_monday + timedelta(days=5)
    cal = WorkingCalendar(
        {year: YearCalendar(holidays=frozenset({first_monday}), workdays=frozenset({saturday}))}
    )
    assert not cal.is_working_day(first_monday) and cal.is_working_day(saturday)
    assert cal.is_working_day(first_monday + timedelta(days=4))  # Friday
    assert not cal.is_working_day(saturday + timedelta(days=1))  # Sunday
    assert not cal.is_working_day(saturday + timedelta(days=7))  # a Saturday not listed


def test_a_years_digest_is_the_sha256_of_its_working_days_one_a_line():
    # a year whose 1 January and 31 December are working days: both ends count
    year = next(
        y
        for y in range(UNKNOWN_YEAR, UNKNOWN_YEAR + 28)
        if date(y, 1, 1).weekday() < 5 and date(y, 12, 31).weekday() < 5
    )
    holiday = date(year, 3, 3) + timedelta(days=(7 - date(year, 3, 3).weekday()) % 7)  # a Monday
    cal = WorkingCalendar({year: YearCalendar(holidays=frozenset({holiday}))})
    days = [date(year, 1, 1) + timedelta(days=i) for i in range(366)]
    expected = "\n".join(
        d.isoformat() for d in days if d.year == year and d.weekday() < 5 and d != holiday
    )
    assert expected.startswith(f"{year}-01-01\n") and expected.endswith(f"{year}-12-31")
    assert cal.year_digest(year) == hashlib.sha256(expected.encode()).hexdigest()


# --- credit code ------------------------------------------------------------------------------


def test_the_administrative_division_is_characters_3_to_8_and_must_be_digits():
    assert is_valid_credit_code(make_credit_code("9A350100M000100Y4"))  # type: a letter
    assert is_valid_credit_code(make_credit_code("91350100M000100Y4"))  # 9th: a letter
    for prefix in ("91A50100M000100Y4", "9135010AM000100Y4", "913A0100M000100Y4"):
        assert refusal(make_credit_code, prefix) == ("credit_code.gb32100_check", "credit_code")


@pytest.mark.parametrize(
    "code",
    ["", "9135010M000100Y43", "91350100M000100Y433", "91350100M000100YI3", "91350100M000100Y44"],
)
def test_every_refused_credit_code_names_the_check_rule_and_the_field(code: str):
    assert refusal(validate_credit_code, code) == ("credit_code.gb32100_check", "credit_code")


def test_a_prefix_must_have_17_characters():
    assert refusal(make_credit_code, "91350100M000100Y") == (
        "credit_code.gb32100_check",
        "credit_code",
    )
    assert make_credit_code(" 91350100m000100y4 ") == "91350100M000100Y43"


# --- grid -------------------------------------------------------------------------------------


def test_an_enterprise_keeps_its_credit_code_trimmed_and_upper_case():
    e = Enterprise(" 91350100m000100y43 ", "x", "机械", VILLAGE.code)
    assert e.credit_code == "91350100M000100Y43"
    assert refusal(Enterprise, "91350100M000100Y43", "  ", "机械", VILLAGE.code) == (
        "enterprise.name_required",
        "name",
    )


def test_a_grid_unit_needs_a_code_and_a_responsible_person():
    assert refusal(GridUnit, " ", "x", GridLevel.CITY, None, "p") == (
        "grid.unit.code_required",
        "code",
    )
    assert refusal(GridUnit, "C", "x", GridLevel.CITY, None, " ") == (
        "grid.unit.responsible_person_required",
        "responsible_person",
    )


def test_grid_refusals_name_their_field():
    assert refusal(GridTree, [*PATH, VILLAGE]) == ("grid.code_unique", "code")
    assert refusal(GridTree, [VILLAGE]) == ("grid.parent_unknown", "parent_code")
    flat = GridUnit("X", "x", GridLevel.TOWNSHIP, TOWNSHIP.code, "p")
    assert refusal(GridTree, [*PATH, flat]) == ("grid.parent_level_above", "level")
    tree = GridTree(PATH)
    assert refusal(tree.unit, "nowhere") == ("grid.unit_unknown", "grid_code")
    assert refusal(tree.path_to_root, "nowhere") == ("grid.unit_unknown", "grid_code")
    in_township = Enterprise(make_credit_code("91370782MA3C12345"), "x", "机械", TOWNSHIP.code)
    assert refusal(tree.enterprise_path, in_township) == (
        "grid.enterprise_in_lowest_unit",
        "grid_code",
    )


def test_every_unit_of_a_grid_is_checked_whatever_the_order():
    orphan = GridUnit("X1", "x", GridLevel.CITY, "nowhere", "p")
    assert refusal(GridTree, [PROVINCE, orphan]) == ("grid.parent_unknown", "parent_code")


def test_grid_levels_rank_from_the_province_down():
    assert [level.rank for level in GridLevel] == [0, 1, 2, 3, 4]
    assert GridLevel.PROVINCE.is_above(GridLevel.CITY)
    assert not GridLevel.CITY.is_above(GridLevel.CITY)
    assert not GridLevel.VILLAGE.is_above(GridLevel.TOWNSHIP)


def test_a_grid_lists_its_units_and_a_unit_is_within_itself():
    tree = GridTree(PATH)
    assert tree.units == PATH
    assert tree.is_within(COUNTY.code, COUNTY.code)
    assert not tree.is_within(CITY.code, COUNTY.code)
    assert tree.path_to_root(PROVINCE.code) == [PROVINCE]
    assert tree.enterprise_path(
        Enterprise(make_credit_code("91370782MA3C12345"), "x", "机械", VILLAGE.code)
    ) == list(PATH)


# --- the administrator's calendar file -----------------------------------------------------


def calendar_problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(CalendarFileError) as refused:
        parse_calendar_file(text)
    return [(p.line, p.key, p.rule) for p in refused.value.problems]


def test_a_calendar_file_error_tells_how_many_more_problems_there_are():
    one = CalendarProblem(2, "2030.holidays[0]", "calendar.not_a_date", "m")
    assert str(CalendarFileError([one])) == "[calendar.not_a_date] line 2: 2030.holidays[0]: m " + (
        "(calendar.not_a_date) (field: 2030.holidays[0])"
    )
    two = CalendarFileError([one, one])
    assert "(and 1 more)" in str(two) and two.field == "2030.holidays[0]"
    assert str(CalendarProblem(None, "calendar", "calendar.file_invalid", "m")) == (
        "calendar: m (calendar.file_invalid)"
    )


def test_a_year_the_package_knows_is_replaced_only_when_the_file_says_so():
    year = PACKAGE_YEARS.stop - 1
    plain = f"[{year}]\nholidays = [{year}-01-01]\n"
    assert calendar_problems(plain) == [(1, str(year), "calendar.package_year_override")]
    replaced = parse_calendar_file(f"[{year}]\nreplace_package_data = true\n" + plain[7:])
    assert replaced.replaces_package == frozenset({year})
    assert replaced.years[year].holidays == frozenset({date(year, 1, 1)})
    # a value that is not true or false replaces nothing
    assert calendar_problems(f"[{year}]\nreplace_package_data = 1\n" + plain[7:]) == [
        (2, f"{year}.replace_package_data", "calendar.file_invalid"),
        (1, str(year), "calendar.package_year_override"),
    ]
    added = parse_calendar_file(f"[{UNKNOWN_YEAR}]\nholidays = [{UNKNOWN_YEAR}-01-01]\n")
    assert added.replaces_package == frozenset() and added.notices == {} and added.periods == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[2030]\nfoo = 1\nholidays = [2030-01-01]\n", [(2, "2030.foo", "calendar.file_invalid")]),
        ("[2030]\n", [(1, "2030.holidays", "calendar.holidays_required")]),
        ("[2030]\nholidays = {}\n", [(2, "2030.holidays", "calendar.holidays_required")]),
        ("[2030]\nholidays = 2030-01-01\n", [(2, "2030.holidays", "calendar.file_invalid")]),
        (
            "[2030]\nholidays = [2030-01-01]\nworkdays = 2030-01-05\n",
            [(3, "2030.workdays", "calendar.file_invalid")],
        ),
        (
            '[2030]\nholidays = [2030-01-01]\nnotice = "  "\n',
            [(3, "2030.notice", "calendar.file_invalid")],
        ),
        (
            "[2030]\nholidays = [2030-01-05]\nworkdays = [2030-01-05]\n",
            [(1, "2030", "calendar.file_invalid")],
        ),
        ("year = 2030\n", [(1, "year", "calendar.file_invalid")]),
        ("[20300]\nholidays = [2030-01-01]\n", [(1, "20300", "calendar.file_invalid")]),
        (
            "[2030]\n[2030.holidays]\nnew_year = 2030-01-01\n",
            [(3, "2030.holidays.new_year", "calendar.file_invalid")],
        ),
    ],
)
def test_each_calendar_file_error_names_its_line_key_and_rule(
    text: str, expected: list[tuple[int | None, str, str]]
):
    assert calendar_problems(text) == expected
    assert check_calendar_file(text) == [
        CalendarProblem(line, key, rule, p.message)
        for (line, key, rule), p in zip(expected, check_calendar_file(text), strict=True)
    ]


def test_a_file_with_named_periods_and_a_notice_is_read_whole():
    text = (
        "[2030]\n"
        'notice = "the notice"\n'
        "workdays = [2030-02-02]\n"
        "[2030.holidays]\n"
        "new_year = [2030-01-01]\n"
        'other = ["2030-03-01", 2030-07-01]\n'
    )
    read = parse_calendar_file(text)
    assert read.notices == {2030: "the notice"}
    assert read.periods == {
        2030: {"new_year": (date(2030, 1, 1),), "other": (date(2030, 3, 1), date(2030, 7, 1))}
    }
    assert read.years[2030] == YearCalendar(
        holidays=frozenset({date(2030, 1, 1), date(2030, 3, 1), date(2030, 7, 1)}),
        workdays=frozenset({date(2030, 2, 2)}),
    )


def test_instants_come_back_in_utc_itself_not_the_machines_zone():
    start = local(2025, 3, 7, 9)
    one_day = PolicyDuration.parse("P1D")
    for instant in (
        end_of_day(date(2025, 3, 9), SHANGHAI),
        one_day.add_to(start, CAL, SHANGHAI),
        one_day.subtract_from(start, CAL, SHANGHAI),
        one_day.subtract_calendar(start, SHANGHAI),
        one_day.add_as_period(start, CAL, SHANGHAI),
        CAL.add_working_days(start, 1, SHANGHAI),
        utc_instant(start, "found_at"),
    ):
        assert instant.tzinfo is UTC


# --- errors -------------------------------------------------------------------------------


def test_an_error_carries_its_rule_message_and_field():
    e = DomainError("grid.code_unique", "twice", "code")
    assert (e.rule, e.message, e.field, str(e)) == (
        "grid.code_unique",
        "twice",
        "code",
        "[grid.code_unique] twice (field: code)",
    )
    assert str(DomainError("a.b", "m")) == "[a.b] m" and DomainError("a.b", "m").field is None
    missing = CalendarDataMissing(2099)
    assert (missing.rule, missing.field, missing.year) == (
        "calendar.year_missing",
        "calendar",
        2099,
    )
    policy = PolicyError("deadlines.general", "too long")
    assert (policy.rule, policy.field, policy.key) == (
        "policy.invalid",
        "deadlines.general",
        "deadlines.general",
    )
    assert policy.message == "deadlines.general: too long"
    assert PolicyError("k", "m", "policy.range").rule == "policy.range"


# --- deadline bounds and the calendar file's completeness ------------------------------------


def test_a_deadline_exactly_at_the_bound_is_accepted_and_a_second_later_refused():
    limit = latest_deadline(NOW, DEFAULT)
    check_deadline_bound(register(deadline=limit), NOW, DEFAULT)
    later = register(deadline=limit + timedelta(seconds=1))
    assert refusal(check_deadline_bound, later, NOW, DEFAULT) == (
        "case.deadline.beyond_policy",
        "deadline",
    )
    request = RequestExtension(ENTERPRISE_ACTOR, limit + timedelta(seconds=1), "r", "s")
    assert refusal(check_deadline_bound, request, NOW, DEFAULT)[1] == "requested_deadline"


def test_a_command_without_a_deadline_field_is_not_concerned():
    check_deadline_bound(ReportRectification(ENTERPRISE_ACTOR, "done", ()), NOW, DEFAULT)


def test_a_naive_deadline_is_refused_naming_its_field():
    naive = register(deadline=datetime(2025, 3, 10, 9))
    assert refusal(check_deadline_bound, naive, NOW, DEFAULT) == (
        "time.aware_required",
        "deadline",
    )


def test_the_other_days_off_need_not_be_one_run_and_a_period_may_end_on_its_last_day():
    text = COMPLETE_2030.replace(
        "new_year = [2030-01-01]",
        "new_year = [2030-01-01, 2030-01-02, 2030-01-03]\nother = [2030-03-04, 2030-07-01]",
    )
    assert check_calendar_file(text) == []


def test_the_check_lists_the_problems_of_every_year():
    text = "[2030]\nholidays = [2030-01-01]\n[2031]\nholidays = [2031-01-01]\n"
    assert [(p.line, p.key, p.rule) for p in check_calendar_file(text)] == [
        (2, "2030.holidays", "calendar.periods_required"),
        (4, "2031.holidays", "calendar.periods_required"),
    ]


def test_a_missing_period_is_placed_at_its_table():
    text = COMPLETE_2030.replace("dragon_boat = [2030-06-05]\n", "")
    lines = COMPLETE_2030.splitlines()
    table = lines.index("[2030.holidays]") + 1
    assert [(p.line, p.key) for p in check_calendar_file(text)] == [
        (table, "2030.holidays.dragon_boat")
    ]


def test_a_key_without_a_line_takes_the_line_of_the_nearest_enclosing_key():
    lines = {"2030": 1, "2030.holidays": 2, "a": 3, "203": 4}
    assert _line_of(lines, "2030.holidays.new_year[4]") == 2
    assert _line_of(lines, "2030.holidays[7]") == 2
    assert _line_of(lines, "2030.notice") == 1
    assert _line_of(lines, "a.b") == 3
    assert _line_of(lines, "2031.holidays") is None
    assert _line_of({}, "2030.holidays[0]") is None


def test_every_period_is_read_after_an_unknown_one_and_each_element_has_its_own_line():
    assert calendar_problems(
        '[2030]\n[2030.holidays]\neaster = [2030-04-21]\nnew_year = ["2030-1-1"]\n'
    ) == [
        (3, "2030.holidays.easter", "calendar.file_invalid"),
        (4, "2030.holidays.new_year[0]", "calendar.not_a_date"),
    ]
    assert calendar_problems(
        "[2030]\nholidays = [\n  2030-01-01, 2030-01-02,\n  2031-01-03,\n]\n"
    ) == [(4, "2030.holidays[2]", "calendar.file_invalid")]


def test_lines_of_quoted_keys_and_of_keys_after_a_hash_in_a_string():
    lines = key_lines('[ "2030" . holidays ]\n"new_year" = [2030-01-01]\n')
    assert lines["2030.holidays"] == 1
    assert (lines["2030.holidays.new_year"], lines["2030.holidays.new_year[0]"]) == (2, 2)
    text = '[2030]\nholidays = ["2030-01-01", "#"]\nworkdays = [2030-01-05, 2030-01-06, "x"]\n'
    assert calendar_problems(text) == [
        (2, "2030.holidays[1]", "calendar.not_a_date"),
        (3, "2030.workdays[2]", "calendar.not_a_date"),
    ]
    assert calendar_problems("[2030]\nholidays = [2030-01-01]\nX = 1\n") == [
        (3, "2030.X", "calendar.file_invalid")
    ]
    assert calendar_problems("[2030]\nholidays = [2030-01-01]\n[2030.X]\n") == [
        (3, "2030.X", "calendar.file_invalid")
    ]


def test_every_table_of_the_file_is_read_after_a_bad_one():
    assert calendar_problems('year = 1\n[2030]\nholidays = ["x"]\n[2031]\nholidays = ["y"]\n') == [
        (1, "year", "calendar.file_invalid"),
        (3, "2030.holidays[0]", "calendar.not_a_date"),
        (5, "2031.holidays[0]", "calendar.not_a_date"),
    ]


# --- credit guards --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor",
    [
        Actor("sup-x", Role.SUPERVISOR, unit_code=COUNTY.code),  # a unit without its level
        Actor("sup-y", Role.SUPERVISOR, unit_level=GridLevel.COUNTY),  # a level without a unit
    ],
)
def test_a_credit_decision_needs_both_the_unit_and_its_level(actor: Actor):
    assert refusal(require_deciding_level, actor, DEFAULT, "a listing") == (
        "credit.authority.unit_required",
        "actor.unit_level",
    )


# --- case guards ----------------------------------------------------------------------------


def test_a_deadline_at_now_is_in_the_past_naming_its_field():
    now = datetime(2025, 3, 3, 1, tzinfo=UTC)
    assert refusal(future_deadline, now, now, "new_deadline") == (
        "case.deadline.in_past",
        "new_deadline",
    )
    later = now + timedelta(seconds=1)
    assert future_deadline(later, now, "new_deadline") == later


def test_a_supervisor_outside_the_cases_grid_path_is_refused_naming_the_unit():
    outsider = Actor("sup-x", Role.SUPERVISOR, unit_code="P44", unit_level=GridLevel.PROVINCE)
    assert refusal(acting_unit, PATH, outsider) == (
        "case.authority.outside_grid",
        "actor.unit_code",
    )
