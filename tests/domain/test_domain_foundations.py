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
