"""Enterprises (生产经营单位): registered by an admin under their lowest grid unit; their list
from the read model (cases, credit state, rating), narrowed to the reader's scope."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import CreditCode, GridCodeQuery, Limit, Offset, PrincipalDep, ServicesDep
from api.presenters import enterprise as present_enterprise
from api.presenters import enterprise_row, page_of
from api.schemas import EnterpriseIn, EnterpriseOut, EnterpriseRowOut, Page
from api.services.refusals import forbidden
from domain.grid import Enterprise

router = APIRouter(tags=["enterprises"])


@router.post("/enterprises", status_code=201, response_model=EnterpriseOut)
def create_enterprise(
    body: EnterpriseIn, services: ServicesDep, principal: PrincipalDep
) -> EnterpriseOut:
    """Add an enterprise to its lowest grid unit (admin)."""
    if principal.role != "admin":
        raise forbidden("only an admin registers enterprises")
    enterprise = services.reference.add_enterprise(
        Enterprise(body.credit_code.upper(), body.name, body.industry, body.grid_code),
        principal.actor_id,
    )
    return present_enterprise(enterprise)


@router.get("/enterprises", response_model=Page[EnterpriseRowOut])
def enterprises(
    services: ServicesDep,
    principal: PrincipalDep,
    grid_unit: GridCodeQuery = None,
    rating: Annotated[Literal["A", "B", "C", "D"] | None, Query()] = None,
    blacklisted: Annotated[bool | None, Query(description="on the list now")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[EnterpriseRowOut]:
    """Enterprises by credit code (read model), of ``grid_unit``'s whole subtree, with
    their cases, credit state and rating; filters ``rating`` (A–D) and ``blacklisted``.
    Every enterprise has a rating: one with no credit record has the policy's grade for
    nothing recorded (the scheme's base points), and the filter counts it so.
    An inspector's or a supervisor's list is their own subtree, an enterprise's is itself."""
    page = services.list_enterprises(
        principal,
        grid_unit=grid_unit,
        rating=rating,
        blacklisted=blacklisted,
        limit=limit,
        offset=offset,
    )
    return page_of(page.items, page.total, page.limit, page.offset, enterprise_row)


@router.get("/enterprises/{credit_code}", response_model=EnterpriseOut)
def enterprise(
    credit_code: CreditCode, services: ServicesDep, principal: PrincipalDep
) -> EnterpriseOut:
    code = credit_code.upper()
    services.require_enterprise_access(principal, code)
    found = services.reference.enterprise(code)
    assert found is not None
    return present_enterprise(found)
