"""The supervision grid (网格): its units, from the province down to the village. Any
authenticated reader may read it (the grid is not secret); an admin maintains it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import GridCodePath, GridCodeQuery, Offset, PrincipalDep, ServicesDep
from api.presenters import grid_unit as present_unit
from api.presenters import grid_unit_detail, page_of
from api.schemas import GridUnitDetailOut, GridUnitIn, GridUnitOut, Page
from api.services.access import require_grid_unit_filter
from api.services.refusals import forbidden, not_found
from domain.grid import GridLevel, GridUnit

router = APIRouter(tags=["grid"])

# The grid is read whole as a rule (a county has tens of units): a page holds up to 500.
UnitLimit = Annotated[int, Query(ge=1, le=500)]


@router.post("/grid-units", status_code=201, response_model=GridUnitOut)
def create_grid_unit(
    body: GridUnitIn, services: ServicesDep, principal: PrincipalDep
) -> GridUnitOut:
    """Add a unit of the supervision grid (admin)."""
    if principal.role != "admin":
        raise forbidden("only an admin maintains the grid")
    unit = services.reference.add_grid_unit(
        GridUnit(
            body.code,
            body.name,
            GridLevel(body.level),
            body.parent_code,
            body.responsible_person,
        ),
        principal.actor_id,
    )
    return present_unit(unit)


@router.get("/grid-units", response_model=Page[GridUnitOut])
def grid_units(
    services: ServicesDep,
    principal: PrincipalDep,
    parent: GridCodeQuery = None,
    limit: UnitLimit = 500,
    offset: Offset = 0,
) -> Page[GridUnitOut]:
    """Every grid unit, or the units directly under ``parent``."""
    del principal  # any authenticated user may read the grid
    require_grid_unit_filter(services.reference, parent, "parent")
    units = services.reference.grid_units(parent)
    return page_of(units[offset : offset + limit], len(units), limit, offset, present_unit)


@router.get("/grid-units/{code}", response_model=GridUnitDetailOut)
def grid_unit(
    code: GridCodePath, services: ServicesDep, principal: PrincipalDep
) -> GridUnitDetailOut:
    del principal
    unit = services.reference.grid_unit(code)
    if unit is None:
        raise not_found(f"grid unit {code}")
    return grid_unit_detail(unit, services.reference.path_to_root(code))
