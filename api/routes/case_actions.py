"""A person's actions on a case (挂牌督办 and the steps around it): each a route of its own,
sent to the case's workflow as an Update through ``CaseAction.act`` — who may act is judged
first, then the command is applied once per Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from api.auth import Principal
from api.deps import HazardId, IdempotencyKey, PrincipalDep, ServicesDep
from api.idempotency import answered_once, request_fingerprint
from api.schemas import (
    AcceptanceIn,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    GovernancePlanIn,
    ListingIn,
    RefusalIn,
    ReportIn,
    VerificationIn,
    WithdrawalIn,
)
from api.services import Services
from domain.case.commands import (
    AcceptSelfReport,
    Actor,
    CaseCommand,
    DecideExtension,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.events import Evidence, GovernancePlan, ListingMeasures
from domain.policy import ListingLevel

router = APIRouter(tags=["case actions"])

ENTERPRISE = ("enterprise",)
SUPERVISOR = ("supervisor",)


@dataclass(frozen=True)
class CaseAction:
    """What every action on a case shares: the case, who acts, and the request's key."""

    services: Services
    principal: Principal
    hazard_id: str
    idempotency_key: str | None

    async def act(
        self,
        action: str,
        update: str,
        roles: tuple[str, ...],
        body: BaseModel,
        build: Callable[[Actor], CaseCommand],
    ) -> Response:
        """Send the command ``build`` makes to the case's workflow Update ``update``, once per
        key, if the principal is one of ``roles`` and may read the case. ``action``: the
        path's last segment, part of what the key is claimed for."""
        services, principal, hazard_id = self.services, self.principal, self.hazard_id
        # Who may act is judged before a stored answer is given back.
        await run_in_threadpool(services.authorise_act, principal, hazard_id, roles)
        return await answered_once(
            services.engine,
            principal,
            self.idempotency_key,
            request_fingerprint(f"/hazards/{hazard_id}/{action}", body),
            200,
            lambda attempt: services.act(
                principal,
                hazard_id,
                update,
                build,
                update_id=attempt.update_id if attempt else None,
                resent=attempt.resent if attempt else False,
            ),
        )


async def case_action(
    hazard_id: HazardId,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> CaseAction:
    return CaseAction(services, principal, hazard_id, idempotency_key)


CaseActionDep = Annotated[CaseAction, Depends(case_action)]


def _evidence(case: CaseAction, items: list[Any]) -> tuple[Evidence, ...]:
    """The cited evidence as the event records it (an uploaded file's size and type read from
    the stored bytes). Called inside ``build``, which runs in the thread pool."""
    return case.services.evidence_of(
        case.principal, [e.model_dump() for e in items], hazard_id=case.hazard_id
    )


@router.post(
    "/hazards/{hazard_id}/governance-plan",
    summary="治理方案: the six-part governance plan of a major hazard",
)
async def submit_governance_plan(body: GovernancePlanIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        plan = GovernancePlan(**body.model_dump(exclude={"evidence"}))
        return SubmitGovernancePlan(actor=actor, plan=plan, evidence=_evidence(case, body.evidence))

    return await case.act("governance-plan", "submit_governance_plan", ENTERPRISE, body, build)


@router.post(
    "/hazards/{hazard_id}/rectification-report",
    summary="申请验收: the enterprise reports the rectification done",
)
async def report_rectification(body: ReportIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        return ReportRectification(
            actor=actor, summary=body.summary, evidence=_evidence(case, body.evidence)
        )

    return await case.act("rectification-report", "report_rectification", ENTERPRISE, body, build)


@router.post(
    "/hazards/{hazard_id}/verification",
    summary="验收: pass (销号, 摘牌) or fail (back to rectification)",
)
async def verify_rectification(body: VerificationIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        return VerifyRectification(
            actor=actor,
            passed=body.passed,
            comments=body.comments,
            new_deadline=body.new_deadline,
            evidence=_evidence(case, body.evidence),
        )

    return await case.act("verification", "verify_rectification", SUPERVISOR, body, build)


@router.post("/hazards/{hazard_id}/extension-request", summary="延期申请")
async def request_extension(body: ExtensionRequestIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        return RequestExtension(
            actor=actor,
            requested_deadline=body.requested_deadline,
            reasons=body.reasons,
            interim_safeguards=body.interim_safeguards,
        )

    return await case.act("extension-request", "request_extension", ENTERPRISE, body, build)


@router.post("/hazards/{hazard_id}/extension-decision", summary="延期审批")
async def decide_extension(body: ExtensionDecisionIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        return DecideExtension(
            actor=actor, approve=body.approve, reason=body.reason, new_deadline=body.new_deadline
        )

    return await case.act("extension-decision", "decide_extension", SUPERVISOR, body, build)


@router.post("/hazards/{hazard_id}/listing", summary="挂牌督办 (or a higher listing level)")
async def list_hazard(body: ListingIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        measures = body.listing_measures
        return ListHazard(
            actor=actor,
            level=ListingLevel(body.level),
            measures=body.measures,
            deadline=body.deadline,
            listing_measures=None if measures is None else ListingMeasures(**measures.model_dump()),
        )

    return await case.act("listing", "list_hazard", SUPERVISOR, body, build)


@router.post("/hazards/{hazard_id}/refusal", summary="拒不整改 → 移送执法")
async def record_refusal(body: RefusalIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        return RecordRefusal(actor=actor, details=body.details)

    return await case.act("refusal", "record_refusal", SUPERVISOR, body, build)


@router.post("/hazards/{hazard_id}/withdrawal", summary="撤销: withdraw the case with a reason")
async def withdraw_case(body: WithdrawalIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        return WithdrawCase(actor=actor, reason=body.reason)

    return await case.act("withdrawal", "withdraw_case", SUPERVISOR, body, build)


@router.post(
    "/hazards/{hazard_id}/acceptance",
    summary="受理: the supervising unit accepts a major hazard the enterprise reported itself",
)
async def accept_self_report(body: AcceptanceIn, case: CaseActionDep) -> Response:
    def build(actor: Actor) -> CaseCommand:
        return AcceptSelfReport(actor=actor, comments=body.comments)

    return await case.act("acceptance", "accept_self_report", SUPERVISOR, body, build)
