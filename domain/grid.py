"""The supervision grid (安全生产网格): 定格、定责、定人.

province (省) → city (市) → county/district (县/区, where the 应急管理局 sits) → township or
sub-district (乡镇/街道, 一级网格) → village or community (村/社区, 二级网格) → enterprise
(生产经营单位, 三级网格). Every unit has a code and a named responsible person; every enterprise
belongs to exactly one village-level unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.credit_code import validate_credit_code
from domain.errors import DomainError


class GridLevel(StrEnum):
    PROVINCE = "province"  # 省
    CITY = "city"  # 市
    COUNTY = "county"  # 县/区
    TOWNSHIP = "township"  # 乡镇/街道
    VILLAGE = "village"  # 村/社区

    @property
    def rank(self) -> int:
        """0 for the province, 4 for the village: a smaller rank is higher up the grid."""
        return _RANK[self]

    def is_above(self, other: GridLevel) -> bool:
        return self.rank < other.rank


_RANK = {level: i for i, level in enumerate(GridLevel)}
LOWEST_LEVEL = GridLevel.VILLAGE


@dataclass(frozen=True)
class GridUnit:
    """A grid unit (网格) and its responsible person (网格长/网格员/安监站长/局长)."""

    code: str
    name: str
    level: GridLevel
    parent_code: str | None
    responsible_person: str

    def __post_init__(self) -> None:
        if not self.code.strip():
            raise DomainError("grid.unit.code_required", "a grid unit needs a code", "code")
        if not self.responsible_person.strip():
            raise DomainError(
                "grid.unit.responsible_person_required",
                f"grid unit {self.code} has no responsible person (定人)",
                "responsible_person",
            )


@dataclass(frozen=True)
class Enterprise:
    """A production and business unit (生产经营单位)."""

    credit_code: str
    name: str
    industry: str
    grid_code: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "credit_code", validate_credit_code(self.credit_code))
        if not self.name.strip():
            raise DomainError("enterprise.name_required", "an enterprise needs a name", "name")


class GridTree:
    """A validated forest of grid units: unique codes, known parents, parents strictly above."""

    def __init__(self, units: Iterable[GridUnit]) -> None:
        self._units: dict[str, GridUnit] = {}
        for unit in units:
            if unit.code in self._units:
                raise DomainError(
                    "grid.code_unique", f"grid code {unit.code} appears twice", "code"
                )
            self._units[unit.code] = unit
        for unit in self._units.values():
            if unit.parent_code is None:
                continue
            parent = self._units.get(unit.parent_code)
            if parent is None:
                raise DomainError(
                    "grid.parent_unknown",
                    f"grid unit {unit.code} names unknown parent {unit.parent_code}",
                    "parent_code",
                )
            if not parent.level.is_above(unit.level):
                raise DomainError(
                    "grid.parent_level_above",
                    f"parent {parent.code} ({parent.level.value}) must be above "
                    f"{unit.code} ({unit.level.value})",
                    "level",
                )
        # Parents strictly above children makes cycles impossible: ranks strictly decrease.

    @property
    def units(self) -> tuple[GridUnit, ...]:
        return tuple(self._units.values())

    @property
    def roots(self) -> tuple[GridUnit, ...]:
        return tuple(u for u in self._units.values() if u.parent_code is None)

    def unit(self, code: str) -> GridUnit:
        try:
            return self._units[code]
        except KeyError:
            raise DomainError("grid.unit_unknown", f"no grid unit {code}", "grid_code") from None

    def path_to_root(self, code: str) -> list[GridUnit]:
        """The unit itself, then its parent, … up to its root."""
        path = [self.unit(code)]
        while path[-1].parent_code is not None:
            path.append(self._units[path[-1].parent_code])
        return path

    def is_within(self, code: str, ancestor_code: str) -> bool:
        """True when ``code`` is ``ancestor_code`` or lies in its subtree."""
        return any(u.code == ancestor_code for u in self.path_to_root(code))

    def enterprise_path(self, enterprise: Enterprise) -> list[GridUnit]:
        """The enterprise's grid path, lowest unit first; the unit must be a village (二级网格)."""
        unit = self.unit(enterprise.grid_code)
        if unit.level is not LOWEST_LEVEL:
            raise DomainError(
                "grid.enterprise_in_lowest_unit",
                f"enterprise {enterprise.credit_code} must belong to a village-level unit, "
                f"{unit.code} is {unit.level.value}",
                "grid_code",
            )
        return self.path_to_root(unit.code)
