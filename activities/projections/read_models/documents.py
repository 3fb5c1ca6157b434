"""Issued documents (公文): one row per ``DocumentIssued`` event (``issued_documents``).

A document never changes once issued, so the projector only inserts (a row already there,
after a rebuild raced a follower, stays). Read by the API: a case's documents
(``list_documents``), one of them by its short code (``document_by_code``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from activities.projections.read_models.paging import check_page
from activities.projections.read_models.rows import Row, instant

if TYPE_CHECKING:
    from activities.projections.batch import BatchChanges

DOCUMENT_COLUMNS: tuple[str, ...] = (
    "key",
    "short_code",
    "kind",
    "subject",
    "source_stream",
    "source_version",
    "source_event",
    "authority_unit_code",
    "authority_name",
    "number",
    "year",
    "serial",
    "title",
    "signed_on",
    "deadline",
    "sha256",
    "size",
    "stream_id",
    "stream_version",
    "position",
)

_DATA_FIELDS = (*DOCUMENT_COLUMNS[:14], "sha256", "size")


def document_issued(
    changes: BatchChanges, position: int, stream_id: str, data: dict[str, Any]
) -> bool:
    """The row of an issued document; every field is read before anything is kept. Its
    serial is its stream version (the issuer appends serial n as version n)."""
    row: Row = {name: data[name] for name in _DATA_FIELDS}
    for name in ("source_version", "year", "serial", "size"):
        if not isinstance(row[name], int):
            raise TypeError(f"{name}: not an integer")
    deadline = data["model"]["draft"].get("deadline")
    row["deadline"] = instant(deadline["at"]).isoformat() if deadline else None
    row["stream_id"] = stream_id
    row["stream_version"] = row["serial"]
    row["position"] = position
    changes.documents.append(row)
    return True


INSERT_SQL = (
    f"INSERT INTO issued_documents ({', '.join(DOCUMENT_COLUMNS)})"
    f" SELECT {', '.join(DOCUMENT_COLUMNS)}"
    " FROM json_populate_recordset(NULL::issued_documents, %s::json)"
    # Any conflict: the key (a row already there) or, improbably, a short code another
    # document has (the first keeps it; a projector must never stop on it).
    " ON CONFLICT DO NOTHING"
)


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class DocumentPage:
    total: int
    limit: int
    offset: int
    items: tuple[Row, ...]


def list_documents(
    engine: Engine, subject: str, *, limit: int = 50, offset: int = 0
) -> DocumentPage:
    """The documents issued for a case (or a credit record), in the order of its events."""
    check_page(limit, offset)
    params = {"s": subject, "limit": limit, "offset": offset}
    with engine.connect() as conn:
        total = int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM issued_documents WHERE subject = %(s)s", params
            ).scalar_one()
        )
        rows = conn.exec_driver_sql(
            f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM issued_documents WHERE subject = %(s)s"
            " ORDER BY source_version, position LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    return DocumentPage(
        total, limit, offset, tuple(dict(zip(DOCUMENT_COLUMNS, r, strict=True)) for r in rows)
    )


def document_by_code(engine: Engine, short_code: str) -> Row | None:
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM issued_documents WHERE short_code = %(c)s",
            {"c": short_code},
        ).first()
    return None if row is None else dict(zip(DOCUMENT_COLUMNS, row, strict=True))
