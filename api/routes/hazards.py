"""Hazards (隐患): register one (its case starts at once), list the cases, read one case live."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import Principal
from api.deps import (
    CaseStatus,
    CreditCodeQuery,
    GridCodeQuery,
    HazardId,
    IdempotencyKey,
    Limit,
    Offset,
    PrincipalDep,
    ServicesDep,
)
from api.idempotency import Attempt, answered_once, registration_fingerprint
from api.presenters import hazard_page
from api.schemas import HazardIn, HazardRowOut, Page, RegisteredOut
from api.services import Services
from api.services.cases import legacy_keyed_hazard_id

router = APIRouter(tags=["hazards"])


@router.post("/hazards", status_code=201, response_model=RegisteredOut)
async def register_hazard(
    body: HazardIn,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """登记隐患: register a hazard; its case starts at once. ``Idempotency-Key`` makes a
    retried POST return the first answer, byte for byte, and never start a second case."""
    payload = body.model_dump(mode="python")
    return await answered_once(
        services.engine,
        principal,
        idempotency_key,
        registration_fingerprint(body),
        201,
        lambda attempt: _registered(services, principal, payload, idempotency_key, attempt),
    )


async def _registered(
    services: Services,
    principal: Principal,
    payload: dict[str, Any],
    key: str | None,
    attempt: Attempt | None,
) -> RegisteredOut:
    if attempt is None:
        return RegisteredOut.model_validate(await services.register(principal, payload))
    hazard_id = services.keyed_hazard_id(
        attempt.token_id, attempt.key, attempt.number, attempt.claimed_at
    )
    if attempt.resent:
        # The key was claimed for this very request and its answer is missing: the case it
        # started (if it did) is the answer, whatever the body would be judged as today. A key
        # claimed before one id format may have started its case under the older id.
        started = await services.registered_case(
            (hazard_id, legacy_keyed_hazard_id(attempt.token_id, attempt.key))
        )
        if started is not None:
            return RegisteredOut.model_validate(started)
    registered = await services.register(principal, payload, key, hazard_id=hazard_id)
    return RegisteredOut.model_validate(registered)


@router.get("/hazards", response_model=Page[HazardRowOut])
def list_hazards(
    services: ServicesDep,
    principal: PrincipalDep,
    grid_unit: GridCodeQuery = None,
    status: Annotated[
        list[CaseStatus] | None,
        Query(max_length=6, description="repeatable"),
    ] = None,
    level: Annotated[
        Literal["county", "city", "province"] | None, Query(description="listed level")
    ] = None,
    hazard_class: Annotated[Literal["general", "major"] | None, Query()] = None,
    listed: bool | None = None,
    overdue: bool | None = None,
    enterprise: CreditCodeQuery = None,
    open_only: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[HazardRowOut]:
    """The case list (read model): filter by grid subtree, status, level, class, listing,
    overdue (逾期 now: the hazard's rectification deadline, ``rectification_deadline``, has
    passed unrectified — escalated cases included — since ``overdue_since``, for
    ``days_overdue`` calendar days in the policy's time zone), enterprise; sorted by
    deadline."""
    page = services.list_hazards(
        principal,
        grid_unit=grid_unit,
        statuses=list(status) if status else None,
        listed_level=level,
        hazard_class=hazard_class,
        listed=listed,
        overdue=overdue,
        enterprise=enterprise.upper() if enterprise else None,
        open_only=open_only,
        limit=limit,
        offset=offset,
    )
    return hazard_page(page)


@router.get("/hazards/{hazard_id}")
async def get_hazard(hazard_id: HazardId, services: ServicesDep, principal: PrincipalDep) -> Any:
    """The live state of the case (queried from its workflow); when it is overdue (逾期),
    since when (``overdue_since``) and for how many days (``days_overdue``)."""
    return await services.case(principal, hazard_id)
