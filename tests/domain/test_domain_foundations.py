"""Credit codes, the grid, working days, durations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import WorkingCalendar, parse_calendar_toml
from domain.credit_code import (
    ALPHABET,
    is_valid_credit_code,
    make_credit_code,
    validate_credit_code,
)
from domain.durations import PolicyDuration
from domain.errors import CalendarDataMissing, DomainError
from domain.grid import Enterprise, GridLevel, GridTree, GridUnit
from tests.domain.domain_builders import (
    COUNTY,
    ENTERPRISE,
    PATH,
    PROVINCE,
    SHANGHAI,
    TOWNSHIP,
    VILLAGE,
)

CAL = WorkingCalendar()

# --- credit code ------------------------------------------------------------------------------


def test_a_published_credit_code_is_valid_and_normalized():
    assert validate_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


def test_a_credit_code_with_a_wrong_check_character_is_rejected_naming_the_rule():
    with pytest.raises(DomainError) as e:
        validate_credit_code("91350100M000100Y44")
    assert e.value.rule == "credit_code.gb32100_check" and e.value.field == "credit_code"


@pytest.mark.parametrize(
    "code", ["", "9135010M000100Y43", "91350100M000100YI3", "913501X0M000100Y43"]
)
def test_malformed_credit_codes_are_rejected(code: str):
    assert not is_valid_credit_code(code)


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17).filter(lambda s: s[2:8].isdigit()))
def test_a_generated_code_is_valid_and_any_single_character_change_breaks_it(prefix: str):
    code = make_credit_code(prefix)
    assert is_valid_credit_code(code)
    for i in range(18):
        changed = code[:i] + ALPHABET[(ALPHABET.index(code[i]) + 7) % 31] + code[i + 1 :]
        assert not is_valid_credit_code(changed)


# --- grid -------------------------------------------------------------------------------------


def test_the_grid_gives_the_path_to_the_root_and_subtree_membership():
    tree = GridTree(PATH)
    assert tree.path_to_root(VILLAGE.code) == list(PATH)
    assert tree.is_within(VILLAGE.code, COUNTY.code)
    assert not tree.is_within(COUNTY.code, VILLAGE.code)
    assert tree.enterprise_path(ENTERPRISE)[0] == VILLAGE
    assert tree.roots == (PROVINCE,)


def test_a_grid_refuses_duplicate_codes_unknown_parents_and_parents_not_above():
    with pytest.raises(DomainError) as e:
        GridTree([*PATH, VILLAGE])
    assert e.value.rule == "grid.code_unique"
    with pytest.raises(DomainError) as e:
        GridTree([VILLAGE])
    assert e.value.rule == "grid.parent_unknown"
    flat = GridUnit("X", "x", GridLevel.TOWNSHIP, TOWNSHIP.code, "p")
    with pytest.raises(DomainError) as e:
        GridTree([*PATH, flat])
    assert e.value.rule == "grid.parent_level_above"


def test_an_enterprise_belongs_to_a_village_level_unit_and_has_a_valid_code():
    tree = GridTree(PATH)
    with pytest.raises(DomainError) as e:
        tree.enterprise_path(Enterprise(ENTERPRISE.credit_code, "x", "机械", TOWNSHIP.code))
    assert e.value.rule == "grid.enterprise_in_lowest_unit"
    with pytest.raises(DomainError):
        Enterprise("91350100M000100Y44", "x", "机械", VILLAGE.code)


def test_a_grid_forest_with_two_roots_is_allowed():
    other = GridUnit("P44", "广东省", GridLevel.PROVINCE, None, "p")
    assert len(GridTree([*PATH, other]).roots) == 2


# --- working days -----------------------------------------------------------------------------


def test_statutory_holidays_and_adjusted_working_weekends_come_from_chinese_calendar():
    assert not CAL.is_working_day(date(2025, 10, 1))  # National Day
    assert CAL.is_working_day(date(2025, 9, 28))  # a working Sunday (调休)
    assert not CAL.is_working_day(date(2025, 3, 8))  # an ordinary Saturday


def test_n_working_days_after_an_instant_end_at_24_00_local_of_the_nth_working_day():
    friday = datetime(2025, 9, 26, 15, tzinfo=SHANGHAI)
    # 28 Sep (Sunday) is a working day, then 29, 30; 1–8 Oct are holidays; 9 Oct.
    assert CAL.add_working_days(friday, 4, SHANGHAI) == datetime(2025, 10, 10, tzinfo=SHANGHAI)
    assert CAL.add_working_days(friday, 1, SHANGHAI).tzinfo == UTC


def test_n_working_days_before_a_deadline_end_at_24_00_of_that_working_day():
    deadline = datetime(2025, 3, 8, tzinfo=SHANGHAI)  # 24:00 Friday 7 March
    assert CAL.subtract_working_days(deadline, 1, SHANGHAI) == datetime(2025, 3, 7, tzinfo=SHANGHAI)


def test_a_year_without_data_raises_calendar_data_missing_instead_of_guessing():
    with pytest.raises(CalendarDataMissing) as e:
        CAL.add_working_days(datetime(2026, 12, 30, tzinfo=SHANGHAI), 5, SHANGHAI)
    assert e.value.year == 2027


def test_an_administrators_calendar_file_adds_a_year():
    extra = parse_calendar_toml('[2027]\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-09"]\n')
    cal = WorkingCalendar(extra)
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.is_working_day(date(2027, 1, 9))  # a Saturday made a working day
    start = datetime(2026, 12, 31, 10, tzinfo=SHANGHAI)
    # 1 Jan holiday, 4 Jan Monday.
    assert cal.add_working_days(start, 1, SHANGHAI) == datetime(2027, 1, 5, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[2027]\nholidays = ["2028-01-01"]', "2027.holidays[0]"),
        ('[2027]\nholidays = ["soon"]', "2027.holidays[0]"),
        ("[2027]\nholidays = 3", "2027.holidays"),
    ],
)
def test_a_bad_calendar_file_names_the_key(text: str, field: str):
    with pytest.raises(DomainError) as e:
        parse_calendar_toml(text)
    assert e.value.field == field


@pytest.mark.parametrize(
    ("text", "field", "rule"),
    [
        ("[2027]\n", "2027.holidays", "calendar.holidays_required"),
        ("[2027]\nholidays = []\n", "2027.holidays", "calendar.holidays_required"),
        ('[2027]\nworkdays = ["2027-02-07"]\n', "2027.holidays", "calendar.holidays_required"),
        ('[2025]\nholidays = ["2025-01-01"]\n', "2025", "calendar.package_year_override"),
        (
            '[2027]\nreplace_package_data = "yes"\nholidays = ["2027-01-01"]\n',
            "2027.replace_package_data",
            "calendar.file_invalid",
        ),
        ('[2027]\nholidays = ["2027-01-01"]\nextra = 1\n', "2027.extra", "calendar.file_invalid"),
        ("[next]\nholidays = []\n", "next", "calendar.file_invalid"),
        ("[2027", "calendar", "calendar.file_invalid"),
        (
            '[2027]\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-01"]\n',
            "2027",
            "calendar.file_invalid",
        ),
    ],
)
def test_a_calendar_file_that_would_make_duban_guess_is_refused_naming_the_key(
    text: str, field: str, rule: str
):
    with pytest.raises(DomainError) as e:
        parse_calendar_toml(text)
    assert (e.value.rule, e.value.field) == (rule, field)


def test_a_year_chinese_calendar_knows_is_replaced_whole_and_only_when_the_file_says_so():
    text = '[2025]\nreplace_package_data = true\nholidays = ["2025-01-01"]\n'
    cal = WorkingCalendar(parse_calendar_toml(text))
    assert not cal.is_working_day(date(2025, 1, 1))
    # The table is the whole year: National Day is no holiday in it, the package's is gone.
    assert cal.is_working_day(date(2025, 10, 1)) and not CAL.is_working_day(date(2025, 10, 1))


def test_working_day_arithmetic_needs_a_positive_count():
    for operation in (CAL.add_working_days, CAL.subtract_working_days):
        with pytest.raises(DomainError) as e:
            operation(datetime(2025, 3, 3, tzinfo=SHANGHAI), 0, SHANGHAI)
        assert e.value.rule == "calendar.working_days_positive"


def test_a_cut_off_before_a_deadline_on_a_day_off_leaves_the_full_count_of_working_days():
    saturday_end = datetime(2025, 3, 16, tzinfo=SHANGHAI)  # 24:00 Saturday 15 March
    fixed = CAL.subtract_working_days(saturday_end, 1, SHANGHAI, closing_day_must_work=True)
    assert fixed == datetime(2025, 3, 14, tzinfo=SHANGHAI)  # 24:00 Thursday: Friday remains
    legacy = CAL.subtract_working_days(saturday_end, 1, SHANGHAI)
    assert legacy == datetime(2025, 3, 15, tzinfo=SHANGHAI)  # edition 1: 24:00 Friday


@given(
    st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2026, 11, 30)),
    st.integers(1, 25),
)
def test_a_working_day_cut_off_leaves_exactly_n_working_days_up_to_the_deadlines_day(
    deadline: datetime, n: int
):
    end = deadline.replace(tzinfo=SHANGHAI)
    cut_off = CAL.subtract_working_days(end, n, SHANGHAI, closing_day_must_work=True)
    local = cut_off.astimezone(SHANGHAI)
    assert (local.hour, local.minute, local.microsecond) == (0, 0, 0)  # 24:00 of a day
    closed_day = (end - timedelta(microseconds=1)).date()
    day, between = local.date(), 0  # the first day after the cut-off
    while day <= closed_day:
        between += CAL.is_working_day(day)
        day += timedelta(days=1)
    assert between == n
    assert CAL.is_working_day(local.date() - timedelta(days=1))  # it ends a working day


@given(
    st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2026, 11, 30)),
    st.integers(1, 25),
)
def test_adding_working_days_lands_after_a_working_day_and_subtracting_returns_the_start_day(
    start: datetime, n: int
):
    instant = start.replace(tzinfo=SHANGHAI)
    end = CAL.add_working_days(instant, n, SHANGHAI)
    last_day = (end.astimezone(SHANGHAI) - timedelta(days=1)).date()
    assert end > instant and CAL.is_working_day(last_day)
    back = CAL.subtract_working_days(end, n, SHANGHAI).astimezone(SHANGHAI)
    assert back.date() - timedelta(days=1) <= instant.date()


# --- legal periods (Civil Code Art. 201–203) --------------------------------------------------


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        # 15 days from Monday 3 March: the 15th is Tuesday 18 March, ending at 24:00.
        (datetime(2025, 3, 3, 9), "P15D", datetime(2025, 3, 19)),
        # 15 days from Friday 7 March end on Saturday 22: rolled to Monday 24 March.
        (datetime(2025, 3, 7, 9), "P15D", datetime(2025, 3, 25)),
        # 15 days from 16 September end on 1 October (National Day): rolled to Thursday 9 Oct.
        (datetime(2025, 9, 16, 9), "P15D", datetime(2025, 10, 10)),
        # 3 months from 3 March: 3 June (Tuesday), 24:00.
        (datetime(2025, 3, 3, 9), "P3M", datetime(2025, 6, 4)),
        # A month from 31 January: the last day of February (Friday 28), 24:00.
        (datetime(2025, 1, 31, 9), "P1M", datetime(2025, 3, 1)),
        # Working days are already periods; a time part stays exact (drills).
        (datetime(2025, 3, 3, 9), "P2WD", datetime(2025, 3, 6)),
        (datetime(2025, 3, 3, 9), "PT30S", datetime(2025, 3, 3, 9, 0, 30)),
    ],
)
def test_a_legal_period_ends_at_the_end_of_its_last_day_rolled_past_days_off(
    start: datetime, text: str, end: datetime
):
    got = PolicyDuration.parse(text).add_as_period(start.replace(tzinfo=SHANGHAI), CAL, SHANGHAI)
    assert got == end.replace(tzinfo=SHANGHAI)


def test_a_legal_period_into_a_year_without_data_is_an_error_not_a_guess():
    with pytest.raises(CalendarDataMissing):
        PolicyDuration.parse("P15D").add_as_period(
            datetime(2026, 12, 20, tzinfo=SHANGHAI), CAL, SHANGHAI
        )


@pytest.mark.parametrize(
    ("shorter", "longer", "surely"),
    [
        ("P3M", "P1Y", True),
        ("P1Y", "P1Y", True),
        ("P12M", "P1Y", True),
        ("P365D", "P1Y", True),
        ("P13M", "P1Y", False),
        ("P367D", "P1Y", False),
        ("P1Y", "P366D", True),
        ("P2WD", "P3WD", True),
        ("P3WD", "P3WD", True),
        ("P4WD", "P3WD", False),
        ("P10WD", "P1Y", True),
        ("P10WD", "P14D", False),  # 10 working days can span the Spring Festival week
        ("PT4S", "PT5S", True),
        ("P1DT1H", "P1D", False),
    ],
)
def test_one_duration_is_surely_at_most_another_only_when_no_start_makes_it_longer(
    shorter: str, longer: str, surely: bool
):
    assert PolicyDuration.parse(shorter).surely_at_most(PolicyDuration.parse(longer)) is surely


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["P7D", "PT30S", "P1Y", "P1M", "PT1H30M", "P20WD", "P1Y2M10DT2H30M"]
)
def test_durations_print_back_as_they_were_written(text: str):
    assert str(PolicyDuration.parse(text)) == text


@pytest.mark.parametrize("text", ["", "P", "PT", "7D", "P0D", "P2WD1D", "P1.5D", "P0WD"])
def test_bad_durations_are_rejected(text: str):
    with pytest.raises(DomainError):
        PolicyDuration.parse(text)


def test_a_month_from_the_thirty_first_of_january_is_the_last_day_of_february():
    start = datetime(2025, 1, 31, 9, tzinfo=SHANGHAI)
    got = PolicyDuration.parse("P1M").add_to(start, CAL, SHANGHAI)
    assert got == datetime(2025, 2, 28, 9, tzinfo=SHANGHAI)
    assert PolicyDuration.parse("P1M").subtract_from(got, CAL, SHANGHAI) == datetime(
        2025, 1, 28, 9, tzinfo=SHANGHAI
    )


def test_seconds_durations_are_exact():
    start = datetime(2025, 3, 3, 9, tzinfo=SHANGHAI)
    assert PolicyDuration.parse("PT20S").add_to(start, CAL, SHANGHAI) == start + timedelta(
        seconds=20
    )


def test_calendar_durations_follow_the_local_wall_clock():
    ny = ZoneInfo("America/New_York")
    before_dst = datetime(2025, 3, 8, 9, tzinfo=ny)
    got = PolicyDuration.parse("P1D").add_to(before_dst, CAL, ny)
    assert got.astimezone(ny).hour == 9


def test_a_naive_instant_is_refused():
    with pytest.raises(DomainError) as e:
        PolicyDuration.parse("P1D").add_to(datetime(2025, 3, 3), CAL, SHANGHAI)
    assert e.value.rule == "time.aware_required"
