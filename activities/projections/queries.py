"""Reads of the read models, for the HTTP API and the reports.

Everything that depends on the instant of the question takes ``now``: whether a case is
overdue (逾期), the whitelist (白名单) eligibility and the current grade, whether a register entry
is still on the list. Nothing time-dependent is stored, so an answer is right when it is asked,
not when the projector last ran.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from activities.projections.changes import CASE_COLUMNS, METRICS, REGISTER_COLUMNS
from domain.calendar import WorkingCalendar
from domain.credit import (
    BlacklistEntry,
    CreditEntry,
    CreditState,
    Proceeding,
    rating_of,
    whitelist_eligible,
)
from domain.policy import CreditEventKind, Policy

MAX_PAGE = 500
DEFAULT_TIME_ZONE = "Asia/Shanghai"


def _aware(now: datetime, name: str = "now") -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{name}: must carry a time zone")
    return now.astimezone(UTC)


def _page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit: must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise ValueError("offset: must be >= 0")


# ---------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class CaseFilter:
    """Filters of the case list; ``None`` means "any". ``grid_unit`` selects the unit's whole
    subtree; ``overdue`` is judged at the query's ``now``."""

    grid_unit: str | None = None
    statuses: tuple[str, ...] | None = None
    listed_level: str | None = None
    hazard_class: str | None = None
    listed: bool | None = None
    overdue: bool | None = None
    credit_code: str | None = None
    open_only: bool = False


