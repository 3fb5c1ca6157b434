"""Reporting periods to the day (issue 21: the mutation run found report_due_date and
Period.whole_year untested by the domain's tests, and period_before's year boundaries)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from domain.periods import Period, period_before, report_due_date
from tests.domain.domain_builders import DEFAULT, SHANGHAI

REPORTS = replace(DEFAULT.reports, monthly_day=20, quarterly_day=15, yearly_month=2, yearly_day=28)


@pytest.mark.parametrize(
    ("kind", "moment", "label"),
    [
        ("monthly", datetime(2025, 1, 10, tzinfo=SHANGHAI), "2024-12"),
        ("monthly", datetime(2025, 2, 10, tzinfo=SHANGHAI), "2025-01"),
        ("monthly", datetime(2025, 3, 10, tzinfo=SHANGHAI), "2025-02"),
        ("quarterly", datetime(2025, 2, 10, tzinfo=SHANGHAI), "2024-Q4"),
        ("quarterly", datetime(2025, 4, 1, tzinfo=SHANGHAI), "2025-Q1"),
        ("quarterly", datetime(2025, 3, 31, tzinfo=SHANGHAI), "2024-Q4"),
        ("quarterly", datetime(2025, 7, 1, tzinfo=SHANGHAI), "2025-Q2"),
        ("quarterly", datetime(2025, 12, 31, tzinfo=SHANGHAI), "2025-Q3"),
        ("yearly", datetime(2025, 6, 1, tzinfo=SHANGHAI), "2024"),
        # 20:00 UTC on 31 March is already 1 April in Shanghai
        ("monthly", datetime(2025, 3, 31, 20, tzinfo=UTC), "2025-03"),
        ("quarterly", datetime(2025, 3, 31, 20, tzinfo=UTC), "2025-Q1"),
        ("yearly", datetime(2024, 12, 31, 20, tzinfo=UTC), "2024"),
    ],
)
def test_the_period_before_a_moment_is_counted_on_the_zones_wall_clock(
    kind: str, moment: datetime, label: str
):
    assert period_before(kind, moment, SHANGHAI) == label


def test_an_unknown_kind_of_period_is_refused():
    with pytest.raises(ValueError, match="kind"):
        period_before("weekly", datetime(2025, 1, 1, tzinfo=SHANGHAI), SHANGHAI)


@pytest.mark.parametrize(
    ("kind", "period", "due"),
    [
        ("monthly", "2025-03", date(2025, 4, 20)),
        ("monthly", "2025-11", date(2025, 12, 20)),
        ("monthly", "2025-12", date(2026, 1, 20)),
        ("quarterly", "2025-Q1", date(2025, 4, 15)),
        ("quarterly", "2025-Q3", date(2025, 10, 15)),
        ("quarterly", "2025-Q4", date(2026, 1, 15)),
        ("yearly", "2025", date(2026, 2, 28)),
    ],
)
def test_a_report_is_due_on_the_policys_day_after_its_period(kind: str, period: str, due: date):
    assert report_due_date(kind, period, REPORTS) == due


@pytest.mark.parametrize(("kind", "period"), [("monthly", "2025-Q1"), ("weekly", "2025")])
def test_a_due_date_needs_a_valid_label(kind: str, period: str):
    with pytest.raises(ValueError):
        report_due_date(kind, period, REPORTS)


def test_periods_know_their_months_bounds_and_labels():
    year = Period.whole_year(2025)
    assert (year.kind, year.year, year.number, year.label) == ("year", 2025, 1, "2025")
    assert year.months() == tuple(date(2025, m, 1) for m in range(1, 13))
    assert year.bounds("UTC") == (
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    month = Period.month(2025, 12)
    assert (month.label, month.months()) == ("2025-12", (date(2025, 12, 1),))
    assert month.bounds()[1] == datetime(2026, 1, 1, tzinfo=SHANGHAI)
    assert Period.month(2025, 3).label == "2025-03"
    q4 = Period.quarter(2025, 4)
    assert q4.months() == (date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1))
    assert q4.label == "2025-Q4"
    assert Period.of_report("yearly", "2025") == year
    assert Period.of_report("quarterly", "2025-Q4") == q4
    assert Period.of_report("monthly", "2025-12") == month


@pytest.mark.parametrize(
    ("kind", "year", "number"),
    [
        ("month", 2025, 0),
        ("month", 2025, 13),
        ("quarter", 2025, 5),
        ("year", 2025, 2),
        ("week", 2025, 1),
        ("month", 0, 1),
        ("month", 9999, 1),
    ],
)
def test_a_period_that_does_not_exist_is_refused(kind: str, year: int, number: int):
    with pytest.raises(ValueError, match="period"):
        Period(kind, year, number)  # type: ignore[arg-type]


def test_the_edges_of_a_period_exist():
    assert Period.month(1, 1).year == 1 and Period.month(9998, 12).number == 12
    assert Period.quarter(2025, 1).number == 1 and Period.whole_year(2025).number == 1
