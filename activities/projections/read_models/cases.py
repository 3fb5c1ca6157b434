"""The case list (案件列表): ``case_view``, one row per case, and the queries that read it.

Each change reads the event's stored data (the JSON the domain wrote with ``event_to_data``)
and changes the row the way the domain's ``evolve`` changes ``CaseState``; the tests fold the
same events through the domain and compare field by field. Going through the domain objects
instead would cost ~150 µs per event to decode and ~500 µs per case to (de)serialise the
state, a tenth of the catch-up budget.

Two other read models keep columns of this row: the figures keep the hazard's deadline
bookkeeping (``rectified_on_time``, ``rectification_deadline``, ``rectification_missed``,
``settled_deadline_no``, ``overdue_watch_since``: ``read_models/figures/changes.py``), which
also says whether a case is overdue (逾期) now; the public register of listings keeps
``listings`` (``read_models/listings.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from activities.projections.read_models.paging import aware, check_page
from activities.projections.read_models.rows import CaseChange, Row, instant, month_of
from domain.case import days_overdue
from domain.periods import DEFAULT_TIME_ZONE

if TYPE_CHECKING:
    from activities.projections.batch import BatchChanges

CASE_COLUMNS: tuple[str, ...] = (
    "hazard_id",
    "stream_id",
    "credit_code",
    "enterprise_name",
    "industry",
    "grid_code",
    "grid_path",
    "supervising_unit_code",
    "supervising_level",
    "supervising_person",
    "status",
    "is_open",
    "hazard_class",
    "checklist_clause",
    "category",
    "source",
    "mode",
    "description",
    "location",
    "time_zone",
    "listing_no",
    "listed_level",
    "listing_authority_code",
    "listed_at",
    "listings",
    "deadline",
    "deadline_no",
    "deadline_set_at",
    "reported_at",
    "review_by",
    "reports",
    "plan_submitted",
    "extension_requested_deadline",
    "extensions_granted",
    "verifications_failed",
    "deadlines_missed",
    "escalation_index",
    "refused",
    "referred",
    "registered_at",
    "found_at",
    "closed_at",
    "close_basis",
    "withdrawn_at",
    "rectified_on_time",
    "rectification_deadline",
    "rectification_missed",
    "settled_deadline_no",
    "overdue_watch_since",
    "version",
    "last_position",
    # For the ledger (台账, ``read_models/ledger.py``): the notice's measures and responsible
    # person, and who verified the rectification (migration 0015).
    "measures",
    "responsible_person",
    "verified_by",
)
# The projector's own bookkeeping for the figures, and the ledger's columns: kept out of the
# case list's items.
CASE_BOOKKEEPING: frozenset[str] = frozenset(
    {"settled_deadline_no", "overdue_watch_since", "measures", "responsible_person", "verified_by"}
)
CASE_LIST_COLUMNS: tuple[str, ...] = tuple(c for c in CASE_COLUMNS if c not in CASE_BOOKKEEPING)

_LEVEL_RANK = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}

# --------------------------------------------------------------------------- changes


def case_status(row: Row) -> str:
    """``CaseState.status``, from the row's columns (same order of precedence)."""
    if row["closed_at"] is not None:
        return "closed"
    if row["withdrawn_at"] is not None:
        return "withdrawn"
    if row["reported_at"] is not None:
        return "reported"
    if row["referred"]:
        return "referred"
    if row["escalation_index"] > 0:
        return "escalated"
    return "rectifying"


