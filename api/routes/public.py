"""The public registers, readable with no token: the serious-dishonesty list (严重失信主体名单)
and the listed hazards (挂牌督办公示)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from activities.projections.read_models.blacklist import (
    list_blacklist,
)
from activities.projections.read_models.listings import (
    list_listings,
)
from api.deps import GridCodeQuery, Limit, Offset, ServicesDep
from api.presenters import page_of
from api.schemas import ListingEntryOut, Page, RegisterEntryOut
from api.services.access import require_grid_unit_filter

router = APIRouter()


@router.get("/blacklist", response_model=Page[RegisterEntryOut], tags=["credit"])
def blacklist(
    services: ServicesDep,
    status: Annotated[Literal["listed", "expired", "removed_early"] | None, Query()] = None,
    grid_unit: GridCodeQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[RegisterEntryOut]:
    """The public register of serious-dishonesty entries (严重失信主体名单); no token."""
    require_grid_unit_filter(services.reference, grid_unit, "grid_unit")
    page = list_blacklist(
        services.engine, status=status, grid_unit=grid_unit, limit=limit, offset=offset
    )
    return page_of(page.items, page.total, page.limit, page.offset, RegisterEntryOut.model_validate)


@router.get("/public/listings", response_model=Page[ListingEntryOut], tags=["public"])
def listings(
    services: ServicesDep,
    status: Annotated[
        Literal["listed", "delisted", "superseded"] | None,
        Query(description="in force, 摘牌, or replaced by a higher listing"),
    ] = None,
    level: Annotated[Literal["county", "city", "province"] | None, Query()] = None,
    grid_unit: GridCodeQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ListingEntryOut]:
    """The public register of listed hazards (挂牌督办 公示), no token: every listing with
    its number, level, authority, enterprise, deadline, publication and de-listing."""
    require_grid_unit_filter(services.reference, grid_unit, "grid_unit")
    page = list_listings(
        services.engine,
        status=status,
        level=level,
        grid_unit=grid_unit,
        limit=limit,
        offset=offset,
    )
    return page_of(page.items, page.total, page.limit, page.offset, ListingEntryOut.model_validate)
