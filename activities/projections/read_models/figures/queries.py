"""Reads of the figures: a grid unit's statistics for a period (``unit_statistics``), its
child units' (``child_unit_statistics``) and which units have something to report for a period
(``units_with_figures``). The reports carry exactly these (``activities.reports``), so the
statistics page and the report of the same unit and period show the same numbers.

Everything that depends on the instant of the question takes ``now``: the deadlines of the
period that have passed with no outcome recorded yet, and the hazards overdue while the period
still runs. Nothing time-dependent is stored, so an answer is right when it is asked, not when
the projector last ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from activities.projections.read_models.figures.changes import (
    BLACKLIST_CHANGES,
    ESCALATION_LEVELS,
    LISTING_LEVELS,
    METRICS,
)
from activities.projections.read_models.paging import aware
from domain.periods import DEFAULT_TIME_ZONE, Period


def rate(numerator: int, denominator: int) -> float | None:
    """A rate as reported: four decimals, None when nothing is in the denominator."""
    return round(numerator / denominator, 4) if denominator else None


@dataclass(frozen=True)
class UnitStatistics:
    """The figures of a grid unit's whole subtree for a period (DOMAIN.md "Reports and
    figures"), with the definitions of this package (its docstring); the reports carry exactly
    these.

    ``due`` and ``rectified_on_time`` count hazards (到期整改率, ``on_time_rate``): each hazard
    whose rectification deadline fell due in the period, once. ``deadlines_due`` and
    ``deadlines_met``/``deadlines_missed`` count every deadline that fell due, the supervision
    deadlines after an escalation included (one case escalated four times: five deadlines,
    one hazard). ``due`` includes ``due_unsettled`` (and ``deadlines_due`` includes
    ``deadlines_due_unsettled``): those of the period that have passed (by ``now``) with no
    outcome recorded yet, not on time so far.

    ``overdue`` (逾期 hazards) is judged at ``overdue_as_of``: the period's end, or ``now`` while
    the period runs. ``cases``: cases open at some moment of the period. ``figures``: the
    stored counters summed over the period's months.
    """

    unit_code: str
    unit_name: str | None
    unit_level: str | None
    period: Period
    time_zone: str
    start: datetime
    end: datetime
    overdue_as_of: datetime
    cases: int
    found: int
    found_major: int
    rectified: int
    due: int
    due_unsettled: int
    rectified_on_time: int
    deadlines_due: int
    deadlines_due_unsettled: int
    deadlines_met: int
    deadlines_missed: int
    overdue: int
    escalations_by_level: Mapping[str, int]
    listed_by_level: Mapping[str, int]
    delisted_by_level: Mapping[str, int]
    referred: int
    withdrawn: int
    blacklist_changes: Mapping[str, int]
    figures: Mapping[str, int]
    # 企业自查: hazards the enterprises found themselves (the rest of ``found``: inspectors'),
    # and those written off on the enterprise's own report.
    found_self_inspection: int = 0
    self_rectified: int = 0

    @property
    def found_by_inspectors(self) -> int:
        """Hazards found by inspectors and supervisors (检查发现): ``found`` less self-found."""
        return self.found - self.found_self_inspection

    @property
    def rectification_rate(self) -> float | None:
        """整改率: rectified / found, both flows of the period — above 1 when the period
        rectifies hazards found before it (a backlog cleared); the on-time rate below is the
        bounded one."""
        return rate(self.rectified, self.found)

    @property
    def on_time_rate(self) -> float | None:
        """到期整改率: hazards of the period rectified by their deadline / hazards whose
        deadline fell due in the period (the seeds' figure: Huzhou's 99.83 %)."""
        return rate(self.rectified_on_time, self.due)

    @property
    def deadlines_met_rate(self) -> float | None:
        """Deadlines of the period met / deadlines of the period due (every deadline, the
        supervision ones after an escalation included): not the 到期整改率."""
        return rate(self.deadlines_met, self.deadlines_due)


_SUMMED = tuple(m for m in METRICS if m != "overdue_at_end")


def unit_statistics(
    engine: Engine,
    unit_code: str,
    period: Period,
    *,
    now: datetime,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> UnitStatistics:
    """The figures of ``unit_code``'s subtree for ``period``, as known at ``now``."""
    start, end = period.bounds(time_zone)
    moment = aware(now)
    as_of = min(moment, end)
    months = period.months()
    params = {
        "unit": unit_code,
        "months": list(months),
        "last": months[-1],
        "now": moment,
        "as_of": as_of,
        "start": start,
        "end": end,
    }
    sums = ", ".join(f"coalesce(sum({m}), 0)" for m in _SUMMED)
    with engine.connect() as conn:
        totals = conn.exec_driver_sql(
            f"SELECT {sums}, coalesce(sum(overdue_at_end) FILTER (WHERE period = %(last)s), 0)"
            " FROM case_statistics WHERE unit_code = %(unit)s AND period = ANY(%(months)s)",
            params,
        ).one()
        cases, unsettled, hazards_unsettled, running_overdue = conn.exec_driver_sql(
            "SELECT count(*) FILTER (WHERE c.registered_at < %(end)s"
            "   AND coalesce(c.closed_at, c.withdrawn_at, 'infinity') >= %(start)s),"
            " count(*) FILTER (WHERE c.is_open AND c.deadline_no > c.settled_deadline_no"
            "   AND c.deadline >= %(start)s AND c.deadline < %(end)s AND c.deadline <= %(now)s),"
            # A hazard with nothing settled yet: its rectification deadline is the one in force.
            " count(*) FILTER (WHERE c.is_open AND c.settled_deadline_no = 0"
            "   AND c.rectification_deadline >= %(start)s AND c.rectification_deadline < %(end)s"
            "   AND c.rectification_deadline <= %(now)s),"
            " count(*) FILTER (WHERE c.overdue_watch_since <= %(as_of)s"
            "   AND c.rectification_deadline <= %(as_of)s)"
            " FROM case_view c WHERE c.grid_path @> ARRAY[%(unit)s]::text[]",
            params,
        ).one()
        unit = conn.exec_driver_sql(
            "SELECT name, level FROM grid_unit_view WHERE code = %(unit)s", params
        ).first()
    figures = {m: int(v) for m, v in zip(_SUMMED, totals[:-1], strict=True)}
    # Spells that ended after the period's end were counted then; running ones are read now.
    ended_spells = int(totals[-1]) if as_of == end else 0
    figures["overdue_at_end"] = ended_spells
    return UnitStatistics(
        unit_code=unit_code,
        unit_name=unit[0] if unit else None,
        unit_level=unit[1] if unit else None,
        period=period,
        time_zone=time_zone,
        start=start,
        end=end,
        overdue_as_of=as_of,
        cases=int(cases),
        found=figures["found"],
        found_major=figures["found_major"],
        rectified=figures["rectified"],
        due=figures["hazards_due"] + int(hazards_unsettled),
        due_unsettled=int(hazards_unsettled),
        rectified_on_time=figures["hazards_rectified_on_time"],
        deadlines_due=figures["deadlines_due"] + int(unsettled),
        deadlines_due_unsettled=int(unsettled),
        deadlines_met=figures["deadlines_met"],
        deadlines_missed=figures["deadlines_missed"],
        overdue=ended_spells + int(running_overdue),
        escalations_by_level={
            level: figures[f"escalations_{level}"] for level in ESCALATION_LEVELS
        },
        listed_by_level={level: figures[f"listed_{level}"] for level in LISTING_LEVELS},
        delisted_by_level={level: figures[f"delisted_{level}"] for level in LISTING_LEVELS},
        referred=figures["referred"],
        withdrawn=figures["withdrawn"],
        blacklist_changes={change: figures[f"blacklist_{change}"] for change in BLACKLIST_CHANGES},
        figures=figures,
        found_self_inspection=figures["found_self_inspection"],
        self_rectified=figures["self_rectified"],
    )


