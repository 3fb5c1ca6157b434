"""duban's HTTP API (FastAPI, under /api/v1, OpenAPI at /docs).

Thin routes: authenticate, check the body (pydantic, with limits), call ``Services``, and let
one exception handler turn any refusal into ``{"error": {"rule", "message", "field"}}``.
"""

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from activities.metrics import database_reachable, render_metrics, temporal_reachable
from activities.projections.queries import get_enterprise, list_blacklist
from activities.reference_data import ReferenceDataError
from activities.settings import Settings
from api.auth import Principal, authenticate
from api.schemas import (
    EnterpriseIn,
    ErrorOut,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    GovernancePlanIn,
    GridUnitIn,
    HazardIn,
    ListingDecisionIn,
    ListingIn,
    ObjectionIn,
    RefusalIn,
    RegisteredOut,
    ReportIn,
    VerificationIn,
    WithdrawalIn,
)
from api.services import Refused, Services, actor_of, forbidden, jsonable, not_found
from domain.case_commands import (
    Actor,
    DecideExtension,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case_events import Evidence, GovernancePlan
from domain.credit import DecideListing, FileObjection
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.policy import ListingLevel

MAX_BODY_BYTES = 256 * 1024
REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 413, 422)
}


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    *,
    build_services: Callable[[Settings], Any] | None = None,
) -> FastAPI:
    """The app. Tests pass ready ``services``; ``duban api`` lets the lifespan build them."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.services is None:
            assert settings is not None and build_services is not None
            app.state.services = await build_services(settings)
        yield

    app = FastAPI(
        title="duban 督办 API",
        version="1",
        description="Supervised rectification of workplace-safety hazards: cases, deadlines, "
        "escalation up the grid, listing, credit, and an auditable record.",
        lifespan=lifespan,
        responses=REFUSALS,
    )
    app.state.services = services
    _install_error_handlers(app)
    api = APIRouter(prefix="/api/v1")
    _hazard_routes(api)
    _reference_routes(api)
    _credit_routes(api)
    _report_routes(api)
    app.include_router(api)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Ready to serve: the database and Temporal both answer."""
        services = services_of(request)
        database = await run_in_threadpool(database_reachable, services.engine)
        temporal = await temporal_reachable(services.temporal)
        checks = {
            "database": {"ok": database[0], "detail": database[1]},
            "temporal": {"ok": temporal[0], "detail": temporal[1]},
        }
        ready = database[0] and temporal[0]
        return JSONResponse(
            status_code=200 if ready else 503, content={"ready": ready, "checks": checks}
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus text: this process's duban metrics."""
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

    return app


# ---------------------------------------------------------------------- plumbing


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(services_of)]


