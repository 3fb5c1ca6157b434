"""Reporting periods: one definition for the report schedules, the statistics and the API."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.periods import REPORT_KINDS, Period, check_period, period_before

SHANGHAI = ZoneInfo("Asia/Shanghai")


@given(
    kind=st.sampled_from(REPORT_KINDS),
    moment=st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(9998, 12, 31)),
)
def test_the_period_a_run_reports_on_is_a_valid_label_that_ends_before_the_run(
    kind: str, moment: datetime
) -> None:
    at = moment.replace(tzinfo=SHANGHAI)
    label = period_before(kind, at, SHANGHAI)
    period = Period.of_report(kind, check_period(kind, label))
    start, end = period.bounds("Asia/Shanghai")
    assert period.label == label
    assert start < end <= at


def test_a_label_the_schedules_refuse_is_refused_as_a_period_too() -> None:
    # One rule for labels: the statistics pages and the reports read no period the schedules
    # would not name (2025-3 is not 2025-03).
    for kind, label in (("monthly", "2025-3"), ("quarterly", "2025-Q5"), ("yearly", "25")):
        with pytest.raises(ValueError, match=rf"period: {label!r} is not a {kind} period"):
            check_period(kind, label)
        with pytest.raises(ValueError, match=rf"period: {label!r} is not a {kind} period"):
            Period.of_report(kind, label)
    with pytest.raises(ValueError, match="kind: 'weekly' is not one of monthly"):
        Period.of_report("weekly", "2025-03")
    with pytest.raises(ValueError, match="year 0 is out of range"):
        Period.of_report("yearly", "0000")


def test_a_quarter_is_its_three_months_on_the_policys_wall_clock() -> None:
    q4 = Period.of_report("quarterly", "2025-Q4")
    assert q4.months() == (date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1))
    assert q4.bounds("Asia/Shanghai") == (
        datetime(2025, 10, 1, tzinfo=SHANGHAI),
        datetime(2026, 1, 1, tzinfo=SHANGHAI),
    )
    assert Period.of_report("monthly", "2025-03") == Period.month(2025, 3)
