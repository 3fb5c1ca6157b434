"""Reference data: the supervision grid (定格、定责、定人) and the enterprises in it.

Mutable tables an administrator maintains, each change also appended to the event store
(``grid-<code>``, ``enterprise-<credit code>``) so the record of who set up whom is kept like
everything else. Reads give the domain's own types, so a case is registered with exactly the
grid path the tables hold at that moment (and the case keeps that path forever).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.eventstore import EventMetadata, EventStore, NewEvent, WrongExpectedVersion
from domain.credit_code import validate_credit_code
from domain.errors import DomainError
from domain.grid import LOWEST_LEVEL, Enterprise, GridLevel, GridUnit

MAX_NAME = 200
MAX_CODE = 64
# Grid codes appear in URLs, stream ids and report file names: keep them to a safe alphabet.
_CODE = re.compile(r"^[A-Za-z0-9._-]+$")


class ReferenceDataError(ValueError):
    """A grid unit or an enterprise the rules refuse; names the field and the rule."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = rule
        self.message = message

    @classmethod
    def from_domain(cls, exc: DomainError, default_field: str) -> ReferenceDataError:
        """The domain's own refusal (a bad credit code, a unit without its 定人) as ours."""
        return cls(exc.field or default_field, exc.rule, exc.message)


@dataclass
class RejectedRow:
    file: str
    line: int
    field: str
    rule: str
    message: str


@dataclass
class LoadReport:
    grid_units: int = 0
    enterprises: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


