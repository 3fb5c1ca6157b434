"""The public register of seriously untrustworthy entities (严重失信主体名单公示):
``blacklist_register``, one entry per blacklisting (its proceeding), and ``list_blacklist``.

An entry is made when the listing is published and follows its early removal (信用修复), the
revocation of that removal and its expiry. It is kept for good once made: whether it is on the
list at an instant is the query's question (``on_list_at``), not a stored flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from activities.projections.read_models.paging import aware, check_page
from activities.projections.read_models.rows import CreditChange, Row

if TYPE_CHECKING:
    from activities.projections.batch import BatchChanges

REGISTER_COLUMNS: tuple[str, ...] = (
    "proceeding_no",
    "credit_code",
    "enterprise_name",
    "grid_path",
    "status",
    "trigger",
    "decided_by",
    "basis",
    "listed_at",
    "expires_at",
    "early_removal_from",
    "removed_early_at",
    "removal_revoked_at",
    "expired_at",
    "last_position",
)

# --------------------------------------------------------------------------- changes
# Each runs after the enterprise's change of the same event (``read_models/enterprises.py``)
# and after its figures are counted; ``e`` is the enterprise's row.


def _published(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    """BlacklistPublished: the entry, with the proceeding's trigger and decision as the
    enterprise's row recorded them."""
    number, at = data["proceeding_no"], data["at"]
    expires_at, early_from = data["expires_at"], data["early_removal_from"]
    changes.register[number] = {
        "proceeding_no": number,
        "credit_code": e["credit_code"],
        "enterprise_name": e["enterprise_name"],
        "grid_path": e["grid_path"],
        "status": "listed",
        "trigger": e["last_proceeding_trigger"],
        "decided_by": e["last_decided_by"],
        "basis": e["last_decision_basis"],
        "listed_at": at,
        "expires_at": expires_at,
        "early_removal_from": early_from,
        "removed_early_at": None,
        "removal_revoked_at": None,
        "expired_at": None,
        "last_position": position,
    }
    changes.dirty_register.add(number)


def _entry(changes: BatchChanges, number: str | None, position: int) -> Row | None:
    entry = changes.register.get(number) if number is not None else None
    if entry is not None and number is not None:
        entry["last_position"] = position
        changes.dirty_register.add(number)
    return entry


def _removed_early(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    entry = _entry(changes, e["blacklist_proceeding_no"], position)
    if entry is not None:
        entry["status"] = "removed_early"
        entry["removed_early_at"] = data["at"]


def _removal_revoked(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    at, expires_at = data["at"], data["expires_at"]
    entry = _entry(changes, e["blacklist_proceeding_no"], position)
    if entry is not None:
        entry["status"] = "listed"
        entry["removal_revoked_at"] = at
        entry["expires_at"] = expires_at


def _expired(changes: BatchChanges, e: Row, position: int, data: dict[str, Any]) -> None:
    at, number = data["at"], data["proceeding_no"]
    entry = _entry(changes, number, position)
    if entry is not None:
        entry["status"] = "expired"
        entry["expired_at"] = at


REGISTER_CHANGES: dict[str, CreditChange] = {
    "BlacklistPublished": _published,
    "EarlyRemovalApproved": _removed_early,
    "EarlyRemovalRevoked": _removal_revoked,
    "BlacklistExpired": _expired,
}

# --------------------------------------------------------------------------- queries


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
    check_page(limit, offset)
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status is not None:
        clauses.append("status = %(status)s")
        params["status"] = status
    if on_list_at is not None:
        clauses.append("status = 'listed' AND listed_at <= %(at)s AND expires_at > %(at)s")
        params["at"] = aware(on_list_at, "on_list_at")
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
