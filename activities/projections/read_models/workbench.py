"""The supervisor's 工作台 over the case list (``case_view``): each case's urgency (紧迫程度) at
``now``, the counts of each urgency per grid unit below the scope, and a page of cases filtered
as the case list is (``CaseFilter``) and by urgency.

Urgency, in the order the 工作台 shows it:

- ``overdue`` (逾期): open and overdue, as the case list judges it (``OVERDUE``);
- ``due_soon`` (临期): open, not overdue, no report awaiting verification, and the deadline in
  force falls before ``warn_until`` (now plus the policy's earliest reminder before a deadline);
- ``on_time`` (正常): any other open case;
- ``closed`` (已办结): closed or withdrawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from activities.projections.read_models.cases import (
    CASE_LIST_COLUMNS,
    OVERDUE,
    CaseFilter,
    CaseItem,
    _case_item,
    _case_where,
)
from activities.projections.read_models.paging import aware, check_page

URGENCIES: tuple[str, ...] = ("overdue", "due_soon", "on_time", "closed")
URGENCY = (
    "(CASE WHEN NOT c.is_open THEN 'closed'"
    f" WHEN {OVERDUE} THEN 'overdue'"
    " WHEN c.reported_at IS NULL AND c.deadline IS NOT NULL AND c.deadline <= %(warn_until)s"
    " THEN 'due_soon' ELSE 'on_time' END)"
)
_RANK = "array_position(ARRAY['overdue','due_soon','on_time','closed'], {urgency})"


@dataclass(frozen=True)
class WorkbenchItem:
    """A line of the 工作台: the case list's line (``case``) and its urgency."""

    case: CaseItem
    urgency: str


@dataclass(frozen=True)
class UnitCounts:
    """The cases of one grid unit's subtree (``unit_code`` None: the scope's own unit) by
    urgency."""

    unit_code: str | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class WorkbenchPage:
    total: int
    limit: int
    offset: int
    items: tuple[WorkbenchItem, ...]
    totals: dict[str, int]  # every urgency's count under the filters (urgency aside)
    units: tuple[UnitCounts, ...]


def _unit_key(scope: str | None) -> str:
    """The grid unit right below ``scope`` on a case's path (lowest first), or the top unit
    without a scope; NULL for a case of the scope's own unit (PostgreSQL's index 0)."""
    if scope is None:
        return "c.grid_path[cardinality(c.grid_path)]"
    return "c.grid_path[array_position(c.grid_path, %(grid_unit)s) - 1]"


def workbench(
    engine: Engine,
    *,
    now: datetime,
    warn_until: datetime,
    filters: CaseFilter,
    urgency: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> WorkbenchPage:
    """The 工作台 of ``filters.grid_unit``'s subtree (all units without one): a page of cases
    most urgent first (then earliest deadline), their count by urgency, and the counts per
    unit one level below the scope."""
    check_page(limit, offset)
    if urgency is not None and urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {urgency}")
    where, params = _case_where(filters)
    params |= {
        "now": aware(now),
        "warn_until": aware(warn_until),
        "limit": limit,
        "offset": offset,
        "urgency": urgency,
    }
    chosen = where
    if urgency is not None:
        chosen = (where + " AND " if where else " WHERE ") + f"{URGENCY} = %(urgency)s"
    columns = ", ".join(f"c.{name}" for name in CASE_LIST_COLUMNS)
    unit = _unit_key(filters.grid_unit)
    with engine.connect() as conn:
        grouped = conn.exec_driver_sql(
            f"SELECT {unit} AS unit, {URGENCY} AS urgency, count(*) FROM case_view c{where}"
            " GROUP BY 1, 2",
            params,
        ).all()
        rows = conn.exec_driver_sql(
            f"SELECT {columns}, {OVERDUE}, {URGENCY} FROM case_view c{chosen}"
            f" ORDER BY {_RANK.format(urgency=URGENCY)}, c.deadline ASC NULLS LAST, c.hazard_id"
            " LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    totals = dict.fromkeys(URGENCIES, 0)
    per_unit: dict[str | None, dict[str, int]] = {}
    for code, kind, count in grouped:
        totals[kind] += int(count)
        per_unit.setdefault(code, dict.fromkeys(URGENCIES, 0))[kind] += int(count)
    moment = aware(now)
    items = tuple(_line(row, moment) for row in rows)
    total = totals[urgency] if urgency is not None else sum(totals.values())
    units = tuple(
        UnitCounts(code, counts)
        for code, counts in sorted(per_unit.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    )
    return WorkbenchPage(total, limit, offset, items, totals, units)


def _line(row: Sequence[Any], now: datetime) -> WorkbenchItem:
    return WorkbenchItem(_case_item(row[:-1], now), str(row[-1]))