class ReferenceData:
    def __init__(self, engine: Engine, store: EventStore) -> None:
        self._engine = engine
        self._store = store

    # ------------------------------------------------------------------ grid

    def add_grid_unit(self, unit: GridUnit, actor_id: str, actor_role: str = "admin") -> GridUnit:
        _code(unit.code, "code")
        _text(unit.name, "name", MAX_NAME)
        _text(unit.responsible_person, "responsible_person", MAX_NAME)
        if unit.parent_code is not None:
            # An empty parent is not "no parent": it would be stored as a reference to ''.
            _code(unit.parent_code, "parent_code")
        parent = self.grid_unit(unit.parent_code) if unit.parent_code is not None else None
        if unit.parent_code is not None and parent is None:
            raise ReferenceDataError(
                "parent_code", "grid.parent.unknown", f"no grid unit {unit.parent_code!r}"
            )
        if parent is None and unit.level is not GridLevel.PROVINCE:
            raise ReferenceDataError(
                "parent_code", "grid.parent.required", "only a province has no parent unit"
            )
        if parent is not None and parent.level.rank != unit.level.rank - 1:
            raise ReferenceDataError(
                "level",
                "grid.level.one_below_parent",
                f"a {unit.level.value} cannot sit directly under a {parent.level.value}",
            )
        with self._engine.begin() as conn:
            inserted = conn.execute(
                sa.text(
                    "INSERT INTO grid_units (code, name, level, parent_code, responsible_person)"
                    " VALUES (:code, :name, :level, :parent, :person)"
                    " ON CONFLICT (code) DO NOTHING"
                ),
                {
                    "code": unit.code,
                    "name": unit.name,
                    "level": unit.level.value,
                    "parent": unit.parent_code,
                    "person": unit.responsible_person,
                },
            ).rowcount
            if not inserted:
                raise ReferenceDataError("code", "grid.code.exists", f"{unit.code} exists")
            self._record(
                f"grid-{unit.code}",
                "GridUnitRegistered",
                {
                    "code": unit.code,
                    "name": unit.name,
                    "level": unit.level.value,
                    "parent_code": unit.parent_code,
                    "responsible_person": unit.responsible_person,
                },
                actor_id,
                actor_role,
            )
        return unit

    def grid_unit(self, code: str) -> GridUnit | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT code, name, level, parent_code, responsible_person"
                    " FROM grid_units WHERE code = :c"
                ),
                {"c": code},
            ).first()
        return _unit(row) if row else None

    def grid_units(self, parent_code: str | None = None) -> list[GridUnit]:
        sql = "SELECT code, name, level, parent_code, responsible_person FROM grid_units"
        params: dict[str, str] = {}
        if parent_code is not None:
            sql += " WHERE parent_code = :p"
            params["p"] = parent_code
        with self._engine.connect() as conn:
            rows = conn.execute(sa.text(sql + " ORDER BY code"), params).all()
        return [_unit(r) for r in rows]

    def path_to_root(self, code: str) -> list[GridUnit]:
        """The unit and its ancestors, lowest first (the case's grid path)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "WITH RECURSIVE path AS ("
                    "  SELECT g.*, 0 AS depth FROM grid_units g WHERE code = :c"
                    "  UNION ALL"
                    "  SELECT g.*, path.depth + 1 FROM grid_units g"
                    "  JOIN path ON g.code = path.parent_code)"
                    " SELECT code, name, level, parent_code, responsible_person"
                    " FROM path ORDER BY depth"
                ),
                {"c": code},
            ).all()
        return [_unit(r) for r in rows]

    def is_within(self, code: str, ancestor_code: str) -> bool:
        return any(unit.code == ancestor_code for unit in self.path_to_root(code))

    # ------------------------------------------------------------------ enterprises

    def add_enterprise(
        self, enterprise: Enterprise, actor_id: str, actor_role: str = "admin"
    ) -> Enterprise:
        try:
            code = validate_credit_code(enterprise.credit_code)
        except DomainError as exc:
            raise ReferenceDataError("credit_code", exc.rule, exc.message) from exc
        _text(enterprise.name, "name", MAX_NAME)
        _text(enterprise.industry, "industry", MAX_NAME)
        _text(enterprise.grid_code, "grid_code", MAX_CODE)
        unit = self.grid_unit(enterprise.grid_code)
        if unit is None:
            raise ReferenceDataError(
                "grid_code", "enterprise.grid.unknown", f"no grid unit {enterprise.grid_code!r}"
            )
        if unit.level is not LOWEST_LEVEL:
            raise ReferenceDataError(
                "grid_code",
                "enterprise.grid.lowest_unit",
                f"an enterprise belongs to a {LOWEST_LEVEL.value} unit, not a {unit.level.value}",
            )
        with self._engine.begin() as conn:
            inserted = conn.execute(
                sa.text(
                    "INSERT INTO enterprises (credit_code, name, industry, grid_code)"
                    " VALUES (:c, :n, :i, :g) ON CONFLICT (credit_code) DO NOTHING"
                ),
                {
                    "c": code,
                    "n": enterprise.name,
                    "i": enterprise.industry,
                    "g": enterprise.grid_code,
                },
            ).rowcount
            if not inserted:
                raise ReferenceDataError("credit_code", "enterprise.exists", f"{code} exists")
            self._record(
                f"enterprise-{code}",
                "EnterpriseRegistered",
                {
                    "credit_code": code,
                    "name": enterprise.name,
                    "industry": enterprise.industry,
                    "grid_code": enterprise.grid_code,
                },
                actor_id,
                actor_role,
            )
        return Enterprise(code, enterprise.name, enterprise.industry, enterprise.grid_code)

    def enterprise(self, credit_code: str) -> Enterprise | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT credit_code, name, industry, grid_code FROM enterprises"
                    " WHERE credit_code = :c"
                ),
                {"c": credit_code},
            ).first()
        return Enterprise(row[0], row[1], row[2], row[3]) if row else None

    def enterprises(
        self, within: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Enterprise]:
        """Enterprises ordered by credit code; ``within`` a grid unit: those of its whole
        subtree (a township's supervisor sees the enterprises of all its villages)."""
        params: dict[str, object] = {"l": limit, "o": offset}
        if within is None:
            sql = "SELECT credit_code, name, industry, grid_code FROM enterprises"
        else:
            sql = (
                "WITH RECURSIVE subtree AS ("
                "  SELECT code FROM grid_units WHERE code = :g"
                "  UNION ALL"
                "  SELECT g.code FROM grid_units g JOIN subtree s ON g.parent_code = s.code)"
                " SELECT e.credit_code, e.name, e.industry, e.grid_code FROM enterprises e"
                " JOIN subtree s ON e.grid_code = s.code"
            )
            params["g"] = within
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.text(sql + " ORDER BY credit_code LIMIT :l OFFSET :o"), params
            ).all()
        return [Enterprise(r[0], r[1], r[2], r[3]) for r in rows]

    def enterprise_count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM enterprises")).scalar_one())

    def search_enterprises(
        self, text: str, within: str | None = None, limit: int = 10
    ) -> list[Enterprise]:
        """Enterprises whose name or credit code holds ``text`` (case-insensitive), of
        ``within``'s subtree when given; exact credit-code matches first, then by name."""
        needle = text.strip()
        if not needle:
            return []
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", needle) + "%"
        params: dict[str, object] = {"p": pattern, "c": needle.upper(), "l": limit}
        source = "enterprises e"
        if within is not None:
            source = (
                "(WITH RECURSIVE subtree AS ("
                "  SELECT code FROM grid_units WHERE code = :g"
                "  UNION ALL"
                "  SELECT g.code FROM grid_units g JOIN subtree s ON g.parent_code = s.code)"
                " SELECT e.* FROM enterprises e JOIN subtree s ON e.grid_code = s.code) e"
            )
            params["g"] = within
        sql = (
            f"SELECT e.credit_code, e.name, e.industry, e.grid_code FROM {source}"
            " WHERE e.name ILIKE :p OR e.credit_code ILIKE :p"
            " ORDER BY (e.credit_code = :c) DESC, e.name, e.credit_code LIMIT :l"
        )
        with self._engine.connect() as conn:
            rows = conn.execute(sa.text(sql), params).all()
        return [Enterprise(r[0], r[1], r[2], r[3]) for r in rows]

    def is_empty(self) -> bool:
        with self._engine.connect() as conn:
            return not conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM grid_units)")).scalar()

    # ------------------------------------------------------------------ bulk load

    def load_csv(
        self,
        grid_csv: str,
        enterprises_csv: str,
        actor_id: str,
        on_row: Callable[[], None] | None = None,
    ) -> LoadReport:
        """Load ``code,name,level,parent_code,responsible_person`` and
        ``credit_code,name,industry,grid_code`` rows.

        Row by row, not all or nothing: each accepted row is stored (with its event) on its own,
        and each refused row is reported with its file, line, field and rule and changes
        nothing, so one bad row never holds back a county's worth of good ones. A unit whose
        parent comes later in the file waits for it. Loading the same file again refuses the
        rows already there (``*.exists``) and loads only the new ones. A file that lacks a
        column is refused at its header line and none of its rows are loaded.
        """
        report = LoadReport()
        pending = _rows(grid_csv, "grid", GRID_COLUMNS, report, on_row)
        # Parents first whatever the file's order: retry rows whose parent is not loaded yet.
        while pending:
            deferred: list[tuple[int, dict[str, str]]] = []
            waiting_for = {_cell(row, "code") for _, row in pending}
            for line, row in pending:
                try:
                    self.add_grid_unit(_grid_unit_of(row), actor_id)
                    report.grid_units += 1
                except ReferenceDataError as exc:
                    parent = _cell(row, "parent_code")
                    if exc.rule == "grid.parent.unknown" and parent in waiting_for - {
                        _cell(row, "code")
                    }:
                        deferred.append((line, row))
                        continue
                    report.rejected.append(
                        RejectedRow("grid", line, exc.field, exc.rule, exc.message)
                    )
                if on_row:
                    on_row()
            if len(deferred) == len(pending):
                for line, _ in deferred:
                    report.rejected.append(
                        RejectedRow(
                            "grid",
                            line,
                            "parent_code",
                            "grid.parent.unknown",
                            "parent unit is neither loaded nor loadable",
                        )
                    )
                    if on_row:
                        on_row()
                break
            pending = deferred
        enterprise_rows = _rows(enterprises_csv, "enterprises", ENTERPRISE_COLUMNS, report, on_row)
        for line, row in enterprise_rows:
            try:
                self.add_enterprise(_enterprise_of(row), actor_id)
                report.enterprises += 1
            except ReferenceDataError as exc:
                report.rejected.append(
                    RejectedRow("enterprises", line, exc.field, exc.rule, exc.message)
                )
            if on_row:
                on_row()
        return report

    # ------------------------------------------------------------------ record

    def _record(
        self,
        stream_id: str,
        event_type: str,
        data: dict[str, object],
        actor_id: str,
        actor_role: str,
    ) -> None:
        try:
            self._store.append(
                stream_id,
                0,
                [
                    NewEvent(
                        uuid.uuid4(),
                        event_type,
                        data,
                        EventMetadata(actor_id, actor_role),
                        datetime.now(UTC),
                    )
                ],
            )
        except WrongExpectedVersion as exc:
            raise ReferenceDataError(
                "code", "reference.already_recorded", f"{stream_id} is already recorded"
            ) from exc


