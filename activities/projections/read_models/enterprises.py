"""Enterprises (企业) with their cases and credit (信用): ``enterprise_view``, one row per
enterprise, and the queries that read it (the enterprise page and list, grades and whitelist).

A row starts from the reference data (``EnterpriseRegistered``), the enterprise's first case
or its credit record, whichever comes first. Its grid path is the reference data's, replaced
by the path of each case registered for it. The credit columns follow the enterprise's credit
stream (``credit-``) the way the domain's ``evolve_credit`` changes ``CreditState``; the
blacklist register (``read_models/blacklist.py``) and the figures' blacklist counts
(``read_models/figures/changes.py``) follow the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from activities.projections.read_models.cases import OVERDUE
from activities.projections.read_models.grid_units import grid_path_of
from activities.projections.read_models.paging import aware, check_page
from activities.projections.read_models.rows import CreditChange, Row
from domain.calendar import WorkingCalendar
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

if TYPE_CHECKING:
    from activities.projections.batch import BatchChanges

ENTERPRISE_COLUMNS: tuple[str, ...] = (
    "credit_code",
    "enterprise_name",
    "industry",
    "grid_code",
    "grid_path",
    "time_zone",
    "cases_registered",
    "credit_opened_at",
    "credit_entries",
    "rating",
    "rating_points",
    "open_proceeding_no",
    "objection_until",
    "last_proceeding_trigger",
    "last_decided_by",
    "last_decision_basis",
    "proceedings",
    "blacklisted",
    "blacklist_proceeding_no",
    "blacklisted_since",
    "blacklisted_until",
    "early_removal_from",
    "last_listing_ended_at",
    "last_position",
)

# --------------------------------------------------------------------------- changes


def new_enterprise(code: str, name: str, position: int) -> Row:
    return {
        "credit_code": code,
        "enterprise_name": name,
        "industry": None,
        "grid_code": None,
        "grid_path": None,
        "time_zone": None,
        "cases_registered": 0,
        "credit_opened_at": None,
        "credit_entries": [],
        "rating": None,
        "rating_points": None,
        "open_proceeding_no": None,
        "objection_until": None,
        "last_proceeding_trigger": None,
        "last_decided_by": None,
        "last_decision_basis": None,
        "proceedings": 0,
        "blacklisted": False,
        "blacklist_proceeding_no": None,
        "blacklisted_since": None,
        "blacklisted_until": None,
        "early_removal_from": None,
        "last_listing_ended_at": None,
        "last_position": position,
    }


def case_registered(changes: BatchChanges, case: Row, position: int) -> None:
    """HazardRegistered (its row already built and checked): the enterprise's industry, grid
    path and time zone are the case's, and it has one case more."""
    code = case["credit_code"]
    enterprise = changes.enterprises.get(code)
    if enterprise is None:
        enterprise = changes.enterprises[code] = new_enterprise(
            code, case["enterprise_name"], position
        )
    enterprise["industry"] = case["industry"]
    enterprise["grid_code"] = case["grid_code"]
    enterprise["grid_path"] = case["grid_path"]
    enterprise["time_zone"] = case["time_zone"]
    enterprise["cases_registered"] += 1
    enterprise["last_position"] = position
    changes.dirty_enterprises.add(code)


def enterprise_registered(changes: BatchChanges, position: int, data: dict[str, Any]) -> bool:
    """EnterpriseRegistered, of the reference data's ``enterprise-`` streams: its grid path is
    its unit's and that unit's ancestors, as far as the grid units are known."""
    code, name = data["credit_code"], data["name"]
    industry, grid_code = data["industry"], data["grid_code"]
    path = grid_path_of(changes, grid_code)
    enterprise = changes.enterprises.get(code)
    if enterprise is None:
        enterprise = changes.enterprises[code] = new_enterprise(code, name, position)
    enterprise["industry"] = industry
    enterprise["grid_code"] = grid_code
    if path is not None:
        enterprise["grid_path"] = path
    enterprise["last_position"] = position
    changes.dirty_enterprises.add(code)
    return True


def _record_opened(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    e["credit_opened_at"] = data["at"]


def _credit_event_recorded(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    e["credit_entries"] = [
        *e["credit_entries"],
        [data["case_id"], data["kind"], data["occurred_at"]],
    ]


def _proceeding_opened(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    number, trigger = data["proceeding_no"], data["trigger"]
    e["open_proceeding_no"] = number
    e["objection_until"] = None
    e["last_proceeding_trigger"] = trigger
    e["proceedings"] += 1


def _proceeding_notice(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    e["objection_until"] = data["objection_until"]


def _no_change(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    """ObjectionFiled, ObjectionWindowClosed, EarlyRemovalApplied/Rejected: nothing the read
    side shows changes (the credit workflow's own state keeps them)."""


def _listing_decided(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    decided_by, basis = data["decided_by"], data["basis"]
    e["open_proceeding_no"] = None
    e["objection_until"] = None
    e["last_decided_by"] = decided_by
    e["last_decision_basis"] = basis


def _blacklist_published(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    number, at = data["proceeding_no"], data["at"]
    expires_at, early_from = data["expires_at"], data["early_removal_from"]
    e["blacklisted"] = True
    e["blacklist_proceeding_no"] = number
    e["blacklisted_since"] = at
    e["blacklisted_until"] = expires_at
    e["early_removal_from"] = early_from


def _early_removal_approved(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    e["blacklisted"] = False
    e["last_listing_ended_at"] = data["at"]


def _early_removal_revoked(
    changes: BatchChanges, e: Row, position: int, data: dict[str, Any]
) -> None:
    e["blacklisted"] = True
    e["blacklisted_until"] = data["expires_at"]


def _blacklist_expired(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    at = data["at"]
    e["blacklisted"] = False
    e["blacklist_proceeding_no"] = None
    e["blacklisted_since"] = None
    e["blacklisted_until"] = None
    e["early_removal_from"] = None
    e["last_listing_ended_at"] = at


def _rating_changed(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    rating, points = data["new"], data["points"]
    e["rating"] = rating
    e["rating_points"] = points


# Every credit event the read side knows: the events of an enterprise's credit stream.
ENTERPRISE_CHANGES: dict[str, CreditChange] = {
    "CreditRecordOpened": _record_opened,
    "CreditEventRecorded": _credit_event_recorded,
    "ProceedingOpened": _proceeding_opened,
    "ProceedingNoticeIssued": _proceeding_notice,
    "ObjectionFiled": _no_change,
    "ObjectionWindowClosed": _no_change,
    "ListingDecided": _listing_decided,
    "BlacklistPublished": _blacklist_published,
    "EarlyRemovalApplied": _no_change,
    "EarlyRemovalApproved": _early_removal_approved,
    "EarlyRemovalRejected": _no_change,
    "EarlyRemovalRevoked": _early_removal_revoked,
    "BlacklistExpired": _blacklist_expired,
    "RatingChanged": _rating_changed,
    "CreditServiceAcknowledged": _no_change,
}

# --------------------------------------------------------------------------- queries


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
    f" (SELECT count(*) FROM case_view c WHERE c.credit_code = e.credit_code AND {OVERDUE})"
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
            _ENTERPRISE_SELECT, {"code": credit_code, "now": aware(now)}
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
        moment = aware(now)
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
    check_page(limit, offset)
    clauses: list[str] = []
    params: dict[str, Any] = {"now": aware(now), "limit": limit, "offset": offset}
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
            f"   AND {OVERDUE}),"
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