@dataclass(frozen=True)
class CaseItem:
    hazard_id: str
    overdue: bool
    fields: Mapping[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.fields[column]


@dataclass(frozen=True)
class CasePage:
    total: int
    limit: int
    offset: int
    items: tuple[CaseItem, ...]


_OVERDUE = (
    "(c.is_open AND c.reported_at IS NULL AND c.deadline IS NOT NULL AND c.deadline <= %(now)s)"
)


def _case_where(filters: CaseFilter) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.grid_unit is not None:
        clauses.append("c.grid_path @> ARRAY[%(grid_unit)s]::text[]")
        params["grid_unit"] = filters.grid_unit
    if filters.statuses is not None:
        clauses.append("c.status = ANY(%(statuses)s)")
        params["statuses"] = list(filters.statuses)
    if filters.listed_level is not None:
        clauses.append("c.listed_level = %(listed_level)s")
        params["listed_level"] = filters.listed_level
    if filters.hazard_class is not None:
        clauses.append("c.hazard_class = %(hazard_class)s")
        params["hazard_class"] = filters.hazard_class
    if filters.listed is not None:
        clauses.append("c.listing_no IS NOT NULL" if filters.listed else "c.listing_no IS NULL")
    if filters.overdue is not None:
        clauses.append(_OVERDUE if filters.overdue else f"NOT {_OVERDUE}")
    if filters.credit_code is not None:
        clauses.append("c.credit_code = %(credit_code)s")
        params["credit_code"] = filters.credit_code
    if filters.open_only:
        clauses.append("c.is_open")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_cases(
    engine: Engine,
    *,
    now: datetime,
    filters: CaseFilter | None = None,
    limit: int = 50,
    offset: int = 0,
) -> CasePage:
    """Cases matching ``filters``, earliest deadline first (no deadline last), paged."""
    _page(limit, offset)
    where, params = _case_where(filters or CaseFilter())
    params |= {"now": _aware(now), "limit": limit, "offset": offset}
    columns = ", ".join(f"c.{name}" for name in CASE_COLUMNS)
    with engine.connect() as conn:
        total = conn.exec_driver_sql(f"SELECT count(*) FROM case_view c{where}", params).scalar()
        rows = conn.exec_driver_sql(
            f"SELECT {columns}, {_OVERDUE} FROM case_view c{where}"
            " ORDER BY c.deadline ASC NULLS LAST, c.hazard_id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    return CasePage(int(total or 0), limit, offset, tuple(_case_item(row) for row in rows))


def get_case(engine: Engine, hazard_id: str, *, now: datetime) -> CaseItem | None:
    columns = ", ".join(f"c.{name}" for name in CASE_COLUMNS)
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            f"SELECT {columns}, {_OVERDUE} FROM case_view c WHERE c.hazard_id = %(h)s",
            {"h": hazard_id, "now": _aware(now)},
        ).first()
    return None if row is None else _case_item(row)


def _case_item(row: Sequence[Any]) -> CaseItem:
    fields = dict(zip(CASE_COLUMNS, row[:-1], strict=True))
    return CaseItem(fields["hazard_id"], bool(row[-1]), fields)


# ---------------------------------------------------------------------------------- enterprises


@dataclass(frozen=True)
class EnterpriseItem:
    credit_code: str
    enterprise_name: str
    industry: str | None
    grid_code: str | None
    grid_path: tuple[str, ...]
    cases_registered: int
    open_cases: int
    overdue_cases: int
    rating: str | None  # as last recorded by the credit workflow (RatingChanged)
    rating_points: int | None
    rating_now: str | None  # the policy's grade at ``now`` (old entries age out of the window)
    whitelist_eligible: bool | None  # None when asked without a policy
    blacklisted: bool
    blacklisted_until: datetime | None
    early_removal_from: datetime | None
    open_proceeding_no: str | None
    objection_until: datetime | None
    credit_entries: tuple[CreditEntry, ...]
    credit_state: CreditState | None


_ENTERPRISE_SELECT = (
    "SELECT e.credit_code, e.enterprise_name, e.industry, e.grid_code, e.grid_path,"
    " e.cases_registered, e.credit_opened_at, e.credit_entries, e.rating, e.rating_points,"
    " e.open_proceeding_no, e.objection_until, e.last_proceeding_trigger, e.proceedings,"
    " e.blacklisted, e.blacklist_proceeding_no, e.blacklisted_since, e.blacklisted_until,"
    " e.early_removal_from, e.last_listing_ended_at,"
    " (SELECT count(*) FROM case_view c WHERE c.credit_code = e.credit_code AND c.is_open),"
    f" (SELECT count(*) FROM case_view c WHERE c.credit_code = e.credit_code AND {_OVERDUE})"
    " FROM enterprise_view e WHERE e.credit_code = %(code)s"
)


def get_enterprise(
    engine: Engine,
    credit_code: str,
    *,
    now: datetime,
    policy: Policy | None = None,
    calendar: WorkingCalendar | None = None,
) -> EnterpriseItem | None:
    """The enterprise with its cases and credit (信用): grade and whitelist need ``policy``."""
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            _ENTERPRISE_SELECT, {"code": credit_code, "now": _aware(now)}
        ).first()
    if row is None:
        return None
    (
        code,
        name,
        industry,
        grid_code,
        grid_path,
        cases_registered,
        opened_at,
        entries_data,
        rating,
        points,
        proceeding_no,
        objection_until,
        trigger,
        proceedings,
        blacklisted,
        blacklist_no,
        since,
        until,
        early_from,
        ended_at,
        open_cases,
        overdue_cases,
    ) = row
    entries = tuple(
        CreditEntry(case_id, CreditEventKind(kind), datetime.fromisoformat(occurred))
        for case_id, kind, occurred in entries_data
    )
    state: CreditState | None = None
    if opened_at is not None:
        blacklist = None
        if blacklist_no is not None and since is not None and until is not None:
            blacklist = BlacklistEntry(
                blacklist_no, since, until, early_from or since, removed_early=not blacklisted
            )
        state = CreditState(
            credit_code=code,
            enterprise_name=name,
            opened_at=opened_at,
            entries=entries,
            proceeding=Proceeding(proceeding_no, trigger or "", objection_until)
            if proceeding_no is not None
            else None,
            proceedings=proceedings,
            blacklist=blacklist,
            last_listing_ended_at=ended_at,
            rating=rating,
            points=points,
        )
    rating_now: str | None = None
    eligible: bool | None = None
    if policy is not None:
        cal = calendar or WorkingCalendar()
        moment = _aware(now)
        eligible = whitelist_eligible(state, moment, policy, cal)
        if state is not None:
            rating_now = rating_of(state, moment, policy, cal)[0]
    return EnterpriseItem(
        credit_code=code,
        enterprise_name=name,
        industry=industry,
        grid_code=grid_code,
        grid_path=tuple(grid_path or ()),
        cases_registered=cases_registered,
        open_cases=int(open_cases),
        overdue_cases=int(overdue_cases),
        rating=rating,
        rating_points=points,
        rating_now=rating_now,
        whitelist_eligible=eligible,
        blacklisted=blacklisted,
        blacklisted_until=until,
        early_removal_from=early_from,
        open_proceeding_no=proceeding_no,
        objection_until=objection_until,
        credit_entries=entries,
        credit_state=state,
    )


# ---------------------------------------------------------------------------------- register


@dataclass(frozen=True)
class BlacklistPage:
    total: int
    limit: int
    offset: int
    items: tuple[Mapping[str, Any], ...]


