"""The hazard ledger (台账) of a grid unit and period, as a file (.xlsx or .csv), for the
supervising units in scope, auditors and admins — the access rules of the lists: an inspector
or a supervisor within their own subtree (403 outside it), an enterprise not at all (its own
hazards are in the case list). Sync: the route calling it is a plain ``def``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy.engine import Engine

from activities.ledger import ledger_csv, ledger_xlsx
from activities.projections.read_models.ledger import LedgerTooLarge, ledger_lines
from activities.reference_data import ReferenceData
from api.auth import Principal
from api.services.access import grid_scope_of, require_grid_unit_filter
from api.services.context import ServiceContext
from api.services.refusals import Refused, forbidden

LedgerFormat = Literal["xlsx", "csv"]
MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
# A ledger covers at most this many days (a bureau files by month, quarter or year).
MAX_PERIOD_DAYS = 366 * 3


@dataclass(frozen=True)
class LedgerFile:
    content: bytes
    filename: str
    media_type: str
    lines: int


def ledger_file(
    engine: Engine,
    reference: ReferenceData,
    principal: Principal,
    unit_code: str,
    first: date,
    last: date,
    file_format: LedgerFormat,
    time_zone: str,
) -> LedgerFile:
    """The ledger of ``unit_code``'s subtree for the days ``first``..``last`` (in
    ``time_zone``, the policy's), as ``principal`` may see it."""
    if principal.role == "enterprise":
        raise forbidden("the ledger is for the supervising units")
    require_grid_unit_filter(reference, unit_code, "unit_code")
    scope = grid_scope_of(principal, reference, unit_code) or unit_code
    if last < first:
        raise Refused(422, "ledger.period.invalid", "to: must not be before from", "to")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise Refused(
            422, "ledger.period.too_long", f"a ledger covers at most {MAX_PERIOD_DAYS} days", "to"
        )
    try:
        lines = ledger_lines(engine, scope, first, last, time_zone)
    except LedgerTooLarge as exc:
        raise Refused(422, "ledger.too_large", str(exc), "to") from exc
    unit = reference.grid_unit(scope)
    name = unit.name if unit is not None else scope
    title = f"{name}隐患排查治理台账（{first.isoformat()} 至 {last.isoformat()}）"
    stem = f"ledger-{scope}-{first.isoformat()}-{last.isoformat()}"
    content = (
        ledger_xlsx(lines, time_zone, title)
        if file_format == "xlsx"
        else ledger_csv(lines, time_zone)
    )
    return LedgerFile(content, f"{stem}.{file_format}", MEDIA_TYPES[file_format], len(lines))


class LedgerServices(ServiceContext):
    def ledger_file(
        self,
        principal: Principal,
        unit_code: str,
        first: date,
        last: date,
        file_format: LedgerFormat,
    ) -> LedgerFile:
        return ledger_file(
            self.engine,
            self.reference,
            principal,
            unit_code,
            first,
            last,
            file_format,
            self.policy.time_zone,
        )
