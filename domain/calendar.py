"""Working days (工作日) in the People's Republic of China.

Weekends and the State Council's statutory holidays are not working days; some weekends are
(调休). The ``chinese-calendar`` package knows the published years; an administrator's calendar
file adds later years (and may correct a known one). A day in a year with no data raises
``CalendarDataMissing``: the domain never guesses.

Deadline convention (期限届满): following Civil Code Art. 201/203, the day something happens is
not counted and a period counted in days ends at 24:00 of its last day. "N working days after X"
is therefore 24:00 local time of the N-th working day after X's local date, represented as
00:00 of the following calendar day; a deadline is missed at that instant. A legal period
counted in calendar days, months or years (``end_of_legal_period``) ends at 24:00 of its last
day, and when that day is not a working day, at 24:00 of the next working day (Art. 203).
"N working days before D" is the cut-off that leaves N working days between it and the end
of the day D closes: the closing day counts when it is a working day (a Saturday deadline is
preceded by Friday, its first working day).

The administrator's calendar file (``domain.calendar_file``) states each year it adds with the
State Council's holidays (a year always has some, so an empty list is refused rather than read
as "no holidays"). A year that chinese-calendar already knows is replaced only when the table
says ``replace_package_data = true``; the table then is that year's whole schedule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as _cc

from domain.errors import CalendarDataMissing, DomainError

PACKAGE_YEARS = range(min(d.year for d in _cc.holidays), max(d.year for d in _cc.holidays) + 1)


@dataclass(frozen=True)
class YearCalendar:
    """One year's official schedule: holidays on weekdays and working weekends (调休上班)."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


def parse_calendar_toml(text: str) -> dict[int, YearCalendar]:
    """The years of an administrator's calendar file, read strictly (``domain.calendar_file``
    describes the format): ``CalendarFileError`` names every error's line and key, and a file
    with one error gives nothing."""
    from domain.calendar_file import parse_calendar_file  # the file format lives there

    return parse_calendar_file(text).years


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """24:00 local of ``day`` (= 00:00 of the next day), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise DomainError("time.aware_required", "datetimes must carry a time zone", "datetime")


class WorkingCalendar:
    """chinese-calendar's years plus an administrator's ``extra`` years (which take precedence)."""

    def __init__(self, extra: dict[int, YearCalendar] | None = None) -> None:
        self._extra = dict(extra or {})

    def has_year(self, year: int) -> bool:
        return year in self._extra or year in PACKAGE_YEARS

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted(set(self._extra) | set(PACKAGE_YEARS)))

    @property
    def file_years(self) -> tuple[int, ...]:
        """The years the administrator's file gives (they take precedence over the package)."""
        return tuple(sorted(self._extra))

    def first_missing_year(self, from_year: int) -> int:
        """The first year from ``from_year`` on that has no data."""
        year = from_year
        while self.has_year(year):
            year += 1
        return year

    def year_digest(self, year: int) -> str:
        """SHA-256 of the year's working days, one ISO date a line: which schedule counted a
        deadline, recomputable from any source of the same schedule (package or file)."""
        day, lines = date(year, 1, 1), []
        while day.year == year:
            if self.is_working_day(day):
                lines.append(day.isoformat())
            day += timedelta(days=1)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def is_working_day(self, day: date) -> bool:
        extra = self._extra.get(day.year)
        if extra is not None:
            return extra.is_working_day(day)
        if day.year not in PACKAGE_YEARS:
            raise CalendarDataMissing(day.year)
        return bool(chinese_calendar.is_workday(day))

    def nth_working_day(self, day: date, n: int) -> date:
        """The n-th working day after (n > 0) or before (n < 0) ``day``, ``day`` not counted."""
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        while remaining:
            day = day + step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def add_working_days(self, start: datetime, n: int, tz: ZoneInfo) -> datetime:
        """24:00 local of the n-th working day after ``start``'s local date (n ≥ 1), in UTC."""
        _require_aware(start)
        if n < 1:
            raise DomainError("calendar.working_days_positive", "n must be at least 1", "n")
        return end_of_day(self.nth_working_day(start.astimezone(tz).date(), n), tz)

    def subtract_working_days(
        self, end: datetime, n: int, tz: ZoneInfo, *, closing_day_must_work: bool = False
    ) -> datetime:
        """The cut-off n working days before ``end`` (24:00 local of a working day), in UTC.

        With ``closing_day_must_work`` the day that ``end`` closes counts as one of the n only
        when it is a working day, so exactly n working days lie between the cut-off and the end
        of that day. Without it (the rules of policy edition 1, kept so that recorded cases
        replay) a closing day off work is counted too, which leaves n - 1.
        """
        _require_aware(end)
        if n < 1:
            raise DomainError("calendar.working_days_positive", "n must be at least 1", "n")
        # The day that an instant closes: a 24:00 deadline closes the day before its date.
        closed_day = (end.astimezone(tz) - timedelta(microseconds=1)).date()
        if closing_day_must_work:
            while not self.is_working_day(closed_day):
                closed_day -= timedelta(days=1)
        return end_of_day(self.nth_working_day(closed_day, -n), tz)

    def end_of_legal_period(self, last_day: date, tz: ZoneInfo) -> datetime:
        """24:00 local of ``last_day``, or of the next working day when ``last_day`` is not one
        (Civil Code Art. 203: a period whose last day is a holiday ends on the day after it)."""
        day = last_day
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return end_of_day(day, tz)
