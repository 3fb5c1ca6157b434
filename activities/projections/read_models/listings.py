"""The public register of listed hazards (挂牌督办公示): every listing of every case, in force
or not, kept in ``case_view.listings`` and read by ``list_listings``.

The ``listing_no``… columns of the case list forget a listing once it is de-listed (摘牌) or
replaced by a higher listing (提级挂牌); the register keeps each one, with its status, its
deadline while it is in force, and when it and its de-listing were published. Instants are
stored as UTC ISO text, so the JSON is the same whether its values came from an event or from
a row read back (a rebuild compares it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from activities.projections.read_models.paging import check_page
from activities.projections.read_models.rows import CaseChange, Row, utc_text

if TYPE_CHECKING:
    from activities.projections.batch import BatchChanges

LISTING_ENTRY_FIELDS: tuple[str, ...] = (
    "listing_no",
    "level",
    "authority_unit_code",
    "authority_name",
    "status",  # listed, delisted, superseded
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

# --------------------------------------------------------------------------- changes
# Each runs after the case list's change of the same event (``read_models/cases.py``), so the
# row's deadline is already the one the event set.


def _change_listing(row: Row, listing_no: str, values: dict[str, Any]) -> None:
    """The list is copied, never changed in place: a malformed event restores the row's
    previous value."""
    row["listings"] = [
        {**entry, **values} if entry["listing_no"] == listing_no else entry
        for entry in row["listings"] or []
    ]


def _follow_deadline(row: Row) -> None:
    """The listing in force shows the deadline in force: the notice that follows a listing
    made at registration sets it, an approved extension, a failed verification or an
    escalation moves it."""
    if row["listing_no"] is not None:
        _change_listing(row, row["listing_no"], {"deadline": utc_text(row["deadline"])})


def _deadline_set(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    _follow_deadline(row)


def _listed(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """A new entry for HazardListed, with the deadline it runs with; the listing it replaces,
    if any, is marked superseded."""
    if data["deadline"] is not None and data["deadline_no"] is not None:
        _follow_deadline(row)
    at, supersedes = utc_text(data["at"]), data.get("supersedes")
    publish_by, deadline = data.get("publish_by"), row["deadline"]
    entries = [
        {**entry, "status": "superseded", "superseded_by": data["listing_no"], "superseded_at": at}
        if supersedes is not None and entry["listing_no"] == supersedes
        else entry
        for entry in row["listings"] or []
    ]
    entry = dict.fromkeys(LISTING_ENTRY_FIELDS)
    entry.update(
        listing_no=data["listing_no"],
        level=data["level"],
        authority_unit_code=data["authority_unit_code"],
        authority_name=data.get("authority_name"),
        status="listed",
        listed_at=at,
        publish_by=utc_text(publish_by) if publish_by is not None else None,
        deadline=utc_text(deadline) if deadline is not None else None,
        supersedes=supersedes,
    )
    row["listings"] = [*entries, entry]


def _published(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    """ListingPublished (挂牌/摘牌公告): when the listing or its de-listing was published."""
    published_at = "published_at" if data["kind"] == "listing" else "delisting_published_at"
    _change_listing(row, data["listing_no"], {published_at: utc_text(data["at"])})


def _delisted(changes: BatchChanges, row: Row, data: dict[str, Any]) -> None:
    at, publish_by = data["at"], data.get("publish_by")
    _change_listing(
        row,
        data["listing_no"],
        {
            "status": "delisted",
            "delisted_at": utc_text(at),
            "delist_basis": data.get("basis"),
            "delisting_publish_by": utc_text(publish_by) if publish_by is not None else None,
        },
    )


LISTING_CHANGES: dict[str, CaseChange] = {
    "RectificationNoticeIssued": _deadline_set,
    "HazardListed": _listed,
    "VerificationFailed": _deadline_set,
    "ExtensionApproved": _deadline_set,
    "CaseEscalated": _deadline_set,
    "ListingPublished": _published,
    "HazardDelisted": _delisted,
}

# --------------------------------------------------------------------------- queries

LISTING_STATUSES = ("listed", "delisted", "superseded")
# The entries of ``case_view.listings``, typed for SQL.
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
    check_page(limit, offset)
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
