"""The grid units (网格单元) the read side knows: ``grid_unit_view``.

Kept from the reference data (``GridUnitRegistered``) and from the grid path every case
registration carries, so that an enterprise registered in the reference data finds its path
up the grid, and the statistics name their unit. Written by the batch as one upsert that skips
unchanged units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from activities.projections.batch import BatchChanges

GRID_UNIT_COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent_code", "responsible_person")

# --------------------------------------------------------------------------- changes


def units_of_path(path: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The units of a registration's grid path, every field read (a malformed one raises
    before anything changes)."""
    return [{name: unit[name] for name in GRID_UNIT_COLUMNS} for unit in path]


def note_unit(changes: BatchChanges, unit: dict[str, Any]) -> None:
    code = unit["code"]
    changes.grid_units[code] = (
        code,
        unit["name"],
        unit["level"],
        unit["parent_code"],
        unit["responsible_person"],
    )
    changes.grid_parents[code] = unit["parent_code"]


def unit_registered(changes: BatchChanges, data: dict[str, Any]) -> bool:
    """GridUnitRegistered, of the reference data's ``grid-`` streams."""
    note_unit(changes, {name: data[name] for name in GRID_UNIT_COLUMNS})
    return True


def grid_path_of(changes: BatchChanges, code: str) -> list[str] | None:
    """The unit and its ancestors, lowest first, from the grid units the read side knows;
    None when the unit itself is unknown."""
    parents = changes.grid_parents
    if code not in parents:
        return None
    path = [code]
    parent = parents.get(code)
    while parent is not None and parent not in path:
        path.append(parent)
        parent = parents.get(parent)
    return path


# --------------------------------------------------------------------------- queries


def grid_unit(engine: Engine, code: str) -> tuple[str, str] | None:
    """(name, level) of a grid unit the read models know, None for an unknown code."""
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT name, level FROM grid_unit_view WHERE code = %(c)s", {"c": code}
        ).first()
    return (row[0], row[1]) if row else None