def child_unit_statistics(
    engine: Engine,
    parent_code: str,
    period: Period,
    *,
    now: datetime,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> list[UnitStatistics]:
    """The figures of each direct child unit of ``parent_code`` (a county's townships)."""
    with engine.connect() as conn:
        codes = conn.exec_driver_sql(
            "SELECT code FROM grid_unit_view WHERE parent_code = %(p)s ORDER BY code",
            {"p": parent_code},
        ).scalars()
        children = list(codes)
    return [
        unit_statistics(engine, code, period, now=now, time_zone=time_zone) for code in children
    ]


def units_with_figures(
    engine: Engine, period: Period, *, time_zone: str = DEFAULT_TIME_ZONE
) -> list[str]:
    """The grid units with something to report for ``period``: a figure counted in it, or a
    case of their subtree open at some moment of it."""
    start, end = period.bounds(time_zone)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT unit_code FROM case_statistics WHERE period = ANY(%(months)s)"
            " UNION"
            " SELECT unnest(grid_path) FROM case_view WHERE registered_at < %(end)s"
            "   AND coalesce(closed_at, withdrawn_at, 'infinity') >= %(start)s"
            " ORDER BY 1",
            {"months": list(period.months()), "start": start, "end": end},
        ).scalars()
        return list(rows)
