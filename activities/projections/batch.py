"""One batch of events and the read tables: the rows it touches loaded with one query per
table, every event applied in memory by the read models it concerns, every changed row written
back with one multi-row upsert per table (the projector does it all in one transaction).

Which read model an event concerns, and in which order their changes run, is decided here:

- a case event (``case-`` streams): the figures (``read_models/figures``: counts, settled
  deadlines; they see the row as the event found it), the case list (``read_models/cases``),
  the register of listings (``read_models/listings``: it sees the deadline the event set),
  then the case list's and the figures' bookkeeping after every event. HazardRegistered also
  notes the case's grid units and its enterprise.
- a credit event (``credit-`` streams): the enterprise (``read_models/enterprises``), the
  figures' blacklist counts, then the blacklist register (``read_models/blacklist``).
- the reference data: grid units (``grid-``) and enterprises (``enterprise-``).
- an issued document (``DocumentIssued`` in ``documents-`` streams): ``read_models/documents``.

An event of any other stream (reports, exported histories) is ignored and counted; an unknown
event type or schema version, or one with no stream start before it, is skipped and counted; a
malformed one is skipped and counted with its error, and everything it changed is taken back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import orjson
from psycopg2.extras import execute_values

from activities.eventstore import RecordedEvent
from activities.projections.read_models import cases, documents, enterprises, grid_units
from activities.projections.read_models.blacklist import REGISTER_CHANGES, REGISTER_COLUMNS
from activities.projections.read_models.cases import CASE_CHANGES, CASE_COLUMNS
from activities.projections.read_models.enterprises import ENTERPRISE_CHANGES, ENTERPRISE_COLUMNS
from activities.projections.read_models.figures import changes as figures
from activities.projections.read_models.figures.changes import (
    CREDIT_FIGURE_CHANGES,
    FIGURE_CHANGES,
    METRICS,
)
from activities.projections.read_models.grid_units import GRID_UNIT_COLUMNS
from activities.projections.read_models.listings import LISTING_CHANGES
from activities.projections.read_models.public_reports import (
    PUBLIC_REPORT_COLUMNS,
    PUBLIC_REPORT_STREAM_PREFIX,
    apply_report_event,
    received_row,
)
from activities.projections.read_models.rows import (
    MALFORMED,
    CaseChange,
    CreditChange,
    Row,
    instant,
)

CASE_STREAM_PREFIX = "case-"
CREDIT_STREAM_PREFIX = "credit-"
GRID_STREAM_PREFIX = "grid-"
ENTERPRISE_STREAM_PREFIX = "enterprise-"
DOCUMENT_STREAM_PREFIX = "documents-"


def _in_order(known: Mapping[str, Any], *tables: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """event type -> the changes of ``tables`` for it, in the order of ``tables``; the event
    types are those of ``known`` (the read model every such event changes)."""
    stray = {event for table in tables for event in table} - set(known)
    if stray:  # a change no event would ever reach: a typo in a table
        raise RuntimeError(f"changes for events no read model knows: {sorted(stray)}")
    return {event: tuple(t[event] for t in tables if event in t) for event in known}


# The order matters: the figures see the case as the event found it (a passed verification
# reads the report it clears), the listings see the deadline the case list has just set, and
# the blacklist register comes after the figures, which refuse a malformed instant first.
_CASE_STEPS: dict[str, tuple[CaseChange, ...]] = _in_order(
    CASE_CHANGES, FIGURE_CHANGES, CASE_CHANGES, LISTING_CHANGES
)
_CREDIT_STEPS: dict[str, tuple[CreditChange, ...]] = _in_order(
    ENTERPRISE_CHANGES, ENTERPRISE_CHANGES, CREDIT_FIGURE_CHANGES, REGISTER_CHANGES
)


class BatchChanges:
    """The rows one batch touches, loaded once, changed in memory, written once."""

    def __init__(
        self,
        cases: dict[str, Row],
        enterprises: dict[str, Row],
        register: dict[str, Row],
        grid_parents: dict[str, str | None] | None = None,
        public_reports: dict[str, Row] | None = None,
    ) -> None:
        self.cases = cases
        self.public_reports: dict[str, Row] = dict(public_reports or {})
        self.dirty_public_reports: set[str] = set()
        self.enterprises = enterprises
        self.register = register
        # code -> parent code of every grid unit this batch may need to walk up from.
        self.grid_parents: dict[str, str | None] = dict(grid_parents or {})
        self.dirty_cases: set[str] = set()
        self.dirty_enterprises: set[str] = set()
        self.dirty_register: set[str] = set()
        # (unit, month) -> a delta per figure (``figures.METRICS``).
        self.statistics: dict[tuple[str, date], list[int]] = {}
        self.grid_units: dict[str, tuple[str, str, str, str | None, str]] = {}
        self.documents: list[Row] = []  # issued documents, inserted once
        self.applied = 0
        self.skipped: Counter[str] = Counter()
        self.orphans: Counter[str] = Counter()
        self.malformed: list[tuple[int, str, str]] = []  # (position, event type, error)
        # Blacklist changes of an enterprise with no grid unit known: counted nowhere.
        self.unplaced: Counter[str] = Counter()
        # Events of streams these read models do not cover (reports, exported histories):
        # expected, so counted without a warning.
        self.ignored: Counter[str] = Counter()
        # The counts of the event being applied, taken back if it turns out malformed.
        self.undo: list[tuple[list[int], int]] = []

    def apply(
        self,
        position: int,
        stream_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> bool:
        """Apply one event; False (and counted) when it is not one the read models know."""
        self.undo.clear()
        try:
            applied = self._dispatch(position, stream_id, event_type, schema_version, data)
        except MALFORMED as exc:
            for deltas, index in self.undo:
                deltas[index] -= 1
            self.malformed.append((position, event_type, f"{type(exc).__name__}: {exc}"))
            self.skipped[event_type] += 1
            return False
        if applied:
            self.applied += 1
        return applied

    def _dispatch(
        self,
        position: int,
        stream_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> bool:
        if stream_id.startswith(CASE_STREAM_PREFIX):
            return self._case_event(position, stream_id, event_type, schema_version, data)
        if stream_id.startswith(CREDIT_STREAM_PREFIX):
            return self._credit_event(position, stream_id, event_type, schema_version, data)
        if stream_id.startswith(PUBLIC_REPORT_STREAM_PREFIX):
            return self._known(event_type, schema_version) and self._public_report_event(
                position, stream_id, event_type, data
            )
        if event_type == "GridUnitRegistered" and stream_id.startswith(GRID_STREAM_PREFIX):
            return self._known(event_type, schema_version) and grid_units.unit_registered(
                self, data
            )
        if event_type == "EnterpriseRegistered" and stream_id.startswith(ENTERPRISE_STREAM_PREFIX):
            return self._known(event_type, schema_version) and enterprises.enterprise_registered(
                self, position, data
            )
        if event_type == "DocumentIssued" and stream_id.startswith(DOCUMENT_STREAM_PREFIX):
            return self._known(event_type, schema_version) and documents.document_issued(
                self, position, stream_id, data
            )
        self.ignored[event_type] += 1
        return False

    def _public_report_event(
        self, position: int, stream_id: str, event_type: str, data: dict[str, Any]
    ) -> bool:
        """A public report's row (``read_models/public_reports``), changed on a copy so that a
        malformed event leaves it as it was."""
        report_id = stream_id[len(PUBLIC_REPORT_STREAM_PREFIX) :]
        if event_type == "PublicReportReceived":
            row = received_row(report_id, position, data)
        else:
            before = self.public_reports.get(report_id)
            if before is None:
                self.orphans[event_type] += 1
                return False
            row = dict(before)
            if not apply_report_event(row, position, event_type, data):
                self.skipped[event_type] += 1
                return False
        self.public_reports[report_id] = row
        self.dirty_public_reports.add(report_id)
        return True

    def _known(self, event_type: str, schema_version: int) -> bool:
        if schema_version == 1:
            return True
        self.skipped[event_type] += 1
        return False

    def _case_event(
        self,
        position: int,
        stream_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> bool:
        hazard_id = stream_id[len(CASE_STREAM_PREFIX) :]
        if event_type == "HazardRegistered" and schema_version == 1:
            if hazard_id in self.cases:
                # evolve refuses a second registration; so does the read side.
                self.orphans[event_type] += 1
                self.skipped[event_type] += 1
                return False
            self._register_case(hazard_id, stream_id, position, data)
            return True
        steps = _CASE_STEPS.get(event_type)
        if steps is None or schema_version != 1:
            self.skipped[event_type] += 1
            return False
        row = self.cases.get(hazard_id)
        if row is None:
            # A case event with no registration before it: nothing to attach it to.
            self.orphans[event_type] += 1
            self.skipped[event_type] += 1
            return False
        before = dict(row)
        try:
            at = data["at"]
            moment = instant(at)
            for change in steps:
                change(self, row, data)
            cases.after_case_event(row)
            figures.after_case_event(self, row, before, at, moment, event_type, data)
        except MALFORMED:
            row.clear()
            row.update(before)
            raise
        row["version"] += 1
        row["last_position"] = position
        self.dirty_cases.add(hazard_id)
        return True

    def _register_case(
        self, hazard_id: str, stream_id: str, position: int, data: dict[str, Any]
    ) -> None:
        # Every field is read and checked before anything changes: a malformed registration
        # leaves no trace.
        row = cases.registered_row(hazard_id, stream_id, position, data)
        units = grid_units.units_of_path(data["grid_path"])
        self.cases[hazard_id] = row
        self.dirty_cases.add(hazard_id)
        for unit in units:
            grid_units.note_unit(self, unit)
        figures.case_registered(self, row)
        enterprises.case_registered(self, row, position)

    def _credit_event(
        self,
        position: int,
        stream_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
    ) -> bool:
        steps = _CREDIT_STEPS.get(event_type)
        if steps is None or schema_version != 1:
            self.skipped[event_type] += 1
            return False
        code = stream_id[len(CREDIT_STREAM_PREFIX) :]
        enterprise = self.enterprises.get(code)
        created = enterprise is None
        if enterprise is None:
            if event_type != "CreditRecordOpened":
                self.orphans[event_type] += 1
                self.skipped[event_type] += 1
                return False
            enterprise = enterprises.new_enterprise(code, data["enterprise_name"], position)
        before = dict(enterprise)
        try:
            for change in steps:
                change(self, enterprise, position, data)
        except MALFORMED:
            enterprise.clear()
            enterprise.update(before)
            raise
        if created:
            self.enterprises[code] = enterprise
        enterprise["last_position"] = position
        self.dirty_enterprises.add(code)
        return True


# ------------------------------------------------------------------------------ load and write


def _upsert_sql(table: str, columns: Sequence[str], key: str) -> str:
    """An upsert of a batch's rows sent as one JSON array (``json_populate_recordset``): the
    server parses it in C, where ``execute_values`` would format every value in Python."""
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names}"
        f" FROM json_populate_recordset(NULL::{table}, %s::json)"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


_CASE_UPSERT = _upsert_sql("case_view", CASE_COLUMNS, "hazard_id")
_ENTERPRISE_UPSERT = _upsert_sql("enterprise_view", ENTERPRISE_COLUMNS, "credit_code")
_REGISTER_UPSERT = _upsert_sql("blacklist_register", REGISTER_COLUMNS, "proceeding_no")
_PUBLIC_REPORT_UPSERT = _upsert_sql("public_report_view", PUBLIC_REPORT_COLUMNS, "report_id")
_STATISTICS_COLUMNS = ("unit_code", "period", *METRICS)
_STATISTICS_UPSERT = (
    f"INSERT INTO case_statistics ({', '.join(_STATISTICS_COLUMNS)})"
    f" SELECT {', '.join(_STATISTICS_COLUMNS)}"
    " FROM json_populate_recordset(NULL::case_statistics, %s::json)"
    " ON CONFLICT (unit_code, period) DO UPDATE SET "
    + ", ".join(f"{m} = case_statistics.{m} + EXCLUDED.{m}" for m in METRICS)
)
_GRID_UNIT_UPSERT = (
    f"INSERT INTO grid_unit_view ({', '.join(GRID_UNIT_COLUMNS)}) VALUES %s"
    " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,"
    " parent_code = EXCLUDED.parent_code, responsible_person = EXCLUDED.responsible_person"
    # Unchanged units are the rule: skip them rather than leave a dead row per registration.
    " WHERE (grid_unit_view.name, grid_unit_view.level, grid_unit_view.parent_code,"
    " grid_unit_view.responsible_person) IS DISTINCT FROM"
    " (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_code, EXCLUDED.responsible_person)"
)


def load(cursor: Any, events: Sequence[RecordedEvent]) -> BatchChanges:
    """The rows ``events`` may touch, read with one query per table on ``cursor``."""
    hazard_ids: set[str] = set()
    credit_codes: set[str] = set()
    listed_codes: set[str] = set()
    grid_codes: set[str] = set()
    report_ids: set[str] = set()
    case_prefix = len(CASE_STREAM_PREFIX)
    credit_prefix = len(CREDIT_STREAM_PREFIX)
    for event in events:
        stream_id = event.stream_id
        if stream_id.startswith(CASE_STREAM_PREFIX):
            hazard_ids.add(stream_id[case_prefix:])
            if event.event_type == "HazardRegistered":
                code = event.data.get("credit_code")
                if isinstance(code, str):
                    credit_codes.add(code)
        elif stream_id.startswith(CREDIT_STREAM_PREFIX):
            code = stream_id[credit_prefix:]
            credit_codes.add(code)
            listed_codes.add(code)
        elif stream_id.startswith(ENTERPRISE_STREAM_PREFIX):
            code, unit = event.data.get("credit_code"), event.data.get("grid_code")
            if isinstance(code, str):
                credit_codes.add(code)
            if isinstance(unit, str):
                grid_codes.add(unit)
        elif stream_id.startswith(GRID_STREAM_PREFIX):
            parent = event.data.get("parent_code")
            if isinstance(parent, str):
                grid_codes.add(parent)
        elif stream_id.startswith(PUBLIC_REPORT_STREAM_PREFIX):
            report_ids.add(stream_id[len(PUBLIC_REPORT_STREAM_PREFIX) :])
    case_rows = _select(cursor, "case_view", CASE_COLUMNS, "hazard_id", hazard_ids)
    enterprise_rows = _select(
        cursor, "enterprise_view", ENTERPRISE_COLUMNS, "credit_code", credit_codes
    )
    register = _select(cursor, "blacklist_register", REGISTER_COLUMNS, "credit_code", listed_codes)
    return BatchChanges(
        {row["hazard_id"]: row for row in case_rows},
        {row["credit_code"]: row for row in enterprise_rows},
        {row["proceeding_no"]: row for row in register},
        _grid_ancestors(cursor, grid_codes),
        {
            row["report_id"]: row
            for row in _select(
                cursor, "public_report_view", PUBLIC_REPORT_COLUMNS, "report_id", report_ids
            )
        },
    )


def write(cursor: Any, changes: BatchChanges) -> None:
    """Every row ``changes`` changed, one upsert per table; the figures' deltas added."""
    # Sorted keys: concurrent writers (a follower, a report's catch-up) take row locks in
    # one order. The position lock serialises them anyway; this keeps it cheap if not.
    for rows, dirty, upsert in (
        (changes.cases, changes.dirty_cases, _CASE_UPSERT),
        (changes.enterprises, changes.dirty_enterprises, _ENTERPRISE_UPSERT),
        (changes.register, changes.dirty_register, _REGISTER_UPSERT),
        (changes.public_reports, changes.dirty_public_reports, _PUBLIC_REPORT_UPSERT),
    ):
        if dirty:
            cursor.execute(upsert, (orjson.dumps([rows[k] for k in sorted(dirty)]).decode(),))
    # A key whose counts were all taken back (a malformed event) writes no empty row.
    stats = [
        {"unit_code": unit, "period": period, **dict(zip(METRICS, deltas, strict=True))}
        for (unit, period), deltas in sorted(changes.statistics.items())
        if any(deltas)
    ]
    if stats:
        cursor.execute(_STATISTICS_UPSERT, (orjson.dumps(stats).decode(),))
    if changes.documents:
        cursor.execute(documents.INSERT_SQL, (orjson.dumps(changes.documents).decode(),))
    if changes.grid_units:
        units = [changes.grid_units[code] for code in sorted(changes.grid_units)]
        execute_values(cursor, _GRID_UNIT_UPSERT, units, page_size=len(units))


def _select(
    cursor: Any, table: str, columns: tuple[str, ...], key: str, keys: set[str]
) -> list[Row]:
    if not keys:
        return []
    cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = ANY(%s)", (list(keys),))
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def _grid_ancestors(cursor: Any, codes: set[str]) -> dict[str, str | None]:
    """code -> parent code of the units ``codes`` and all their ancestors the read side has."""
    if not codes:
        return {}
    cursor.execute(
        "WITH RECURSIVE up AS ("
        "  SELECT code, parent_code FROM grid_unit_view WHERE code = ANY(%s)"
        "  UNION"
        "  SELECT g.code, g.parent_code FROM grid_unit_view g JOIN up ON g.code = up.parent_code)"
        " SELECT code, parent_code FROM up",
        (list(codes),),
    )
    return {code: parent for code, parent in cursor.fetchall()}
