"""Reads of the read models, for the HTTP API and the reports.

Everything that depends on the instant of the question takes ``now``: whether a case is
overdue (逾期), the whitelist (白名单) eligibility and the current grade, whether a register entry
is still on the list. Nothing time-dependent is stored, so an answer is right when it is asked,
not when the projector last ran.

The statistics (``unit_statistics``) are the figures the reports carry, with the one set of
definitions written down in activities/projections/changes.py: the statistics page and the
report of the same unit and period show the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from activities.projections.changes import (
    BLACKLIST_CHANGES,
    CASE_LIST_COLUMNS,
    ESCALATION_LEVELS,
    LISTING_LEVELS,
    METRICS,
    REGISTER_COLUMNS,
)
from domain.calendar import WorkingCalendar
from domain.case import days_overdue
from domain.credit import (
    BlacklistEntry,
    CreditEntry,
    CreditState,
    Proceeding,
    rating_of,
    unrecorded_rating,
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
    """A line of the case list. ``overdue`` (逾期) at the query's ``now``: since
    ``overdue_since`` (the hazard's rectification deadline), for ``days_overdue`` calendar days
    in the case's time zone (the policy's)."""

    hazard_id: str
    overdue: bool
    fields: Mapping[str, Any]
    overdue_since: datetime | None = None
    days_overdue: int | None = None

    def __getitem__(self, column: str) -> Any:
        return self.fields[column]


@dataclass(frozen=True)
class CasePage:
    total: int
    limit: int
    offset: int
    items: tuple[CaseItem, ...]


# 逾期 at ``now``: the domain's ``CaseState.overdue_since``. The projector keeps
# ``overdue_watch_since`` set while the case is open with a rectification deadline and nothing
# holds it off (a report made by that deadline awaiting verification, an extension asked for in
# time awaiting its decision); the clock does the rest.
_OVERDUE = (
    "(c.overdue_watch_since IS NOT NULL AND c.rectification_deadline IS NOT NULL"
    " AND c.rectification_deadline <= %(now)s)"
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
    columns = ", ".join(f"c.{name}" for name in CASE_LIST_COLUMNS)
    with engine.connect() as conn:
        total = conn.exec_driver_sql(f"SELECT count(*) FROM case_view c{where}", params).scalar()
        rows = conn.exec_driver_sql(
            f"SELECT {columns}, {_OVERDUE} FROM case_view c{where}"
            " ORDER BY c.deadline ASC NULLS LAST, c.hazard_id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    moment = _aware(now)
    items = tuple(_case_item(row, moment) for row in rows)
    return CasePage(int(total or 0), limit, offset, items)


def get_case(engine: Engine, hazard_id: str, *, now: datetime) -> CaseItem | None:
    columns = ", ".join(f"c.{name}" for name in CASE_LIST_COLUMNS)
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            f"SELECT {columns}, {_OVERDUE} FROM case_view c WHERE c.hazard_id = %(h)s",
            {"h": hazard_id, "now": _aware(now)},
        ).first()
    return None if row is None else _case_item(row, _aware(now))


def _case_item(row: Sequence[Any], now: datetime) -> CaseItem:
    fields = dict(zip(CASE_LIST_COLUMNS, row[:-1], strict=True))
    overdue = bool(row[-1])
    if not overdue:
        return CaseItem(fields["hazard_id"], False, fields)
    zone = fields["time_zone"] or DEFAULT_TIME_ZONE
    since = fields["rectification_deadline"].astimezone(ZoneInfo(zone))
    days = days_overdue(since, now, zone)
    return CaseItem(fields["hazard_id"], True, fields, since, days)


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
    # As last recorded by the credit workflow (RatingChanged); with no credit record and a
    # policy, the grade of an enterprise with nothing recorded (``unrecorded_rating``).
    rating: str | None
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
        else:  # every enterprise has a grade: with no record, the scheme's base points'
            rating_now, base_points = unrecorded_rating(policy)
            rating, points = rating or rating_now, points if points is not None else base_points
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


@dataclass(frozen=True)
class EnterpriseSummary:
    """One line of the enterprise list: where it is, its cases now, its credit as recorded."""

    credit_code: str
    enterprise_name: str
    industry: str | None
    grid_code: str | None
    grid_path: tuple[str, ...]
    cases_registered: int
    open_cases: int
    overdue_cases: int  # at the query's ``now``
    # As last recorded by the credit workflow (RatingChanged); with no credit record, the grade
    # ``list_enterprises`` was given for such an enterprise (``unrecorded_rating``).
    rating: str | None
    rating_points: int | None
    blacklisted: bool  # on the list at ``now``
    blacklisted_until: datetime | None
    open_proceeding_no: str | None
    credit_opened_at: datetime | None = None  # None: no credit record opened yet


@dataclass(frozen=True)
class EnterprisePage:
    total: int
    limit: int
    offset: int
    items: tuple[EnterpriseSummary, ...]


_ON_LIST = "(e.blacklisted AND (e.blacklisted_until IS NULL OR e.blacklisted_until > %(now)s))"


def list_enterprises(
    engine: Engine,
    *,
    now: datetime,
    grid_unit: str | None = None,
    rating: str | None = None,
    blacklisted: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    credit_code: str | None = None,
    unrecorded: tuple[str, int] | None = None,
) -> EnterprisePage:
    """Enterprises by credit code, paged: those of ``grid_unit``'s whole subtree (from the
    reference data or their latest case), with the recorded ``rating`` (A–D), on the list or
    not at ``now`` (``blacklisted``), only ``credit_code`` (an enterprise's own line).
    ``None`` means "any". ``unrecorded``: the (grade, points) of an enterprise with no credit
    record under the policy (``domain.credit.unrecorded_rating``): its line shows them and
    the ``rating`` filter counts it by them, so every enterprise has a grade and the list,
    the filter and the total agree."""
    _page(limit, offset)
    clauses: list[str] = []
    params: dict[str, Any] = {"now": _aware(now), "limit": limit, "offset": offset}
    grade, points = "e.rating", "e.rating_points"
    if unrecorded is not None:
        params["unrecorded_grade"], params["unrecorded_points"] = unrecorded
        grade = "(CASE WHEN e.credit_opened_at IS NULL THEN %(unrecorded_grade)s ELSE e.rating END)"
        points = (
            "(CASE WHEN e.credit_opened_at IS NULL THEN %(unrecorded_points)s"
            " ELSE e.rating_points END)"
        )
    if grid_unit is not None:
        clauses.append("e.grid_path @> ARRAY[%(grid_unit)s]::text[]")
        params["grid_unit"] = grid_unit
    if rating is not None:
        clauses.append(f"{grade} = %(rating)s")
        params["rating"] = rating
    if blacklisted is not None:
        clauses.append(_ON_LIST if blacklisted else f"NOT {_ON_LIST}")
    if credit_code is not None:
        clauses.append("e.credit_code = %(credit_code)s")
        params["credit_code"] = credit_code
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with engine.connect() as conn:
        total = conn.exec_driver_sql(f"SELECT count(*) FROM enterprise_view e{where}", params)
        count = int(total.scalar() or 0)
        rows = conn.exec_driver_sql(
            "SELECT e.credit_code, e.enterprise_name, e.industry, e.grid_code, e.grid_path,"
            " e.cases_registered,"
            " (SELECT count(*) FROM case_view c WHERE c.credit_code = e.credit_code"
            "   AND c.is_open),"
            " (SELECT count(*) FROM case_view c WHERE c.credit_code = e.credit_code"
            f"   AND {_OVERDUE}),"
            f" {grade}, {points}, {_ON_LIST}, e.blacklisted_until, e.open_proceeding_no,"
            " e.credit_opened_at"
            f" FROM enterprise_view e{where}"
            " ORDER BY e.credit_code LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    items = tuple(
        EnterpriseSummary(
            credit_code=row[0],
            enterprise_name=row[1],
            industry=row[2],
            grid_code=row[3],
            grid_path=tuple(row[4] or ()),
            cases_registered=row[5],
            open_cases=int(row[6]),
            overdue_cases=int(row[7]),
            rating=row[8],
            rating_points=row[9],
            blacklisted=bool(row[10]),
            blacklisted_until=row[11],
            open_proceeding_no=row[12],
            credit_opened_at=row[13],
        )
        for row in rows
    )
    return EnterprisePage(count, limit, offset, items)


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


# ---------------------------------------------------------------------------------- listings

LISTING_STATUSES = ("listed", "delisted", "superseded")
# The entries of ``case_view.listings`` (activities/projections/changes.py), typed for SQL.
_LISTING_RECORD = (
    "listing_no text, level text, authority_unit_code text, authority_name text, status text,"
    " listed_at timestamptz, publish_by timestamptz, published_at timestamptz,"
    " deadline timestamptz, supersedes text, superseded_by text, superseded_at timestamptz,"
    " delisted_at timestamptz, delist_basis text, delisting_publish_by timestamptz,"
    " delisting_published_at timestamptz"
)
LISTING_COLUMNS: tuple[str, ...] = (
    "listing_no",
    "hazard_id",
    "hazard_class",
    "description",
    "credit_code",
    "enterprise_name",
    "grid_code",
    "level",
    "authority_unit_code",
    "authority_name",
    "status",
    "listed_at",
    "publish_by",
    "published_at",
    "deadline",
    "supersedes",
    "superseded_by",
    "superseded_at",
    "delisted_at",
    "delist_basis",
    "delisting_publish_by",
    "delisting_published_at",
)
_CASE_FIELDS = frozenset(
    {"hazard_id", "hazard_class", "description", "credit_code", "enterprise_name", "grid_code"}
)


@dataclass(frozen=True)
class ListingPage:
    total: int
    limit: int
    offset: int
    items: tuple[Mapping[str, Any], ...]


def list_listings(
    engine: Engine,
    *,
    status: str | None = None,
    level: str | None = None,
    grid_unit: str | None = None,
    credit_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ListingPage:
    """The public register of listed hazards (挂牌督办公示): every listing of every case, in
    force or not, newest first. ``status``: listed (in force), delisted (摘牌) or superseded (a
    higher listing replaced it); ``level`` the listing level; ``grid_unit`` its subtree."""
    _page(limit, offset)
    if status is not None and status not in LISTING_STATUSES:
        raise ValueError(f"status: must be one of {', '.join(LISTING_STATUSES)}")
    clauses = ["c.listings <> '[]'::jsonb"]  # the partial index of the cases ever listed
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status is not None:
        clauses.append("l.status = %(status)s")
        params["status"] = status
    if level is not None:
        clauses.append("l.level = %(level)s")
        params["level"] = level
    if grid_unit is not None:
        clauses.append("c.grid_path @> ARRAY[%(grid_unit)s]::text[]")
        params["grid_unit"] = grid_unit
    if credit_code is not None:
        clauses.append("c.credit_code = %(credit_code)s")
        params["credit_code"] = credit_code
    source = (
        " FROM case_view c CROSS JOIN LATERAL"
        f" jsonb_to_recordset(c.listings) AS l({_LISTING_RECORD})"
        f" WHERE {' AND '.join(clauses)}"
    )
    columns = ", ".join(
        f"c.{name}" if name in _CASE_FIELDS else f"l.{name}" for name in LISTING_COLUMNS
    )
    with engine.connect() as conn:
        count = int(conn.exec_driver_sql(f"SELECT count(*){source}", params).scalar() or 0)
        rows = conn.exec_driver_sql(
            f"SELECT {columns}{source}"
            " ORDER BY l.listed_at DESC, l.listing_no LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    items = tuple(dict(zip(LISTING_COLUMNS, row, strict=True)) for row in rows)
    return ListingPage(count, limit, offset, items)


# ---------------------------------------------------------------------------------- statistics

_REPORT_KINDS = {"monthly": "month", "quarterly": "quarter", "yearly": "year"}


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
        """The period of a report: ``monthly`` 2025-03, ``quarterly`` 2025-Q1, ``yearly`` 2025
        (labels already checked by ``workflows.reports.check_period``)."""
        if kind not in _REPORT_KINDS:
            raise ValueError(f"kind: {kind!r} is not one of {', '.join(_REPORT_KINDS)}")
        try:
            if kind == "monthly":
                return cls.month(int(label[:4]), int(label[5:]))
            if kind == "quarterly":
                return cls.quarter(int(label[:4]), int(label[6:]))
            return cls.whole_year(int(label))
        except (ValueError, IndexError):
            raise ValueError(f"period: {label!r} is not a {kind} period") from None

    def months(self) -> tuple[date, ...]:
        if self.kind == "month":
            return (date(self.year, self.number, 1),)
        if self.kind == "year":
            return tuple(date(self.year, m, 1) for m in range(1, 13))
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
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.number}"
        return f"{self.year}"


def rate(numerator: int, denominator: int) -> float | None:
    """A rate as reported: four decimals, None when nothing is in the denominator."""
    return round(numerator / denominator, 4) if denominator else None


@dataclass(frozen=True)
class UnitStatistics:
    """The figures of a grid unit's whole subtree for a period (DOMAIN.md "Reports and
    figures"), with the definitions of activities/projections/changes.py; the reports carry
    exactly these.

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
    moment = _aware(now)
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


def grid_unit(engine: Engine, code: str) -> tuple[str, str] | None:
    """(name, level) of a grid unit the read models know, None for an unknown code."""
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT name, level FROM grid_unit_view WHERE code = %(c)s", {"c": code}
        ).first()
    return (row[0], row[1]) if row else None


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
