"""An enterprise's credit record (信用): read it, and the serious-dishonesty proceedings
(严重失信主体名单) run on it — each command a route of its own, sent to the enterprise's
credit workflow through ``CreditAction.act``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from activities.projections.read_models.enterprises import (
    get_enterprise,
)
from api.auth import Principal
from api.deps import CreditCode, IdempotencyKey, PrincipalDep, ServicesDep
from api.idempotency import Attempt, answered_once, request_fingerprint
from api.presenters import credit as present_credit
from api.presenters import credit_record
from api.schemas import (
    CreditOut,
    CreditRecordOut,
    EarlyRemovalDecisionIn,
    EarlyRemovalIn,
    ListingDecisionIn,
    ObjectionIn,
    ProceedingIn,
    RevocationIn,
)
from api.services import Services
from api.services.access import actor_of
from domain.case.commands import Actor
from domain.credit import (
    unrecorded_rating,
)
from domain.credit.commands import (
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
    OpenProceeding,
    RevokeEarlyRemoval,
)

router = APIRouter(tags=["credit"])

ENTERPRISE = ("enterprise",)
SUPERVISOR = ("supervisor",)


@router.get("/enterprises/{credit_code}/credit", response_model=CreditOut)
def credit(credit_code: CreditCode, services: ServicesDep, principal: PrincipalDep) -> CreditOut:
    """The enterprise's credit record: rating (A–D), whitelist, proceedings, listing."""
    code = credit_code.upper()
    services.require_enterprise_access(principal, code)
    enterprise = services.reference.enterprise(code)
    assert enterprise is not None
    item = get_enterprise(
        services.engine,
        code,
        now=services.clock(),
        policy=services.policy,
        calendar=services.current_calendar(),
    )
    return present_credit(enterprise, item, unrecorded_rating(services.policy))


@dataclass(frozen=True)
class CreditAction:
    """What every command on a credit record shares: the enterprise, who acts, the key."""

    services: Services
    principal: Principal
    credit_code: str
    idempotency_key: str | None

    async def act(
        self,
        action: str,
        update: str,
        roles: tuple[str, ...],
        body: BaseModel,
        build: Callable[[Actor], CreditCommand],
        *,
        open_record: bool = False,
    ) -> Response:
        """Send the command ``build`` makes to the credit workflow's Update ``update``, once
        per key, if the principal is one of ``roles`` and may see the enterprise.
        ``action``: the path after ``credit/``, part of what the key is claimed for;
        ``open_record``: start the record if there is none."""
        services, principal, code = self.services, self.principal, self.credit_code

        def judge() -> CreditCommand:
            services.require_enterprise_access(principal, code, roles)
            return build(actor_of(principal, services.reference))

        command = await run_in_threadpool(judge)

        async def send(attempt: Attempt | None) -> CreditRecordOut:
            view = await services.credit_update(
                principal,
                code,
                update,
                command,
                open_record=open_record,
                update_id=attempt.update_id if attempt else None,
                resent=attempt.resent if attempt else False,
            )
            return credit_record(view)

        return await answered_once(
            services.engine,
            principal,
            self.idempotency_key,
            request_fingerprint(f"/enterprises/{code}/credit/{action}", body),
            200,
            send,
        )


async def credit_action(
    credit_code: CreditCode,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> CreditAction:
    return CreditAction(services, principal, credit_code.upper(), idempotency_key)


CreditActionDep = Annotated[CreditAction, Depends(credit_action)]


@router.post(
    "/enterprises/{credit_code}/credit/proceedings",
    response_model=CreditRecordOut,
    summary="立案告知: open a serious-dishonesty proceeding (starts the credit record if needed)",
)
async def open_proceeding(body: ProceedingIn, record: CreditActionDep) -> Response:
    def build(actor: Actor) -> CreditCommand:
        return OpenProceeding(actor=actor, ground=body.ground, basis=body.basis)

    return await record.act(
        "proceedings", "open_proceeding", SUPERVISOR, body, build, open_record=True
    )


@router.post(
    "/enterprises/{credit_code}/credit/objection",
    response_model=CreditRecordOut,
    summary="陈述申辩/异议: the enterprise's objection within the window",
)
async def file_objection(body: ObjectionIn, record: CreditActionDep) -> Response:
    def build(actor: Actor) -> CreditCommand:
        return FileObjection(actor=actor, statement=body.statement)

    return await record.act("objection", "file_objection", ENTERPRISE, body, build)


@router.post(
    "/enterprises/{credit_code}/credit/decision",
    response_model=CreditRecordOut,
    summary="列入或不列入严重失信主体名单: a supervisor's decision after the objection window",
)
async def decide_listing(body: ListingDecisionIn, record: CreditActionDep) -> Response:
    def build(actor: Actor) -> CreditCommand:
        return DecideListing(actor=actor, list_enterprise=body.list_enterprise, basis=body.basis)

    return await record.act("decision", "decide_listing", SUPERVISOR, body, build)


@router.post(
    "/enterprises/{credit_code}/credit/early-removal",
    response_model=CreditRecordOut,
    summary="信用修复: the enterprise applies for early removal from the list",
)
async def apply_early_removal(body: EarlyRemovalIn, record: CreditActionDep) -> Response:
    def build(actor: Actor) -> CreditCommand:
        return ApplyEarlyRemoval(actor=actor, statement=body.statement)

    return await record.act("early-removal", "apply_early_removal", ENTERPRISE, body, build)


@router.post(
    "/enterprises/{credit_code}/credit/early-removal/decision",
    response_model=CreditRecordOut,
    summary="提前移出: approve or reject the application",
)
async def decide_early_removal(body: EarlyRemovalDecisionIn, record: CreditActionDep) -> Response:
    def build(actor: Actor) -> CreditCommand:
        return DecideEarlyRemoval(actor=actor, approve=body.approve, reason=body.reason)

    return await record.act(
        "early-removal/decision", "decide_early_removal", SUPERVISOR, body, build
    )


@router.post(
    "/enterprises/{credit_code}/credit/early-removal/revocation",
    response_model=CreditRecordOut,
    summary="撤销信用修复: revoke an early removal; the listing and its expiry return",
)
async def revoke_early_removal(body: RevocationIn, record: CreditActionDep) -> Response:
    def build(actor: Actor) -> CreditCommand:
        return RevokeEarlyRemoval(actor=actor, reason=body.reason)

    return await record.act(
        "early-removal/revocation", "revoke_early_removal", SUPERVISOR, body, build
    )