def list_blacklist(
    engine: Engine,
    *,
    status: str | None = None,
    on_list_at: datetime | None = None,
    grid_unit: str | None = None,
    credit_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> BlacklistPage:
    """The public register (严重失信主体名单公示), newest listing first.

    ``status``: listed, expired or removed_early (a revoked early removal is listed again and
    keeps ``removal_revoked_at``). ``on_list_at``: only entries on the list at that instant.
    """
    _page(limit, offset)
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status is not None:
        clauses.append("status = %(status)s")
        params["status"] = status
    if on_list_at is not None:
        clauses.append("status = 'listed' AND listed_at <= %(at)s AND expires_at > %(at)s")
        params["at"] = _aware(on_list_at, "on_list_at")
    if grid_unit is not None:
        clauses.append("grid_path @> ARRAY[%(grid_unit)s]::text[]")
        params["grid_unit"] = grid_unit
    if credit_code is not None:
        clauses.append("credit_code = %(credit_code)s")
        params["credit_code"] = credit_code
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with engine.connect() as conn:
        total = conn.exec_driver_sql(f"SELECT count(*) FROM blacklist_register{where}", params)
        count = int(total.scalar() or 0)
        rows = conn.exec_driver_sql(
            f"SELECT {', '.join(REGISTER_COLUMNS)} FROM blacklist_register{where}"
            " ORDER BY listed_at DESC, proceeding_no LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    items = tuple(dict(zip(REGISTER_COLUMNS, row, strict=True)) for row in rows)
    return BlacklistPage(count, limit, offset, items)


# ---------------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Period:
    """A calendar month (``month``, 1-12) or quarter (``quarter``, 1-4) of a year."""

    kind: Literal["month", "quarter"]
    year: int
    number: int

    def __post_init__(self) -> None:
        top = 12 if self.kind == "month" else 4
        if self.kind not in ("month", "quarter") or not 1 <= self.number <= top:
            raise ValueError(f"period: {self.kind} {self.number} does not exist")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls("month", year, month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        return cls("quarter", year, quarter)

    def months(self) -> tuple[date, ...]:
        if self.kind == "month":
            return (date(self.year, self.number, 1),)
        first = 3 * (self.number - 1) + 1
        return tuple(date(self.year, m, 1) for m in range(first, first + 3))

    def bounds(self, time_zone: str = DEFAULT_TIME_ZONE) -> tuple[datetime, datetime]:
        """[start, end) of the period on the wall clock of ``time_zone``."""
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
        return (
            f"{self.year}-{self.number:02d}"
            if self.kind == "month"
            else (f"{self.year}-Q{self.number}")
        )


@dataclass(frozen=True)
class UnitStatistics:
    """The figures of a grid unit's whole subtree for a period (DOMAIN.md "Reports and figures").

    ``figures`` are flows counted in the period (see activities/projections/changes.py).
    ``rectification_rate`` (整改率): of the hazards found in the period, the share closed by
    ``now``. ``on_time_rate`` (到期整改率): rectified by the deadline / due. ``overdue_open``:
    cases of the subtree overdue at ``now``. A rate is None when its denominator is 0.
    """

    unit_code: str
    unit_name: str | None
    unit_level: str | None
    period: Period
    figures: Mapping[str, int]
    found_in_period_closed: int
    rectification_rate: float | None
    on_time_rate: float | None
    overdue_open: int

    @property
    def escalations_by_level(self) -> dict[str, int]:
        return {
            level: self.figures[f"escalations_{level}"]
            for level in ("township", "county", "city", "province")
        }


def unit_statistics(
    engine: Engine,
    unit_code: str,
    period: Period,
    *,
    now: datetime,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> UnitStatistics:
    sums = ", ".join(f"coalesce(sum({m}), 0)" for m in METRICS)
    start, end = period.bounds(time_zone)
    params = {
        "unit": unit_code,
        "months": list(period.months()),
        "now": _aware(now),
        "start": start,
        "end": end,
    }
    with engine.connect() as conn:
        totals = conn.exec_driver_sql(
            f"SELECT {sums} FROM case_statistics WHERE unit_code = %(unit)s"
            " AND period = ANY(%(months)s)",
            params,
        ).one()
        closed, overdue = conn.exec_driver_sql(
            "SELECT count(*) FILTER (WHERE c.registered_at >= %(start)s"
            "   AND c.registered_at < %(end)s AND c.closed_at IS NOT NULL"
            "   AND c.closed_at <= %(now)s),"
            f" count(*) FILTER (WHERE {_OVERDUE})"
            " FROM case_view c WHERE c.grid_path @> ARRAY[%(unit)s]::text[]",
            params,
        ).one()
        unit = conn.exec_driver_sql(
            "SELECT name, level FROM grid_unit_view WHERE code = %(unit)s", params
        ).first()
    figures = {m: int(v) for m, v in zip(METRICS, totals, strict=True)}
    found, due = figures["found"], figures["due"]
    return UnitStatistics(
        unit_code=unit_code,
        unit_name=unit[0] if unit else None,
        unit_level=unit[1] if unit else None,
        period=period,
        figures=figures,
        found_in_period_closed=int(closed),
        rectification_rate=int(closed) / found if found else None,
        on_time_rate=figures["rectified_on_time"] / due if due else None,
        overdue_open=int(overdue),
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
