"""Reporting periods (统计期): a month, a quarter or a year on the policy's wall clock.

One definition for everyone who names a period: the report schedules and workflows (labels
such as ``2025-03``, ``2025-Q1``, ``2025``, the period a run reports on, the day a report is
due), the statistics queries (the months a period sums, its bounds in a time zone) and the
API's statistics pages. Pure: the caller passes the instant and the time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from domain.policy import Reports

REPORT_KINDS = ("monthly", "quarterly", "yearly")
# The wall clock of a period when none is given (the shipped policy's time zone).
DEFAULT_TIME_ZONE = "Asia/Shanghai"

_LABEL = {
    "monthly": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "quarterly": re.compile(r"^(\d{4})-Q([1-4])$"),
    "yearly": re.compile(r"^(\d{4})$"),
}


def check_period(kind: str, period: str) -> str:
    """``period`` if it is a label of ``kind``: ``monthly`` 2025-03, ``quarterly`` 2025-Q1,
    ``yearly`` 2025; else a ValueError naming the field and the rule."""
    pattern = _LABEL.get(kind)
    if pattern is None:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(REPORT_KINDS)}")
    if not pattern.match(period):
        raise ValueError(f"period: {period!r} is not a {kind} period (2025-03, 2025-Q1, 2025)")
    return period


def period_before(kind: str, moment: datetime, tz: ZoneInfo) -> str:
    """The last whole period before ``moment`` (local time): the one a run at ``moment`` reports."""
    local = moment.astimezone(tz)
    if kind == "monthly":
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        return f"{year:04d}-{month:02d}"
    if kind == "quarterly":
        quarter = (local.month - 1) // 3 + 1
        year, quarter = (local.year, quarter - 1) if quarter > 1 else (local.year - 1, 4)
        return f"{year:04d}-Q{quarter}"
    if kind == "yearly":
        return f"{local.year - 1:04d}"
    raise ValueError(f"kind: {kind!r} is not one of {', '.join(REPORT_KINDS)}")


def report_due_date(kind: str, period: str, reports: Reports) -> date:
    """The day a report of ``period`` is due by (the policy's ``reports`` days)."""
    check_period(kind, period)
    year = int(period[:4])
    if kind == "monthly":
        month = int(period[5:7])
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return date(year, month, reports.monthly_day)
    if kind == "quarterly":
        quarter = int(period[6])
        year, month = (year + 1, 1) if quarter == 4 else (year, 3 * quarter + 1)
        return date(year, month, reports.quarterly_day)
    return date(year + 1, reports.yearly_month, reports.yearly_day)


_SPAN_OF_KIND: dict[str, Literal["month", "quarter", "year"]] = {
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
}


@dataclass(frozen=True)
class Period:
    """A calendar month (``month``, 1-12), quarter (``quarter``, 1-4) or ``year`` (number 1)."""

    kind: Literal["month", "quarter", "year"]
    year: int
    number: int

    def __post_init__(self) -> None:
        top = {"month": 12, "quarter": 4, "year": 1}.get(self.kind)
        if top is None or not 1 <= self.number <= top:
            raise ValueError(f"period: {self.kind} {self.number} does not exist")
        if not 1 <= self.year <= 9998:
            raise ValueError(f"period: year {self.year} is out of range")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls("month", year, month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        return cls("quarter", year, quarter)

    @classmethod
    def whole_year(cls, year: int) -> Period:
        return cls("year", year, 1)

    @classmethod
    def of_report(cls, kind: str, label: str) -> Period:
        """The period of a report's label (``check_period``): ``monthly`` 2025-03,
        ``quarterly`` 2025-Q1, ``yearly`` 2025. A label of the right shape may still name no
        period (year 0000): a ValueError too."""
        check_period(kind, label)
        year, _, number = label.partition("-")
        return cls(_SPAN_OF_KIND[kind], int(year), int(number.removeprefix("Q") or 1))

    def months(self) -> tuple[date, ...]:
        if self.kind == "month":
            return (date(self.year, self.number, 1),)
        if self.kind == "year":
            return tuple(date(self.year, m, 1) for m in range(1, 13))
        first = 3 * (self.number - 1) + 1
        return tuple(date(self.year, m, 1) for m in range(first, first + 3))

    def bounds(self, time_zone: str = DEFAULT_TIME_ZONE) -> tuple[datetime, datetime]:
        """[start, end) of the period on the wall clock of ``time_zone``: local midnight to
        local midnight."""
        zone = ZoneInfo(time_zone)
        start = self.months()[0]
        last = self.months()[-1]
        end = date(last.year + 1, 1, 1) if last.month == 12 else date(last.year, last.month + 1, 1)
        return (
            datetime(start.year, start.month, 1, tzinfo=zone),
            datetime(end.year, end.month, 1, tzinfo=zone),
        )

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.number}"
        return f"{self.year}"