def registered_row(hazard_id: str, stream_id: str, position: int, data: dict[str, Any]) -> Row:
    """The row of a HazardRegistered: every field read and every instant checked, so that a
    malformed registration raises before anything changes."""
    path = data["grid_path"]
    lowest = path[0]
    codes = [unit["code"] for unit in path]
    at, found_at, time_zone = data["at"], data["found_at"], data["time_zone"]
    instant(at)  # refuse malformed instants and zones before anything changes
    month_of(found_at, time_zone)
    return {
        "hazard_id": hazard_id,
        "stream_id": stream_id,
        "credit_code": data["credit_code"],
        "enterprise_name": data["enterprise_name"],
        "industry": data["industry"],
        "grid_code": lowest["code"],
        "grid_path": codes,
        "supervising_unit_code": lowest["code"],
        "supervising_level": lowest["level"],
        "supervising_person": lowest["responsible_person"],
        "status": "rectifying",
        "is_open": True,
        "hazard_class": data["hazard_class"],
        "checklist_clause": data["checklist_clause"],
        "category": data["category"],
        "source": data["source"],
        "mode": data["mode"],
        "description": data["description"],
        "location": data["location"],
        "time_zone": time_zone,
        "listing_no": None,
        "listed_level": None,
        "listing_authority_code": None,
        "listed_at": None,
        "listings": [],
        "deadline": None,
        "deadline_no": 0,
        "deadline_set_at": None,
        "reported_at": None,
        "review_by": None,
        "reports": 0,
        "plan_submitted": False,
        "extension_requested_deadline": None,
        "extensions_granted": 0,
        "verifications_failed": 0,
        "deadlines_missed": 0,
        "escalation_index": 0,
        "refused": False,
        "referred": False,
        "registered_at": at,
        "found_at": found_at,
        "closed_at": None,
        "close_basis": None,
        "withdrawn_at": None,
        "rectified_on_time": None,
        "rectification_deadline": None,
        "rectification_missed": False,
        "settled_deadline_no": 0,
        "overdue_watch_since": None,
        "version": 1,
        "last_position": position,
        "measures": None,
        "responsible_person": None,
        "verified_by": None,
    }


def after_case_event(row: Row) -> None:
    """After any case event: the status and whether the case is open, from the columns."""
    row["status"] = case_status(row)
    row["is_open"] = row["closed_at"] is None and row["withdrawn_at"] is None


def _set_deadline(row: Row, deadline: str, number: int, at: str) -> None:
    instant(deadline)  # a malformed deadline is refused before it is stored
    row["deadline"] = deadline
    row["deadline_no"] = number
    row["deadline_set_at"] = at