def principal_of(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise Refused(401, "auth.required", "send Authorization: Bearer <token>", "authorization")
    principal = authenticate(services_of(request).engine, authorization.removeprefix("Bearer "))
    if principal is None:
        raise Refused(401, "auth.invalid", "unknown or revoked token", "authorization")
    return principal


PrincipalDep = Annotated[Principal, Depends(principal_of)]


def _error(status: int, rule: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"rule": rule, "message": message, "field": field}}
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        return _error(exc.status, exc.rule, exc.message, exc.field)

    @app.exception_handler(ReferenceDataError)
    async def reference(_: Request, exc: ReferenceDataError) -> JSONResponse:
        status = 409 if exc.rule.endswith(".exists") else 422
        return _error(status, exc.rule, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return JSONResponse(
            status_code=422,
            content={
                "error": {"rule": "request.invalid", "message": first["msg"], "field": field},
                "detail": json.loads(json.dumps(errors, default=str)),
            },
        )

    @app.exception_handler(ValueError)
    async def value(_: Request, exc: ValueError) -> JSONResponse:
        message = str(exc)
        field = message.split(":", 1)[0] if ":" in message else None
        return _error(422, "request.invalid", message, field)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return _error(413, "request.too_large", f"bodies are limited to {MAX_BODY_BYTES} B")
        return await call_next(request)


def _parse_instant(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(422, "request.invalid", "not an ISO 8601 instant", name) from None
    if moment.tzinfo is None:
        raise Refused(422, "request.invalid", "an instant needs a time zone offset", name)
    return moment


# ---------------------------------------------------------------------- hazards


def _evidence(items: list[Any]) -> tuple[Evidence, ...]:
    return tuple(Evidence(e.uri, e.sha256) for e in items)


def _hazard_routes(api: APIRouter) -> None:
    @api.post("/hazards", status_code=201, response_model=RegisteredOut, tags=["hazards"])
    async def register_hazard(
        body: HazardIn,
        services: ServicesDep,
        principal: PrincipalDep,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Any:
        """登记隐患: register a hazard; its case starts at once. ``Idempotency-Key`` makes a
        retried POST return the first answer."""
        payload = body.model_dump(mode="python")
        if idempotency_key:
            request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
            stored = _remembered(services, principal, idempotency_key, request_hash)
            if stored is not None:
                return JSONResponse(status_code=201, content=stored)
        result = await services.register(principal, payload, idempotency_key)
        if idempotency_key:
            _remember(services, principal, idempotency_key, request_hash, result)
        return result

    @api.get("/hazards", tags=["hazards"])
    async def list_hazards(
        services: ServicesDep,
        principal: PrincipalDep,
        grid_unit: Annotated[str | None, Query(max_length=64)] = None,
        status: Annotated[
            list[str] | None,
            Query(description="rectifying, reported, escalated, referred, closed, withdrawn"),
        ] = None,
        level: Annotated[str | None, Query(description="listed level")] = None,
        hazard_class: Annotated[str | None, Query(pattern="^(general|major)$")] = None,
        listed: bool | None = None,
        overdue: bool | None = None,
        enterprise: Annotated[str | None, Query(max_length=18)] = None,
        open_only: bool = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        """The case list (read model): filter by grid subtree, status, level, class, listing,
        overdue (as of now), enterprise; sorted by deadline."""
        return services.list_hazards(
            principal,
            grid_unit=grid_unit,
            statuses=status,
            listed_level=level,
            hazard_class=hazard_class,
            listed=listed,
            overdue=overdue,
            enterprise=enterprise,
            open_only=open_only,
            limit=limit,
            offset=offset,
        )

    @api.get("/hazards/{hazard_id}", tags=["hazards"])
    async def get_hazard(hazard_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
        """The live state of the case (queried from its workflow)."""
        return await services.case(principal, hazard_id)

    def action(
        path: str,
        update: str,
        roles: tuple[str, ...],
        model: type,
        build: Callable[..., Any],
        summary: str,
    ) -> None:
        async def endpoint(
            hazard_id: str,
            body: model,  # type: ignore[valid-type]  # FastAPI reads the model at runtime
            services: ServicesDep,
            principal: PrincipalDep,
        ) -> Any:
            return await services.act(
                principal, hazard_id, update, roles, lambda actor: build(actor, body)
            )

        endpoint.__name__ = update
        api.post(f"/hazards/{{hazard_id}}/{path}", tags=["case actions"], summary=summary)(endpoint)

    action(
        "governance-plan",
        "submit_governance_plan",
        ("enterprise",),
        GovernancePlanIn,
        lambda a, b: SubmitGovernancePlan(actor=a, plan=GovernancePlan(**b.model_dump())),
        "治理方案: the six-part governance plan of a major hazard",
    )
    action(
        "rectification-report",
        "report_rectification",
        ("enterprise",),
        ReportIn,
        lambda a, b: ReportRectification(
            actor=a, summary=b.summary, evidence=_evidence(b.evidence)
        ),
        "申请验收: the enterprise reports the rectification done",
    )
    action(
        "verification",
        "verify_rectification",
        ("supervisor",),
        VerificationIn,
        lambda a, b: VerifyRectification(
            actor=a, passed=b.passed, comments=b.comments, new_deadline=b.new_deadline
        ),
        "验收: pass (销号, 摘牌) or fail (back to rectification)",
    )
    action(
        "extension-request",
        "request_extension",
        ("enterprise",),
        ExtensionRequestIn,
        lambda a, b: RequestExtension(
            actor=a,
            requested_deadline=b.requested_deadline,
            reasons=b.reasons,
            interim_safeguards=b.interim_safeguards,
        ),
        "延期申请",
    )
    action(
        "extension-decision",
        "decide_extension",
        ("supervisor",),
        ExtensionDecisionIn,
        lambda a, b: DecideExtension(
            actor=a, approve=b.approve, reason=b.reason, new_deadline=b.new_deadline
        ),
        "延期审批",
    )
    action(
        "listing",
        "list_hazard",
        ("supervisor",),
        ListingIn,
        lambda a, b: ListHazard(
            actor=a, level=ListingLevel(b.level), measures=b.measures, deadline=b.deadline
        ),
        "挂牌督办 (or a higher listing level)",
    )
    action(
        "refusal",
        "record_refusal",
        ("supervisor",),
        RefusalIn,
        lambda a, b: RecordRefusal(actor=a, details=b.details),
        "拒不整改 → 移送执法",
    )
    action(
        "withdrawal",
        "withdraw_case",
        ("supervisor",),
        WithdrawalIn,
        lambda a, b: WithdrawCase(actor=a, reason=b.reason),
        "撤销: withdraw the case with a reason",
    )

    @api.get("/hazards/{hazard_id}/history", tags=["audit"])
    async def history(hazard_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
        """The case's full stored history: every event with its position and hash links."""
        facts = services.require_read(principal, hazard_id)
        events = services.store.read_stream(f"case-{facts.hazard_id}")
        return {
            "hazard_id": hazard_id,
            "events": [
                {
                    "position": e.position,
                    "stream_version": e.stream_version,
                    "event_id": str(e.event_id),
                    "event_type": e.event_type,
                    "schema_version": e.schema_version,
                    "data": e.data,
                    "metadata": e.metadata,
                    "occurred_at": e.occurred_at.isoformat(),
                    "recorded_at": e.recorded_at.isoformat(),
                    "prev_hash": e.prev_hash.hex(),
                    "hash": e.hash.hex(),
                }
                for e in events
            ],
        }

    @api.get("/hazards/{hazard_id}/as-of", tags=["audit"])
    async def as_of(
        hazard_id: str,
        services: ServicesDep,
        principal: PrincipalDep,
        at: Annotated[str, Query(description="ISO 8601 instant with offset", max_length=64)],
    ) -> Any:
        """The case's state as duban knew it at ``at``, folded from stored events only."""
        instant = _parse_instant(at, "at")
        assert instant is not None
        facts = services.require_read(principal, hazard_id)
        from activities.audit.replay import replay_case

        replay = replay_case(services.store, facts.hazard_id, as_of=instant)
        return jsonable(replay.to_data())


def _remembered(
    services: Services, principal: Principal, key: str, request_hash: str
) -> dict[str, Any] | None:
    with services.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT request_hash, response FROM api_idempotency"
                " WHERE token_id = :t AND key = :k"
            ),
            {"t": principal.token_id, "k": key},
        ).first()
    if row is None:
        return None
    if row[0] != request_hash:
        raise Refused(
            422,
            "idempotency.key_reused",
            "this Idempotency-Key was used with another body",
            "idempotency-key",
        )
    stored: dict[str, Any] = row[1]
    return stored


def _remember(
    services: Services, principal: Principal, key: str, request_hash: str, result: Any
) -> None:
    with services.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_idempotency (token_id, key, request_hash, status_code, response)"
                " VALUES (:t, :k, :h, 201, CAST(:r AS jsonb)) ON CONFLICT DO NOTHING"
            ),
            {
                "t": principal.token_id,
                "k": key,
                "h": request_hash,
                "r": json.dumps(jsonable(result)),
            },
        )


# ---------------------------------------------------------------------- grid, enterprises


def _reference_routes(api: APIRouter) -> None:
    @api.post("/grid-units", status_code=201, tags=["grid"])
    async def create_grid_unit(
        body: GridUnitIn, services: ServicesDep, principal: PrincipalDep
    ) -> dict[str, Any]:
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
        return _unit(unit)

    @api.get("/grid-units", tags=["grid"])
    async def grid_units(
        services: ServicesDep,
        principal: PrincipalDep,
        parent: Annotated[str | None, Query(max_length=64)] = None,
    ) -> list[dict[str, Any]]:
        del principal  # any authenticated user may read the grid
        return [_unit(u) for u in services.reference.grid_units(parent)]

    @api.get("/grid-units/{code}", tags=["grid"])
    async def grid_unit(code: str, services: ServicesDep, principal: PrincipalDep) -> Any:
        del principal
        unit = services.reference.grid_unit(code)
        if unit is None:
            raise not_found(f"grid unit {code}")
        return {**_unit(unit), "path": [_unit(u) for u in services.reference.path_to_root(code)]}

    @api.post("/enterprises", status_code=201, tags=["enterprises"])
    async def create_enterprise(
        body: EnterpriseIn, services: ServicesDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        """Add an enterprise to its lowest grid unit (admin)."""
        if principal.role != "admin":
            raise forbidden("only an admin registers enterprises")
        enterprise = services.reference.add_enterprise(
            Enterprise(body.credit_code.upper(), body.name, body.industry, body.grid_code),
            principal.actor_id,
        )
        return _enterprise(enterprise)

    @api.get("/enterprises", tags=["enterprises"])
    async def enterprises(
        services: ServicesDep,
        principal: PrincipalDep,
        grid_unit: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> list[dict[str, Any]]:
        if principal.role == "enterprise":
            own = services.reference.enterprise(principal.scope or "")
            return [_enterprise(own)] if own else []
        if principal.role in ("inspector", "supervisor"):
            grid_unit = grid_unit or principal.scope
            if grid_unit and not services.reference.is_within(grid_unit, principal.scope or ""):
                raise forbidden(f"grid unit {grid_unit} is outside your grid")
        return [_enterprise(e) for e in services.reference.enterprises(grid_unit, limit, offset)]

    @api.get("/enterprises/{credit_code}", tags=["enterprises"])
    async def enterprise(credit_code: str, services: ServicesDep, principal: PrincipalDep) -> Any:
        services.require_enterprise_access(principal, credit_code)
        found = services.reference.enterprise(credit_code)
        assert found is not None
        return _enterprise(found)


def _unit(unit: GridUnit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "level": unit.level.value,
        "parent_code": unit.parent_code,
        "responsible_person": unit.responsible_person,
    }


def _enterprise(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "credit_code": enterprise.credit_code,
        "name": enterprise.name,
        "industry": enterprise.industry,
        "grid_code": enterprise.grid_code,
    }


# ---------------------------------------------------------------------- credit


def _credit_routes(api: APIRouter) -> None:
    @api.get("/enterprises/{credit_code}/credit", tags=["credit"])
    async def credit(credit_code: str, services: ServicesDep, principal: PrincipalDep) -> Any:
        """The enterprise's credit record: rating (A–D), whitelist, proceedings, listing."""
        services.require_enterprise_access(principal, credit_code)
        item = get_enterprise(
            services.engine,
            credit_code,
            now=datetime.now(UTC),
            policy=services.policy,
            calendar=services.calendar,
        )
        if item is None:
            return {"credit_code": credit_code, "record": None}
        return jsonable(item.__dict__)

    @api.post("/enterprises/{credit_code}/credit/objection", tags=["credit"])
    async def objection(
        credit_code: str, body: ObjectionIn, services: ServicesDep, principal: PrincipalDep
    ) -> Any:
        """陈述申辩/异议: the enterprise's objection within the window."""
        services.require_enterprise_access(principal, credit_code, ("enterprise",))
        return jsonable(
            await services.credit_update(
                principal,
                credit_code,
                "file_objection",
                FileObjection(actor=_actor(principal), statement=body.statement),
            )
        )

    @api.post("/enterprises/{credit_code}/credit/decision", tags=["credit"])
    async def decision(
        credit_code: str, body: ListingDecisionIn, services: ServicesDep, principal: PrincipalDep
    ) -> Any:
        """列入或不列入严重失信主体名单: a supervisor's decision after the objection window."""
        services.require_enterprise_access(principal, credit_code, ("supervisor",))
        return jsonable(
            await services.credit_update(
                principal,
                credit_code,
                "decide_listing",
                DecideListing(
                    actor=_actor(principal), list_enterprise=body.list_enterprise, basis=body.basis
                ),
            )
        )

    @api.get("/blacklist", tags=["credit"])
    async def blacklist(
        services: ServicesDep,
        status: Annotated[str | None, Query(pattern="^(listed|expired|removed_early)$")] = None,
        grid_unit: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> Any:
        """The public register of serious-dishonesty entries (严重失信主体名单); no token."""
        page = list_blacklist(
            services.engine, status=status, grid_unit=grid_unit, limit=limit, offset=offset
        )
        return jsonable(page.__dict__)


def _actor(principal: Principal) -> Actor:
    return actor_of(principal)


# ---------------------------------------------------------------------- reports


def _report_routes(api: APIRouter) -> None:
    @api.get("/reports/{kind}/{unit_code}/{period}", tags=["reports"])
    async def report(
        kind: str, unit_code: str, period: str, services: ServicesDep, principal: PrincipalDep
    ) -> Any:
        """A monthly risk-analysis or quarterly statistics report, as stored (with its hash)."""
        from workflows.reports import check_period, report_key

        if kind not in ("monthly", "quarterly", "yearly"):
            raise Refused(422, "request.invalid", "monthly, quarterly or yearly", "kind")
        check_period(kind, period)
        if principal.role in ("inspector", "supervisor") and not services.reference.is_within(
            unit_code, principal.scope or ""
        ):
            raise forbidden(f"grid unit {unit_code} is outside your grid")
        if principal.role == "enterprise":
            raise forbidden("reports are for the supervising units")
        events = services.store.read_stream(report_key(kind, unit_code, period))
        if not events:
            raise not_found(f"{kind} report of {unit_code} for {period}")
        return events[0].data
