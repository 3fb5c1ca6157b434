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

The administrator's calendar file states each year it adds with the State Council's holidays
(a year always has some, so an empty list is refused rather than read as "no holidays"). A
year that chinese-calendar already knows is replaced only when the table says
``replace_package_data = true``; the table then is that year's whole schedule.
"""

from __future__ import annotations

import tomllib
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
    """Parse an administrator's calendar file::

    [2027]
    holidays = ["2027-01-01", "2027-02-05"]
    workdays = ["2027-02-07"]

    [2025]                          # a year chinese-calendar knows: replaced only explicitly
    replace_package_data = true
    holidays = [...]
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DomainError("calendar.file_invalid", f"not valid TOML: {exc}", "calendar") from exc
    years: dict[int, YearCalendar] = {}
    for key, table in raw.items():
        if not key.isdigit() or not isinstance(table, dict):
            raise DomainError("calendar.file_invalid", f"[{key}] is not a year table", key)
        year = int(key)
        unknown = set(table) - {"holidays", "workdays", "replace_package_data"}
        if unknown:
            raise DomainError(
                "calendar.file_invalid",
                f"unknown keys {sorted(unknown)}",
                f"{key}.{sorted(unknown)[0]}",
            )
        replace = table.get("replace_package_data", False)
        if not isinstance(replace, bool):
            raise DomainError(
                "calendar.file_invalid", "must be true or false", f"{key}.replace_package_data"
            )
        if year in PACKAGE_YEARS and not replace:
            raise DomainError(
                "calendar.package_year_override",
                f"chinese-calendar already has {year}'s holidays; a table for {year} replaces "
                "them all, so it must say replace_package_data = true and list the whole year",
                key,
            )
        if "holidays" not in table or table["holidays"] == []:
            raise DomainError(
                "calendar.holidays_required",
                f"[{key}] must list {year}'s statutory holidays (节假日安排); an empty or "
                "missing list would count every weekday as a working day",
                f"{key}.holidays",
            )
        days: dict[str, frozenset[date]] = {}
        for name in ("holidays", "workdays"):
            values = table.get(name, [])
            if not isinstance(values, list):
                raise DomainError(
                    "calendar.file_invalid", "must be a list of dates", f"{key}.{name}"
                )
            parsed: set[date] = set()
            for i, value in enumerate(values):
                where = f"{key}.{name}[{i}]"
                try:
                    day = value if isinstance(value, date) else date.fromisoformat(str(value))
                except ValueError:
                    raise DomainError(
                        "calendar.file_invalid", f"{value!r} is no date", where
                    ) from None
                if day.year != year:
                    raise DomainError("calendar.file_invalid", f"{day} is not in {year}", where)
                parsed.add(day)
            days[name] = frozenset(parsed)
        both = days["holidays"] & days["workdays"]
        if both:
            raise DomainError(
                "calendar.file_invalid", f"{min(both)} is both a holiday and a workday", key
            )
        years[year] = YearCalendar(holidays=days["holidays"], workdays=days["workdays"])
    return years


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
