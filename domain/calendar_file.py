"""The administrator's calendar file (节假日安排): its strict reading and its completeness check.

A year the ``chinese-calendar`` package does not know comes from this file, so a wrong value is
a wrong deadline. The file is therefore read strictly: every value is a date (a TOML date,
``2027-01-01``, or the same in quotes), never a date-time, a number or free text; every error
names its line and key; and one error refuses the whole file — nothing of it is used.

Two ways to write a year::

    [2027]                              # the plain form: the days off that are not weekends
    holidays = ["2027-01-01", "2027-02-08"]
    workdays = ["2027-02-06"]           # 调休: weekend days that are working days

    [2027]                              # the form `duban calendar check` asks for
    notice = "国务院办公厅关于2027年部分节假日安排的通知"
    workdays = ["2027-02-06"]
    [2027.holidays]                     # each holiday period of the notice, every day of it
    new_year = ["2027-01-01", "2027-01-02", "2027-01-03"]
    spring_festival = [...]
    qingming = [...]
    labour_day = [...]
    dragon_boat = [...]
    mid_autumn = [...]                  # or one period mid_autumn_national_day when they meet
    national_day = [...]
    other = [...]                       # any further day off the notice gives

Workers read both (``parse_calendar_file``). ``check_calendar_file`` — what an administrator
runs before loading a file — also asks that every day of each year be accounted for: the
periods are named, so a forgotten festival is seen rather than counted as working days; each
period is one run of days around its festival with at least its statutory days off (全国年节及
纪念日放假办法, 2024 revision); and each 调休 working day is a Saturday or a Sunday.

A year that chinese-calendar already knows is replaced only when its table says
``replace_package_data = true``; the table then is that year's whole schedule.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from domain.calendar import PACKAGE_YEARS, YearCalendar
from domain.errors import DomainError

YEAR_KEYS = frozenset({"holidays", "workdays", "replace_package_data", "notice"})
# Holiday periods by festival: (statutory days off, earliest and latest (month, day) a day of
# the period can fall on). The windows are wide: they catch a wrong month, not a wrong day.
PERIODS: dict[str, tuple[int, tuple[int, int], tuple[int, int]]] = {
    "new_year": (1, (1, 1), (1, 3)),  # 元旦
    "spring_festival": (4, (1, 18), (2, 28)),  # 春节
    "qingming": (1, (4, 1), (4, 8)),  # 清明节
    "labour_day": (2, (4, 28), (5, 8)),  # 劳动节
    "dragon_boat": (1, (5, 25), (6, 28)),  # 端午节
    "mid_autumn": (1, (9, 5), (10, 8)),  # 中秋节
    "national_day": (3, (9, 28), (10, 10)),  # 国庆节
    "mid_autumn_national_day": (4, (9, 28), (10, 10)),  # when the two meet (2020, 2023, 2025)
    "other": (0, (1, 1), (12, 31)),  # any further day off the notice gives
}
# A festival's day the period must contain.
ANCHORS = {"new_year": (1, 1), "labour_day": (5, 1), "national_day": (10, 1)}
REQUIRED_PERIODS = ("new_year", "spring_festival", "qingming", "labour_day", "dragon_boat")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class CalendarProblem:
    """One error of a calendar file: where (line, key), which rule, and what to do."""

    line: int | None
    key: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.key}: {self.message} ({self.rule})"


class CalendarFileError(DomainError):
    """The calendar file has errors; ``problems`` lists every one (the first is the rule's)."""

    def __init__(self, problems: list[CalendarProblem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first.rule, f"{first}{more}", first.key)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class CalendarFile:
    """A calendar file read strictly: its years, and for each how it was written."""

    years: dict[int, YearCalendar]
    periods: dict[int, dict[str, tuple[date, ...]]]  # named holiday periods, by year
    notices: dict[int, str]  # where a year's schedule comes from, when the file says
    replaces_package: frozenset[int]


def parse_calendar_file(text: str) -> CalendarFile:
    """The file's years; ``CalendarFileError`` with every problem when it has any."""
    reader = _Reader(text)
    result = reader.read()
    if reader.problems:
        raise CalendarFileError(reader.problems)
    return result


def check_calendar_file(text: str) -> list[CalendarProblem]:
    """Every problem of the file, including whether each year accounts for every day (named
    periods, statutory days, 调休 on weekends). Empty: the file may be loaded."""
    reader = _Reader(text)
    result = reader.read()
    if reader.problems:
        return reader.problems
    problems: list[CalendarProblem] = []
    for year, calendar in sorted(result.years.items()):
        problems += _completeness(reader, year, calendar, result.periods.get(year))
    return problems


def _completeness(
    reader: _Reader, year: int, calendar: YearCalendar, periods: dict[str, tuple[date, ...]] | None
) -> list[CalendarProblem]:
    found: list[CalendarProblem] = []
    key = str(year)
    if periods is None:
        found.append(
            reader.problem(
                f"{key}.holidays",
                "calendar.periods_required",
                f"{year}'s holidays are a plain list: name each holiday period ([{year}.holidays] "
                "new_year = [...], spring_festival = [...], …) so that every day of the year is "
                "accounted for and a forgotten festival is seen",
            )
        )
    else:
        required = list(REQUIRED_PERIODS)
        if "mid_autumn_national_day" not in periods:
            required += ["mid_autumn", "national_day"]
        for name in required:
            if name not in periods:
                found.append(
                    reader.problem(
                        f"{key}.holidays.{name}",
                        "calendar.period_missing",
                        f"the notice's {name} period is missing: list every day off of it",
                    )
                )
        for name, days in periods.items():
            found += _check_period(reader, year, name, days)
    for i, day in enumerate(sorted(calendar.workdays)):
        if day.weekday() < 5:
            found.append(
                reader.problem(
                    f"{key}.workdays[{i}]",
                    "calendar.workday_not_weekend",
                    f"{day} is a {day.strftime('%A')}: a 调休 working day is a Saturday or a "
                    "Sunday (weekdays are working days already)",
                )
            )
    return found


def _check_period(
    reader: _Reader, year: int, name: str, days: tuple[date, ...]
) -> list[CalendarProblem]:
    statutory, (m1, d1), (m2, d2) = PERIODS[name]
    where = f"{year}.holidays.{name}"
    found: list[CalendarProblem] = []
    ordered = sorted(days)
    if name != "other":
        gaps = [b for a, b in itertools.pairwise(ordered) if b - a != timedelta(1)]
        if gaps:
            found.append(
                reader.problem(
                    where,
                    "calendar.period_not_consecutive",
                    f"a holiday period is one run of days; {gaps[0]} does not follow the day "
                    "before it (list every day of the period, weekends included)",
                )
            )
        if len(ordered) < statutory:
            found.append(
                reader.problem(
                    where,
                    "calendar.period_too_short",
                    f"{name} has {statutory} statutory day(s) off; the period lists {len(ordered)}",
                )
            )
    earliest, latest = date(year, m1, d1), date(year, m2, d2)
    for day in ordered:
        if not earliest <= day <= latest:
            found.append(
                reader.problem(
                    where,
                    "calendar.period_misplaced",
                    f"{day} cannot be a day of {name} (between {earliest} and {latest})",
                )
            )
            break
    anchor = ANCHORS.get(name)
    if anchor is not None and date(year, *anchor) not in days:
        found.append(
            reader.problem(
                where,
                "calendar.period_misplaced",
                f"{name} includes {date(year, *anchor)}",
            )
        )
    return found


class _Reader:
    """Reads the TOML text into years, collecting problems (with their lines) as it goes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.problems: list[CalendarProblem] = []
        self.lines: dict[str, int] = {}

    def problem(self, key: str, rule: str, message: str) -> CalendarProblem:
        return CalendarProblem(_line_of(self.lines, key), key, rule, message)

    def _add(self, key: str, rule: str, message: str) -> None:
        self.problems.append(self.problem(key, rule, message))

    def read(self) -> CalendarFile:
        empty = CalendarFile({}, {}, {}, frozenset())
        try:
            raw = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            at = re.search(r"at line (\d+)", str(exc))
            self.problems.append(
                CalendarProblem(
                    int(at[1]) if at else None,
                    "calendar",
                    "calendar.file_invalid",
                    f"not valid TOML: {exc}",
                )
            )
            return empty
        self.lines = key_lines(self.text)
        years: dict[int, YearCalendar] = {}
        periods: dict[int, dict[str, tuple[date, ...]]] = {}
        notices: dict[int, str] = {}
        replacing: set[int] = set()
        for key, table in raw.items():
            if not (len(key) == 4 and key.isdigit()) or not isinstance(table, dict):
                self._add(key, "calendar.file_invalid", f"[{key}] is not a year table ([2027])")
                continue
            read = self._year(int(key), table)
            if read is None:
                continue
            year = int(key)
            years[year], named, notice, replace = read
            if named is not None:
                periods[year] = named
            if notice is not None:
                notices[year] = notice
            if replace:
                replacing.add(year)
        return CalendarFile(years, periods, notices, frozenset(replacing))

    def _year(
        self, year: int, table: dict[str, Any]
    ) -> tuple[YearCalendar, dict[str, tuple[date, ...]] | None, str | None, bool] | None:
        key = str(year)
        before = len(self.problems)
        for unknown in sorted(set(table) - YEAR_KEYS):
            self._add(
                f"{key}.{unknown}",
                "calendar.file_invalid",
                f"unknown key (a year has {', '.join(sorted(YEAR_KEYS))})",
            )
        replace = table.get("replace_package_data", False)
        if not isinstance(replace, bool):
            self._add(
                f"{key}.replace_package_data", "calendar.file_invalid", "must be true or false"
            )
            replace = False
        if year in PACKAGE_YEARS and not replace:
            self._add(
                key,
                "calendar.package_year_override",
                f"chinese-calendar already has {year}'s holidays; a table for {year} replaces "
                "them all, so it must say replace_package_data = true and list the whole year",
            )
        notice = table.get("notice")
        if notice is not None and not (isinstance(notice, str) and notice.strip()):
            self._add(f"{key}.notice", "calendar.file_invalid", "must be the notice's title")
            notice = None
        holidays = table.get("holidays")
        named: dict[str, tuple[date, ...]] | None = None
        days_off: list[tuple[str, date]] = []
        if holidays is None or holidays == [] or holidays == {}:
            self._add(
                f"{key}.holidays",
                "calendar.holidays_required",
                f"[{key}] must list {year}'s statutory holidays (节假日安排); an empty or "
                "missing list would count every weekday as a working day",
            )
        elif isinstance(holidays, dict):
            named = {}
            for name, values in holidays.items():
                where = f"{key}.holidays.{name}"
                if name not in PERIODS:
                    self._add(
                        where,
                        "calendar.file_invalid",
                        f"unknown holiday period (one of {', '.join(PERIODS)})",
                    )
                    continue
                dates = self._dates(year, where, values, required=True)
                named[name] = tuple(d for _, d in dates)
                days_off += dates
        else:
            days_off = self._dates(year, f"{key}.holidays", holidays, required=False)
        workdays = self._dates(year, f"{key}.workdays", table.get("workdays", []), required=False)
        seen: dict[date, str] = {}
        for where, day in days_off:
            if day in seen:
                self._add(where, "calendar.file_invalid", f"{day} is listed twice ({seen[day]})")
            seen.setdefault(day, where)
        both = {d for _, d in days_off} & {d for _, d in workdays}
        if both:
            self._add(key, "calendar.file_invalid", f"{min(both)} is both a holiday and a workday")
        if len(self.problems) > before:
            return None
        calendar = YearCalendar(
            holidays=frozenset(d for _, d in days_off), workdays=frozenset(d for _, d in workdays)
        )
        return calendar, named, notice, replace

    def _dates(
        self, year: int, where: str, values: Any, *, required: bool
    ) -> list[tuple[str, date]]:
        if not isinstance(values, list) or (required and not values):
            self._add(where, "calendar.file_invalid", "must be a list of dates (2027-01-01)")
            return []
        found: list[tuple[str, date]] = []
        for i, value in enumerate(values):
            at = f"{where}[{i}]"
            day = _as_date(value)
            if day is None:
                self._add(at, "calendar.not_a_date", _why_not_a_date(value))
            elif day.year != year:
                self._add(at, "calendar.file_invalid", f"{day} is not in {year}")
            else:
                found.append((at, day))
        return found


def _as_date(value: Any) -> date | None:
    """A date written as a TOML date or an ISO date string; None for anything else — a
    date-time (even at midnight) is refused: it never equals a date, so a holiday written
    that way would silently stay a working day."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _why_not_a_date(value: Any) -> str:
    if isinstance(value, datetime):
        return (
            f"{value.isoformat()} is a date-time, not a date: write {value.date().isoformat()} "
            "(a date-time never matches a day, and the holiday would be a working day)"
        )
    return f"{value!r} is no date: write a day as YYYY-MM-DD"


# ------------------------------------------------------------------------- lines of keys

_HEADER = re.compile(r"^\[\s*([^\[\]]+?)\s*\]$")
_ASSIGN = re.compile(r'^("[^"]*"|[A-Za-z0-9_-]+)\s*=\s*(.*)$')


def key_lines(text: str) -> dict[str, int]:
    """Where each key of a (well-formed) calendar file is written: table headers, keys, and
    each element of an array value (``2027.holidays[3]``), by line number from 1."""
    lines: dict[str, int] = {}
    table: list[str] = []
    array: str | None = None  # the key path of the array being read across lines
    index = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _without_comment(raw).strip()
        if array is not None:
            array, index = _elements(line, array, index, number, lines)
            continue
        header = _HEADER.match(line)
        if header:
            table = [part.strip().strip('"') for part in header[1].split(".")]
            lines.setdefault(".".join(table), number)
            continue
        assign = _ASSIGN.match(line)
        if not assign:
            continue
        path = ".".join([*table, assign[1].strip('"')])
        lines.setdefault(path, number)
        value = assign[2].strip()
        if value.startswith("["):
            array, index = _elements(value[1:], path, 0, number, lines)
        elif value.startswith("{"):  # an inline table: its keys on this line
            for inner in re.finditer(r'("[^"]*"|[A-Za-z0-9_-]+)\s*=', value):
                lines.setdefault(f"{path}.{inner[1].strip(chr(34))}", number)
    return lines


def _elements(
    text: str, path: str, index: int, number: int, lines: dict[str, int]
) -> tuple[str | None, int]:
    """Note the array elements that start on this line; None once the array closes."""
    for token in re.finditer(r'"[^"]*"|\]|[^\s,\]]+', text):
        if token[0] == "]":
            return None, index
        lines.setdefault(f"{path}[{index}]", number)
        index += 1
    return path, index


def _without_comment(line: str) -> str:
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:i]
    return line


def _line_of(lines: dict[str, int], key: str) -> int | None:
    """The line of ``key``, or of the nearest enclosing key that has one."""
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    return None
