"""The list of public reports (举报), ``public_report_view``: one row per report, projected from
its ``public-report-`` stream, read by ``list_public_reports``. It holds no identity of a
reporter (the event store holds only its digest; the identity is kept apart).

Instants are stored as the events spell them (UTC ISO text); the row's columns are those of
``PUBLIC_REPORT_COLUMNS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from activities.projections.read_models.paging import check_page
from activities.projections.read_models.rows import Row

PUBLIC_REPORT_STREAM_PREFIX = "public-report-"
PUBLIC_REPORT_COLUMNS: tuple[str, ...] = (
    "report_id",
    "received_at",
    "assigned_unit_code",
    "grid_path",
    "credit_code",
    "place",
    "summary",
    "status",
    "verify_by",
    "alerts",
    "verified_at",
    "hazard_ids",
    "dismissal_reason",
    "reward_yuan",
    "reward_basis",
    "closed_at",
    "last_position",
)
STATUSES = ("received", "substantiated", "dismissed", "rewarded")
SUMMARY_LENGTH = 200


def received_row(report_id: str, position: int, data: dict[str, Any]) -> Row:
    """PublicReportReceived: the report's row as it starts."""
    path = [unit["code"] for unit in data["grid_path"]]
    return {
        "report_id": report_id,
        "received_at": data["at"],
        "assigned_unit_code": path[0],
        "grid_path": path,
        "credit_code": data.get("credit_code"),
        "place": data["place"],
        "summary": data["description"][:SUMMARY_LENGTH],
        "status": "received",
        "verify_by": data["verify_by"],
        "alerts": 0,
        "verified_at": None,
        "hazard_ids": [],
        "dismissal_reason": None,
        "reward_yuan": None,
        "reward_basis": None,
        "closed_at": None,
        "last_position": position,
    }


def apply_report_event(row: Row, position: int, event_type: str, data: dict[str, Any]) -> bool:
    """Change ``row`` by one of its report's later events; False for one it does not show."""
    match event_type:
        case "PublicReportVerificationOverdue":
            row["alerts"] = int(row["alerts"]) + 1
        case "PublicReportSubstantiated":
            row.update(status="substantiated", verified_at=data["at"])
            row["hazard_ids"] = list(data["hazard_ids"])
        case "PublicReportDismissed":
            row.update(
                status="dismissed",
                verified_at=data["at"],
                dismissal_reason=data["reason"],
                closed_at=data["at"],
            )
        case "PublicReportRewardDecided":
            row.update(
                status="rewarded",
                reward_yuan=int(data["amount_yuan"]),
                reward_basis=data["basis"],
                closed_at=data["at"],
            )
        case "PublicReportReminderDue":
            pass
        case _:
            return False
    row["last_position"] = position
    return True


@dataclass(frozen=True)
class PublicReportPage:
    total: int
    limit: int
    offset: int
    items: tuple[Row, ...]


def list_public_reports(
    engine: Engine,
    *,
    grid_unit: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> PublicReportPage:
    """Reports in ``grid_unit``'s subtree (None: all), newest first; ``status`` one of
    ``STATUSES``."""
    check_page(limit, offset)
    if status is not None and status not in STATUSES:
        raise ValueError(f"status: must be one of {', '.join(STATUSES)}")
    clauses = ["true"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if grid_unit is not None:
        clauses.append("grid_path @> ARRAY[%(grid_unit)s]::text[]")
        params["grid_unit"] = grid_unit
    if status is not None:
        clauses.append("status = %(status)s")
        params["status"] = status
    where = " AND ".join(clauses)
    columns = ", ".join(PUBLIC_REPORT_COLUMNS)
    with engine.connect() as conn:
        total = int(
            conn.exec_driver_sql(
                f"SELECT count(*) FROM public_report_view WHERE {where}", params
            ).scalar()
            or 0
        )
        rows = conn.exec_driver_sql(
            f"SELECT {columns} FROM public_report_view WHERE {where}"
            " ORDER BY received_at DESC, report_id LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).all()
    items = tuple(dict(zip(PUBLIC_REPORT_COLUMNS, row, strict=True)) for row in rows)
    return PublicReportPage(total, limit, offset, items)
