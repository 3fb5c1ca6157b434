"""A read-model row, and the values the change handlers read out of an event's data.

A row is a plain dict keyed by column name, loaded once per batch and written once
(``activities.projections.batch``). An event's instants are ISO text in its data and
datetimes in a row loaded back; both read the same through ``instant``. Months are those of a
case's time zone (the policy's, recorded at registration).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from domain.periods import DEFAULT_TIME_ZONE

if TYPE_CHECKING:
    from activities.projections.batch import BatchChanges

Row = dict[str, Any]

# What a handler may raise on an event whose data lacks a field or has one of the wrong shape:
# the event is skipped and counted, and everything it changed is taken back.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)

_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str | None) -> ZoneInfo:
    key = name or DEFAULT_TIME_ZONE
    zone = _ZONES.get(key)
    if zone is None:
        zone = _ZONES[key] = ZoneInfo(key)
    return zone


def instant(value: str | datetime) -> datetime:
    """A stored instant: ISO text in an event's data, a datetime in a row loaded back."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def utc_text(value: str | datetime) -> str:
    """An instant as UTC ISO text: the same JSON whether it came from an event or a row."""
    return instant(value).astimezone(UTC).isoformat()


def same_instant(a: str | datetime | None, b: str | datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return instant(a) == instant(b)


def month_of(moment: str | datetime, time_zone: str | None) -> date:
    """The first day of the month ``moment`` falls in, on the wall clock of ``time_zone``."""
    local = instant(moment).astimezone(_zone(time_zone))
    return date(local.year, local.month, 1)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_ends(start: datetime, end: datetime, time_zone: str | None) -> list[date]:
    """The months whose end T (local midnight starting the next month) has ``start <= T <
    end``: the month ends an overdue spell [start, end) covers."""
    zone = _zone(time_zone)
    local = start.astimezone(zone)
    month = date(local.year, local.month, 1)
    at_midnight_of_first = local == datetime(month.year, month.month, 1, tzinfo=zone)
    boundary = month if at_midnight_of_first else _next_month(month)
    months: list[date] = []
    while datetime(boundary.year, boundary.month, 1, tzinfo=zone) < end:
        months.append(_previous_month(boundary))
        boundary = _next_month(boundary)
    return months


# How one event changes one read model's row: a case's (case events) or an enterprise's
# (credit events, with the event's position). The batch calls the read models' changes of an
# event in a fixed order (see ``activities.projections.batch``).
CaseChange = Callable[["BatchChanges", Row, dict[str, Any]], None]
CreditChange = Callable[["BatchChanges", Row, int, dict[str, Any]], None]
