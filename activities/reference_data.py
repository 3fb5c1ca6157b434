"""Reference data: the supervision grid (定格、定责、定人) and the enterprises in it.

Mutable tables an administrator maintains, each change also appended to the event store
(``grid-<code>``, ``enterprise-<credit code>``) so the record of who set up whom is kept like
everything else. Reads give the domain's own types, so a case is registered with exactly the
grid path the tables hold at that moment (and the case keeps that path forever).
"""

from __future__ import annotations

import csv
import io
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


class ReferenceDataError(ValueError):
    """A grid unit or an enterprise the rules refuse; names the field and the rule."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = rule
        self.message = message


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
        _text(unit.code, "code", 64)
        _text(unit.name, "name", MAX_NAME)
        _text(unit.responsible_person, "responsible_person", MAX_NAME)
        parent = self.grid_unit(unit.parent_code) if unit.parent_code else None
        if unit.parent_code and parent is None:
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
        self, grid_code: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Enterprise]:
        sql = "SELECT credit_code, name, industry, grid_code FROM enterprises"
        params: dict[str, object] = {"l": limit, "o": offset}
        if grid_code is not None:
            sql += " WHERE grid_code = :g"
            params["g"] = grid_code
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.text(sql + " ORDER BY credit_code LIMIT :l OFFSET :o"), params
            ).all()
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
        ``credit_code,name,industry,grid_code`` rows; every refused row is reported with its
        line, field and rule, and the others are loaded (parents before children)."""
        report = LoadReport()
        progress = on_row
        rows = list(csv.DictReader(io.StringIO(grid_csv)))
        pending = [(i + 2, row) for i, row in enumerate(rows)]
        # Parents first whatever the file's order: retry rows whose parent is not loaded yet.
        while pending:
            deferred: list[tuple[int, dict[str, str]]] = []
            for line, row in pending:
                try:
                    unit = GridUnit(
                        code=(row.get("code") or "").strip(),
                        name=(row.get("name") or "").strip(),
                        level=_level(row.get("level")),
                        parent_code=(row.get("parent_code") or "").strip() or None,
                        responsible_person=(row.get("responsible_person") or "").strip(),
                    )
                    self.add_grid_unit(unit, actor_id)
                    report.grid_units += 1
                except ReferenceDataError as exc:
                    if exc.rule == "grid.parent.unknown" and any(
                        (r.get("code") or "").strip() == (row.get("parent_code") or "").strip()
                        for _, r in pending
                        if r is not row
                    ):
                        deferred.append((line, row))
                        continue
                    report.rejected.append(
                        RejectedRow("grid", line, exc.field, exc.rule, exc.message)
                    )
                if progress:
                    progress()
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
                break
            pending = deferred
        for i, row in enumerate(csv.DictReader(io.StringIO(enterprises_csv))):
            try:
                self.add_enterprise(
                    Enterprise(
                        credit_code=(row.get("credit_code") or "").strip().upper(),
                        name=(row.get("name") or "").strip(),
                        industry=(row.get("industry") or "").strip(),
                        grid_code=(row.get("grid_code") or "").strip(),
                    ),
                    actor_id,
                )
                report.enterprises += 1
            except ReferenceDataError as exc:
                report.rejected.append(
                    RejectedRow("enterprises", i + 2, exc.field, exc.rule, exc.message)
                )
            if progress:
                progress()
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