GRID_COLUMNS = ("code", "name", "level", "parent_code", "responsible_person")
ENTERPRISE_COLUMNS = ("credit_code", "name", "industry", "grid_code")


def count_rows(text: str) -> int:
    """Data rows of a CSV text (its header excluded), for a progress bar's total."""
    return sum(1 for _ in csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _rows(
    text: str,
    file: str,
    columns: tuple[str, ...],
    report: LoadReport,
    on_row: Callable[[], None] | None,
) -> list[tuple[int, dict[str, str]]]:
    """The file's rows with their line numbers; a missing column refuses the whole file. Rows
    refused here count as done for ``on_row`` (the progress bar reaches its end)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))  # Excel writes a BOM
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in columns if name not in header]
    if missing:
        for name in missing:
            report.rejected.append(
                RejectedRow(file, 1, name, "csv.column_missing", f"the header has no {name}")
            )
        for _ in reader:
            if on_row:
                on_row()
        return []
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        line = reader.line_num  # where the row ends: its own line unless a cell spans lines
        if None in row:  # more cells than the header names: a quoting slip, not data
            report.rejected.append(
                RejectedRow(
                    file, line, "row", "csv.row.too_many_cells", f"more than {len(header)} cells"
                )
            )
            if on_row:
                on_row()
            continue
        rows.append((line, row))
    return rows


def _cell(row: dict[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _grid_unit_of(row: dict[str, str]) -> GridUnit:
    for column in ("code", "name", "responsible_person"):
        _text(_cell(row, column), column, MAX_CODE if column == "code" else MAX_NAME)
    try:
        return GridUnit(
            code=_cell(row, "code"),
            name=_cell(row, "name"),
            level=_level(row.get("level")),
            parent_code=_cell(row, "parent_code") or None,
            responsible_person=_cell(row, "responsible_person"),
        )
    except DomainError as exc:
        raise ReferenceDataError.from_domain(exc, "row") from exc


def _enterprise_of(row: dict[str, str]) -> Enterprise:
    for column in ENTERPRISE_COLUMNS:
        _text(_cell(row, column), column, MAX_NAME)
    try:
        return Enterprise(
            credit_code=_cell(row, "credit_code").upper(),
            name=_cell(row, "name"),
            industry=_cell(row, "industry"),
            grid_code=_cell(row, "grid_code"),
        )
    except DomainError as exc:
        raise ReferenceDataError.from_domain(exc, "row") from exc


def _code(value: str, field_name: str) -> None:
    _text(value, field_name, MAX_CODE)
    if not _CODE.match(value):
        raise ReferenceDataError(
            field_name, "reference.code.alphabet", "letters, digits, '.', '_' or '-' only"
        )


def _text(value: str, field_name: str, limit: int) -> None:
    if not value or not value.strip():
        raise ReferenceDataError(field_name, "reference.required", "is required")
    if len(value) > limit:
        raise ReferenceDataError(field_name, "reference.too_long", f"at most {limit} characters")


def _level(value: str | None) -> GridLevel:
    try:
        return GridLevel((value or "").strip())
    except ValueError:
        raise ReferenceDataError(
            "level",
            "grid.level.unknown",
            "one of " + ", ".join(level.value for level in GridLevel),
        ) from None


def _unit(row: sa.Row[tuple[str, str, str, str | None, str]]) -> GridUnit:
    return GridUnit(row[0], row[1], GridLevel(row[2]), row[3], row[4])
