"""Public reports (举报): filed with no sign-in (after a proof-of-work challenge) and followed by
a receipt code; listed, read, verified (核实) and rewarded by the grid."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import GridCodeQuery, IdempotencyKey, Limit, Offset, PrincipalDep, ServicesDep
from api.presenters import page_of
from api.schemas import (
    ChallengeOut,
    DismissalIn,
    Page,
    PublicReportFiledOut,
    PublicReportFollowOut,
    PublicReportIn,
    PublicReportRowOut,
    RewardIn,
    SubstantiationIn,
)
from api.services.access import require_grid_unit_filter
from domain.case.events import HazardClass
from domain.public_report import DecideReward, DismissReport, SubstantiateReport

router = APIRouter(tags=["public reports"])

ReportId = Annotated[str, Path(pattern=r"^R-[0-9a-f]{24}$", description="the report's id")]
ReceiptCode = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.get("/public/reports/challenge", response_model=ChallengeOut)
def challenge(request: Request, services: ServicesDep) -> ChallengeOut:
    """A proof-of-work challenge to file a report with (no token; limited per address)."""
    return ChallengeOut(**services.issue_report_challenge(_address(request)))


@router.post("/public/reports", response_model=PublicReportFiledOut, status_code=201)
async def file_report(
    body: PublicReportIn, request: Request, services: ServicesDep
) -> PublicReportFiledOut:
    """举报: anyone files a report (no token), with a solved challenge; the answer's receipt
    code is the only way to follow it."""
    filed = await services.file_public_report(_address(request), body.model_dump())
    return PublicReportFiledOut(**filed)


@router.get("/public/reports/{receipt_code}", response_model=PublicReportFollowOut)
async def follow_report(receipt_code: ReceiptCode, services: ServicesDep) -> PublicReportFollowOut:
    """The course of the report this receipt code was given for (no token, no identity)."""
    return PublicReportFollowOut(**await services.follow_report(receipt_code))


@router.get("/public-reports", response_model=Page[PublicReportRowOut])
def list_reports(
    services: ServicesDep,
    principal: PrincipalDep,
    status: Annotated[
        Literal["received", "substantiated", "dismissed", "rewarded"] | None, Query()
    ] = None,
    grid_unit: GridCodeQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PublicReportRowOut]:
    """The reports of the caller's grid (read model), newest first."""
    require_grid_unit_filter(services.reference, grid_unit, "grid_unit")
    page = services.list_public_reports(
        principal, grid_unit=grid_unit, status=status, limit=limit, offset=offset
    )
    return page_of(
        page.items, page.total, page.limit, page.offset, PublicReportRowOut.model_validate
    )


@router.get("/public-reports/{report_id}")
async def read_report(
    report_id: ReportId, services: ServicesDep, principal: PrincipalDep
) -> dict[str, object]:
    """One report from its record; the reporter's identity only for the policy's roles."""
    return await run_in_threadpool(services.public_report, principal, report_id)


def _update_id(principal: PrincipalDep, key: str | None, action: str) -> str | None:
    return None if key is None else f"{principal.actor_id}:{action}:{key}"


@router.post("/public-reports/{report_id}/substantiation", summary="核实属实: linked cases")
async def substantiate(
    report_id: ReportId,
    body: SubstantiationIn,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, object]:
    hazard_ids = tuple(body.hazard_ids)
    return await services.act_on_report(
        principal,
        report_id,
        "substantiate_report",
        lambda actor: SubstantiateReport(actor, hazard_ids, body.findings),
        hazard_ids=hazard_ids,
        update_id=_update_id(principal, idempotency_key, "substantiation"),
    )


@router.post("/public-reports/{report_id}/dismissal", summary="核实不属实: dismissed")
async def dismiss(
    report_id: ReportId,
    body: DismissalIn,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, object]:
    return await services.act_on_report(
        principal,
        report_id,
        "dismiss_report",
        lambda actor: DismissReport(actor, body.reason),
        update_id=_update_id(principal, idempotency_key, "dismissal"),
    )


@router.post("/public-reports/{report_id}/reward", summary="奖励决定 per the policy")
async def reward(
    report_id: ReportId,
    body: RewardIn,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, object]:
    return await services.act_on_report(
        principal,
        report_id,
        "decide_reward",
        lambda actor: DecideReward(
            actor, HazardClass(body.hazard_class), body.fine_yuan, body.first_reporter
        ),
        update_id=_update_id(principal, idempotency_key, "reward"),
    )
