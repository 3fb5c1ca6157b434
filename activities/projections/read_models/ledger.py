"""The hazard ledger (隐患排查治理台账) of a grid unit and period, from ``case_view``.

One line per hazard found in the period (发现日期, a date in the policy's time zone, from the
first day to the last, both included) at an enterprise in the unit's subtree, oldest first.
The listed level is the highest the hazard was ever listed at (a hazard listed and de-listed
was listed: the ledger keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

# A ledger is a file a person opens: a grid unit's year is thousands of lines, not millions.
MAX_LEDGER_ROWS = 50_000
_LEVEL_RANK = {"province": 0, "city": 1, "county": 2}
_COLUMNS = (
    "hazard_id",
    "found_at",
    "enterprise_name",
    "credit_code",
    "hazard_class",
    "category",
    "description",
    "measures",
    "responsible_person",
    "rectification_deadline",
    "deadline",
    "status",
    "closed_at",
    "close_basis",
    "verified_by",
    "listed_level",
    "listings",
    "escalation_index",
    "time_zone",
)


@dataclass(frozen=True)
class LedgerLine:
    hazard_id: str
    found_at: datetime
    enterprise_name: str
    credit_code: str
    hazard_class: str
    category: str
    description: str
    measures: str | None
    responsible_person: str | None
    deadline: datetime | None  # the rectification deadline (整改期限) set by the notice
    status: str
    rectified_at: datetime | None  # 整改完成: closed on a passed verification or at once
    verified_by: str | None
    listed_level: str | None  # the highest ever
    escalations: int


class LedgerTooLarge(ValueError):
    pass


def period_bounds(first: date, last: date, time_zone: str) -> tuple[datetime, datetime]:
    """The instants from the first day's 00:00 to the day after the last, in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
    )


def ledger_lines(
    engine: Engine, grid_unit: str, first: date, last: date, time_zone: str
) -> list[LedgerLine]:
    start, end = period_bounds(first, last, time_zone)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {', '.join(_COLUMNS)} FROM case_view"
            " WHERE grid_path @> ARRAY[%(unit)s]::text[]"
            " AND found_at >= %(start)s AND found_at < %(end)s"
            " ORDER BY found_at, hazard_id LIMIT %(limit)s",
            {"unit": grid_unit, "start": start, "end": end, "limit": MAX_LEDGER_ROWS + 1},
        ).all()
    if len(rows) > MAX_LEDGER_ROWS:
        raise LedgerTooLarge(
            f"the period holds more than {MAX_LEDGER_ROWS} hazards: ask for a shorter period "
            "or a smaller grid unit"
        )
    return [_line(dict(zip(_COLUMNS, row, strict=True))) for row in rows]


def _highest_level(row: dict[str, Any]) -> str | None:
    levels = [str(e["level"]) for e in row["listings"] or [] if e.get("level")]
    if row["listed_level"]:
        levels.append(str(row["listed_level"]))
    return min(levels, key=lambda level: _LEVEL_RANK.get(level, 9)) if levels else None


def _line(row: dict[str, Any]) -> LedgerLine:
    rectified = row["closed_at"] if row["close_basis"] in ("verified", "immediate") else None
    return LedgerLine(
        hazard_id=row["hazard_id"],
        found_at=row["found_at"],
        enterprise_name=row["enterprise_name"],
        credit_code=row["credit_code"],
        hazard_class=row["hazard_class"],
        category=row["category"],
        description=row["description"],
        measures=row["measures"],
        responsible_person=row["responsible_person"],
        deadline=row["rectification_deadline"] or row["deadline"],
        status=row["status"],
        rectified_at=rectified,
        verified_by=row["verified_by"],
        listed_level=_highest_level(row),
        escalations=int(row["escalation_index"]),
    )