def _notice_issued(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    _set_deadline(row, data["deadline"], data["deadline_no"], data["at"])
    row["measures"] = data.get("measures")
    row["responsible_person"] = data.get("responsible_person")


def _listed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level, at = data["level"], data["at"]
    deadline, number = data["deadline"], data["deadline_no"]
    authority, person = data["authority_unit_code"], data["authority_person"]
    row["listing_no"] = data["listing_no"]
    row["listed_level"] = level
    row["listing_authority_code"] = authority
    row["listed_at"] = at
    # ListingLevel.grid_level is the grid level of the same name.
    if _LEVEL_RANK[level] < _LEVEL_RANK[row["supervising_level"]]:
        row["supervising_unit_code"] = authority
        row["supervising_level"] = level
        row["supervising_person"] = person
    if deadline is not None and number is not None:
        _set_deadline(row, deadline, number, at)


def _plan_submitted(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["plan_submitted"] = True


def _reported(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    at, review_by = data["at"], data["review_by"]
    row["reports"] += 1
    row["reported_at"] = at
    row["review_by"] = review_by
    row["extension_requested_deadline"] = None


def _verification_passed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["verified_by"] = data.get("verified_by")
    row["reported_at"] = None
    row["review_by"] = None


def _verification_failed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    deadline, number, at = data["deadline"], data["deadline_no"], data["at"]
    row["reported_at"] = None
    row["review_by"] = None
    row["verifications_failed"] += 1
    _set_deadline(row, deadline, number, at)


def _extension_requested(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = data["requested_deadline"]


def _extension_approved(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    deadline, number, at = data["deadline"], data["deadline_no"], data["at"]
    row["extension_requested_deadline"] = None
    row["extensions_granted"] += 1
    _set_deadline(row, deadline, number, at)


def _extension_rejected(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = None


def _refusal(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["refused"] = True


def _referred(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["referred"] = True


def _withdrawn(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["withdrawn_at"] = data["at"]
    row["extension_requested_deadline"] = None


def _version_only(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """ReminderDue, ReminderLapsed, VerificationOverdue, ExtensionDecisionOverdue (the fired
    key is kept in the case's own state, which the read side does not need);
    NoticeAwaitingCalendar (the case waits for a year's holidays: its deadline comes with the
    RectificationNoticeIssued that follows); ListingPublished (the register of listings notes
    it); CreditTriggerRaised (forwarded to the enterprise's credit stream, which the
    enterprise view follows): only the version moves."""


def _deadline_missed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["extension_requested_deadline"] = None
    row["deadlines_missed"] += 1


def _escalated(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    level, at = data["grid_level"], data["at"]
    deadline, number = data["deadline"], data["deadline_no"]
    unit, person, index = data["unit_code"], data["responsible_person"], data["escalation_index"]
    row["escalation_index"] = max(row["escalation_index"], index)
    row["supervising_unit_code"] = unit
    row["supervising_level"] = level
    row["supervising_person"] = person
    _set_deadline(row, deadline, number, at)


def _delisted(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    row["listing_no"] = None
    row["listed_level"] = None
    row["listing_authority_code"] = None
    row["listed_at"] = None


def _closed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    at, basis = data["at"], data["basis"]
    row["closed_at"] = at
    row["close_basis"] = basis
    row["extension_requested_deadline"] = None


# Every case event the read side knows after HazardRegistered: the events that change a case.
CASE_CHANGES: dict[str, CaseChange] = {
    "RectificationNoticeIssued": _notice_issued,
    "HazardListed": _listed,
    "GovernancePlanSubmitted": _plan_submitted,
    "RectificationReported": _reported,
    "VerificationPassed": _verification_passed,
    "VerificationFailed": _verification_failed,
    "ExtensionRequested": _extension_requested,
    "ExtensionApproved": _extension_approved,
    "ExtensionRejected": _extension_rejected,
    "RefusalRecorded": _refusal,
    "EnforcementReferred": _referred,
    "CaseWithdrawn": _withdrawn,
    "ReminderDue": _version_only,
    "ReminderLapsed": _version_only,
    "DeadlineMissed": _deadline_missed,
    "VerificationOverdue": _version_only,
    "CaseEscalated": _escalated,
    "HazardDelisted": _delisted,
    "CreditTriggerRaised": _version_only,
    "CaseClosed": _closed,
    "ExtensionDecisionOverdue": _version_only,
    "ListingPublished": _version_only,
    "NoticeAwaitingCalendar": _version_only,
    "ServiceAcknowledged": _version_only,
    # 企业自查 (edition 5): the acceptance (受理) of a self-reported major hazard.
    "SelfReportAwaitingAcceptance": _version_only,
    "SelfReportAccepted": _version_only,
    "SelfReportAcceptanceOverdue": _version_only,
}

# --------------------------------------------------------------------------- queries


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


# 逾期 at ``now``: the domain's ``CaseState.overdue_since``. The figures keep
# ``overdue_watch_since`` set while the case is open with a rectification deadline and nothing
# holds it off (a report made by that deadline awaiting verification, an extension asked for in
# time awaiting its decision); the clock does the rest. The enterprise list counts with it too.
OVERDUE = (
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
        clauses.append(OVERDUE if filters.overdue else f"NOT {OVERDUE}")
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
    check_page(limit, offset)
    where, params = _case_where(filters or CaseFilter())
    params |= {"now": aware(now), "limit": limit, "offset": offset}
    columns = ", ".join(f"c.{name}" for name in CASE_LIST_COLUMNS)
    with engine.connect() as conn:
        total = conn.exec_driver_sql(f"SELECT count(*) FROM case_view c{where}", params).scalar()
        rows = conn.exec_driver_sql(
            f"SELECT {columns}, {OVERDUE} FROM case_view c{where}"
            " ORDER BY c.deadline ASC NULLS LAST, c.hazard_id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    moment = aware(now)
    items = tuple(_case_item(row, moment) for row in rows)
    return CasePage(int(total or 0), limit, offset, items)


def get_case(engine: Engine, hazard_id: str, *, now: datetime) -> CaseItem | None:
    columns = ", ".join(f"c.{name}" for name in CASE_LIST_COLUMNS)
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            f"SELECT {columns}, {OVERDUE} FROM case_view c WHERE c.hazard_id = %(h)s",
            {"h": hazard_id, "now": aware(now)},
        ).first()
    return None if row is None else _case_item(row, aware(now))


def _case_item(row: Sequence[Any], now: datetime) -> CaseItem:
    fields = dict(zip(CASE_LIST_COLUMNS, row[:-1], strict=True))
    overdue = bool(row[-1])
    if not overdue:
        return CaseItem(fields["hazard_id"], False, fields)
    zone = fields["time_zone"] or DEFAULT_TIME_ZONE
    since = fields["rectification_deadline"].astimezone(ZoneInfo(zone))
    days = days_overdue(since, now, zone)
    return CaseItem(fields["hazard_id"], True, fields, since, days)
