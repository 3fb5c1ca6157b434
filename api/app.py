"""duban's HTTP API (FastAPI, under /api/v1, OpenAPI at /docs).

Thin routes: authenticate, check the body, path and query (pydantic, with limits), call
``Services``, and let the exception handlers below — the one place that does it — turn any
refusal into ``{"error": {"rule", "message", "field"}}``. A programming error stays a 500 (and
is logged): only refusals we know the meaning of become 4xx or 503.
"""

import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from activities.metrics import database_reachable, render_metrics, temporal_reachable
from activities.projections.queries import (
    EnterpriseItem,
    EnterpriseSummary,
    Period,
    get_enterprise,
    list_blacklist,
    list_enterprises,
    list_listings,
    unit_statistics,
)
from activities.reference_data import ReferenceDataError
from activities.reports import report_content
from activities.settings import Settings
from api.auth import Principal, authenticate
from api.json_body import JsonBodyCheck
from api.schemas import (
    CODE_PATTERN,
    HAZARD_ID_PATTERN,
    CreditEntryOut,
    CreditOut,
    CreditRecordOut,
    EarlyRemovalDecisionIn,
    EarlyRemovalIn,
    EnterpriseIn,
    EnterpriseOut,
    EnterpriseRowOut,
    ErrorOut,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    GovernancePlanIn,
    GridUnitDetailOut,
    GridUnitIn,
    GridUnitOut,
    HazardIn,
    ListingDecisionIn,
    ListingIn,
    ListingPageOut,
    ObjectionIn,
    ProceedingIn,
    RefusalIn,
    RegisteredOut,
    RegisterPageOut,
    ReportIn,
    RevocationIn,
    StatisticsOut,
    VerificationIn,
    WithdrawalIn,
)
from api.services import (
    Refused,
    Services,
    actor_of,
    database_unavailable,
    domain_refusal,
    forbidden,
    idempotency_digest,
    jsonable,
    legacy_keyed_hazard_id,
    not_found,
    require_grid_unit_filter,
    temporal_unavailable,
)
from api.text_input import (
    CREDIT_CODE_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    INSTANT_RULE,
    PERIOD_PATTERN,
    RFC3339_PATTERN,
)
from api.tracing import API_TELEMETRY
from domain.case_commands import (
    DecideExtension,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case_events import Evidence, GovernancePlan, ListingMeasures
from domain.credit import (
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
    OpenProceeding,
    RevokeEarlyRemoval,
    unrecorded_rating,
)
from domain.durations import utc_instant
from domain.errors import DomainError
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.policy import ListingLevel
from workflows.credit import CreditView

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 256 * 1024
# Every refusal an operation can meet, in the one error shape. 400 is the HTTP server's own
# (api/http_server.py: a request head HTTP cannot read never reaches an operation, but any
# operation's request can be one).
REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": description}
    for code, description in (
        (400, "the request could not be read as HTTP (a header HTTP does not allow)"),
        (401, "no bearer token, or an unknown or revoked one"),
        (403, "outside the token's role or scope, or a rule about who acts"),
        (404, "what the path or a filter names does not exist"),
        (409, "the state or time of the case or record forbids it"),
        (413, "a body over 256 KiB"),
        (422, "a field breaks a rule: the error names the field and the rule"),
        (503, "the database or Temporal did not answer; ask again shortly"),
    )
}
# Where FastAPI says a bad value was; the caller knows the field by its plain name.
_LOCATIONS = {"body", "query", "path", "header", "cookie"}

HazardId = Annotated[
    str, Path(max_length=80, pattern=HAZARD_ID_PATTERN, description="the hazard's id")
]
CreditCode = Annotated[
    str,
    Path(min_length=18, max_length=18, pattern=CREDIT_CODE_PATTERN, description="统一社会信用代码"),
]
GridCodePath = Annotated[str, Path(max_length=64, pattern=CODE_PATTERN)]
GridCodeQuery = Annotated[str | None, Query(max_length=64, pattern=CODE_PATTERN)]
CreditCodeQuery = Annotated[
    str | None, Query(min_length=18, max_length=18, pattern=CREDIT_CODE_PATTERN)
]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
CaseStatus = Literal["rectifying", "reported", "escalated", "referred", "closed", "withdrawn"]


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
        telemetry=API_TELEMETRY,
    )
    app.state.services = services
    _install_error_handlers(app)
    # The last added runs first: the size is known before the JSON is read.
    app.add_middleware(JsonBodyCheck)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    api = APIRouter(prefix="/api/v1")
    _hazard_routes(api)
    _reference_routes(api)
    _credit_routes(api)
    _report_routes(api)
    app.include_router(api)
    # [console, issue 16] the console's pages, static files and headers; `/` → /console/.
    from api.console.install import install_console

    install_console(app, settings)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Ready to serve: the database and Temporal both answer. Unauthenticated probes get
        a yes or no per dependency; why it failed (addresses, driver messages) goes to the
        log, not to whoever asks."""
        services = services_of(request)
        database = await run_in_threadpool(database_reachable, services.engine)
        temporal = await temporal_reachable(services.temporal)
        if not (database[0] and temporal[0]):
            log.warning(
                "readiness.not_ready",
                database_ok=database[0],
                database_detail=database[1],
                temporal_ok=temporal[0],
                temporal_detail=temporal[1],
            )
        checks: dict[str, dict[str, Any]] = {
            name: {"ok": ok, "reason": "ok" if ok else "unreachable"}
            for name, (ok, _) in (("database", database), ("temporal", temporal))
        }
        ready = database[0] and temporal[0]
        if services.calendar_source is not None:
            # Reported, never failing readiness: taking the API out of service would not load
            # a year. A broken file or a missing year is for the administrator to mend.
            status = await run_in_threadpool(services.calendar_source.status, services.policy)
            checks["calendar"] = status.readiness()
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


# The OpenAPI document declares the bearer token as the operations' security (not as a header
# parameter): whatever the header holds — nothing, another scheme, a value too long to be a
# token — the answer is 401, never a 422 about the header's shape.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    bearerFormat="dbn_…",
    description="a token issued by `duban token create`",
)


def principal_of(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> Principal:
    if credentials is None:
        # [console, issue 16] a console session stands for a token (its CSRF token required
        # on unsafe requests).
        from api.console.deps import session_principal

        session = session_principal(request)
        if session is not None:
            return session
        raise Refused(401, "auth.required", "send Authorization: Bearer <token>", "authorization")
    principal = authenticate(services_of(request).engine, credentials.credentials)
    if principal is None:
        raise Refused(401, "auth.invalid", "unknown or revoked token", "authorization")
    return principal


PrincipalDep = Annotated[Principal, Depends(principal_of)]


def _error(status: int, rule: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"rule": rule, "message": message, "field": field}}
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "body"  # e.g. the body itself is missing


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        answer = _error(exc.status, exc.rule, exc.message, exc.field)
        if exc.status == 401:
            answer.headers["WWW-Authenticate"] = "Bearer"  # RFC 6750: how to authenticate
        return answer

    @app.exception_handler(ReferenceDataError)
    async def reference(_: Request, exc: ReferenceDataError) -> JSONResponse:
        status = 409 if exc.rule.endswith(".exists") else 422
        return _error(status, exc.rule, exc.message, exc.field)

    @app.exception_handler(DomainError)
    async def domain(_: Request, exc: DomainError) -> JSONResponse:
        """A rule of the domain refused the request (e.g. a credit code whose check character
        fails, from ``Enterprise``): 422 naming the field, 409 when it is about state, 403
        when it is about who acts (``api.services.refusal_status``)."""
        answer = domain_refusal(exc)
        return _error(answer.status, answer.rule, answer.message, answer.field)

    @app.exception_handler(RPCError)
    async def temporal_rpc(_: Request, exc: RPCError) -> JSONResponse:
        answer = temporal_unavailable(exc)
        return _error(answer.status, answer.rule, answer.message)

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def temporal_timeout(_: Request, exc: Exception) -> JSONResponse:
        answer = temporal_unavailable(exc)
        return _error(answer.status, answer.rule, answer.message)

    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sa.exc.InterfaceError)
    @app.exception_handler(sa.exc.TimeoutError)
    async def database_down(_: Request, exc: Exception) -> JSONResponse:
        """The database is out of reach: the driver's text (host, port) goes to the log only."""
        answer = database_unavailable(exc)
        return _error(answer.status, answer.rule, answer.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        # duban's own rules (api/text_input.py: input.text_invalid, instant.rfc3339,
        # time.out_of_range) keep their names; pydantic's are request.invalid.
        kind = str(first.get("type") or "")
        return JSONResponse(
            status_code=422,
            content={
                "error": {
                    "rule": kind if "." in kind else "request.invalid",
                    "message": first["message"],
                    "field": first["field"],
                },
                "detail": errors,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        answer = _error(exc.status_code, f"http.{exc.status_code}", str(exc.detail))
        if exc.status_code == 405:
            # Every method of the path, as RFC 9110 requires of a 405: the route that raised
            # knows only its own (one route per method), the OpenAPI document knows them all.
            raised = (exc.headers or {}).get("Allow", "")
            answer.headers["Allow"] = ", ".join(_methods_of(request, raised))
        return answer


def _methods_of(request: Request, raised: str) -> list[str]:
    methods = {method.strip() for method in raised.split(",") if method.strip()}
    app: FastAPI = request.app
    templates = getattr(app.state, "path_methods", None)
    if templates is None:
        templates = [
            (compile_path(path)[0], {method.upper() for method in operations})
            for path, operations in app.openapi()["paths"].items()
        ]
        app.state.path_methods = templates
    for pattern, declared in templates:
        if pattern.match(request.url.path):
            methods |= declared | ({"HEAD"} if "GET" in declared else set())
    return sorted(methods)


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413, whether it says its length
    (Content-Length) or not (Transfer-Encoding: chunked): the body is counted as it streams in,
    and the app sees it only once it is known to fit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only the disconnect is left to hear

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = _error(413, "request.too_large", f"bodies are limited to {self.limit} B")
        await answer(scope, receive, send)


def _parse_instant(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.upper())  # RFC 3339 allows t and z
    except ValueError:  # the pattern passed: a day the month does not have (2026-06-31)
        raise Refused(422, "instant.rfc3339", f"no such instant: {value}", name) from None
    if moment.tzinfo is None:
        raise Refused(422, "request.invalid", "an instant needs a time zone offset", name)
    try:  # years 1900..9998, as every instant the domain accepts (no overflow past them)
        utc_instant(moment, name)
    except DomainError as exc:
        raise domain_refusal(exc) from exc
    return moment


# ---------------------------------------------------------------------- hazards


def _evidence(items: list[Any]) -> tuple[Evidence, ...]:
    return tuple(Evidence(e.uri, e.sha256) for e in items)


def _listing_measures(body: Any) -> ListingMeasures | None:
    return None if body is None else ListingMeasures(**body.model_dump())


JSON = "application/json"

# A client's own name for one request: the same key with the same request gets the first
# answer again and changes nothing; with another request it is refused.
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="retry-safe: the same key and body return the first answer, applied once "
        "(visible ASCII, spaces inside only)",
    ),
]


@dataclass(frozen=True)
class Attempt:
    """One send of a keyed request. ``resent``: an earlier send of this same attempt may have
    reached its workflow (its answer was never stored)."""

    token_id: str
    key: str
    number: int
    resent: bool
    claimed_at: datetime  # when the key was first claimed (its registration's day)

    @property
    def update_id(self) -> str:
        digest = idempotency_digest(self.token_id, self.key)
        # The first attempt keeps the id of the first release with keyed commands, so a retry
        # across the upgrade still meets the update it repeats.
        return f"api-{digest[:40]}" + (f"-{self.number}" if self.number > 1 else "")


@dataclass(frozen=True)
class Claim:
    attempt: Attempt
    status_code: int
    answer: bytes | None  # the first answer, when there is one


def _request_fingerprint(path: str, body: Any) -> str:
    """What a key was first used for: the command's path (which case or enterprise, which
    action) and its body. POST /hazards keeps its body-only hash of the rows stored before."""
    return hashlib.sha256(f"POST {path}\n{body.model_dump_json()}".encode()).hexdigest()


async def _answered_once(
    services: Services,
    principal: Principal,
    key: str | None,
    fingerprint: str,
    status_code: int,
    send: Callable[[Attempt | None], Awaitable[Any]],
) -> Response:
    """Run a command once per Idempotency-Key.

    The key is claimed for this request before the command is sent (migration 0009), so a
    request with another body under it is refused even while the first is in flight or its
    answer was lost. A retry after the first answer is that answer, byte for byte; a retry
    whose first answer was lost is sent again as the same attempt — the same Temporal update
    id — which the workflow answers from its first run. A refusal is not kept as the answer:
    it changed nothing, and the next request under the key is a new attempt."""
    attempt = None
    if key:
        claim = await run_in_threadpool(_claim, services, principal, key, fingerprint)
        if claim.answer is not None:
            return Response(claim.answer, status_code=claim.status_code, media_type=JSON)
        attempt = claim.attempt
    try:
        result = await send(attempt)
    except Refused as refusal:
        if attempt is not None and refusal.status < 500:
            await run_in_threadpool(_settle, services, principal, attempt, refusal.status, None)
        raise
    # Serialised once: the first answer and every retry's are the same bytes.
    answer = bytes(JSONResponse(jsonable_encoder(result)).body).decode()
    if attempt is not None:
        await run_in_threadpool(_settle, services, principal, attempt, status_code, answer)
    return Response(answer, status_code=status_code, media_type=JSON)


def _hazard_routes(api: APIRouter) -> None:
    @api.post("/hazards", status_code=201, response_model=RegisteredOut, tags=["hazards"])
    async def register_hazard(
        body: HazardIn,
        services: ServicesDep,
        principal: PrincipalDep,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        """登记隐患: register a hazard; its case starts at once. ``Idempotency-Key`` makes a
        retried POST return the first answer, byte for byte, and never start a second case."""
        payload = body.model_dump(mode="python")
        return await _answered_once(
            services,
            principal,
            idempotency_key,
            hashlib.sha256(body.model_dump_json().encode()).hexdigest(),
            201,
            lambda attempt: _registered(services, principal, payload, idempotency_key, attempt),
        )

    @api.get("/hazards", tags=["hazards"])
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
    ) -> dict[str, Any]:
        """The case list (read model): filter by grid subtree, status, level, class, listing,
        overdue (逾期 now: the hazard's rectification deadline, ``rectification_deadline``, has
        passed unrectified — escalated cases included — since ``overdue_since``, for
        ``days_overdue`` calendar days in the policy's time zone), enterprise; sorted by
        deadline."""
        return services.list_hazards(
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

    @api.get("/hazards/{hazard_id}", tags=["hazards"])
    async def get_hazard(
        hazard_id: HazardId, services: ServicesDep, principal: PrincipalDep
    ) -> Any:
        """The live state of the case (queried from its workflow); when it is overdue (逾期),
        since when (``overdue_since``) and for how many days (``days_overdue``)."""
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
            hazard_id: HazardId,
            body: model,  # type: ignore[valid-type]  # FastAPI reads the model at runtime
            services: ServicesDep,
            principal: PrincipalDep,
            idempotency_key: IdempotencyKey = None,
        ) -> Response:
            # Who may act is judged before a stored answer is given back.
            services.authorise_act(principal, hazard_id, roles)
            return await _answered_once(
                services,
                principal,
                idempotency_key,
                _request_fingerprint(f"/hazards/{hazard_id}/{path}", body),
                200,
                lambda attempt: services.act(
                    principal,
                    hazard_id,
                    update,
                    lambda actor: build(actor, body),
                    update_id=attempt.update_id if attempt else None,
                    resent=attempt.resent if attempt else False,
                ),
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
            actor=a,
            level=ListingLevel(b.level),
            measures=b.measures,
            deadline=b.deadline,
            listing_measures=_listing_measures(b.listing_measures),
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
    async def history(hazard_id: HazardId, services: ServicesDep, principal: PrincipalDep) -> Any:
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
        hazard_id: HazardId,
        services: ServicesDep,
        principal: PrincipalDep,
        at: Annotated[
            str,
            Query(
                description=f"an instant: {INSTANT_RULE}",
                max_length=64,
                pattern=RFC3339_PATTERN,
                json_schema_extra={"format": "date-time"},  # a day the month has
            ),
        ],
    ) -> Any:
        """The case's state as duban knew it at ``at``, folded from stored events only."""
        instant = _parse_instant(at, "at")
        facts = services.require_read(principal, hazard_id)
        from activities.audit.replay import replay_case

        replay = replay_case(services.store, facts.hazard_id, as_of=instant)
        return jsonable(replay.to_data())


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


def _claim(services: Services, principal: Principal, key: str, fingerprint: str) -> Claim:
    """Claim ``key`` for the request ``fingerprint``, or find what it holds: an answer to give
    back, a send to repeat (in flight, or its answer lost), or a refusal to move past."""
    with services.engine.begin() as conn:
        inserted = conn.execute(
            text(
                "INSERT INTO api_idempotency (token_id, key, request_hash)"
                " VALUES (:t, :k, :h) ON CONFLICT DO NOTHING RETURNING attempt, created_at"
            ),
            {"t": principal.token_id, "k": key, "h": fingerprint},
        ).first()
        if inserted is not None:
            return Claim(Attempt(principal.token_id, key, inserted[0], False, inserted[1]), 0, None)
        # The row lock orders concurrent retries of one key.
        request_hash, status_code, response, attempt, claimed_at = conn.execute(
            text(
                "SELECT request_hash, status_code, response, attempt, created_at"
                " FROM api_idempotency WHERE token_id = :t AND key = :k FOR UPDATE"
            ),
            {"t": principal.token_id, "k": key},
        ).one()
        refused = status_code is not None and response is None
        if refused:
            # The last send was refused and changed nothing: this request is a new attempt,
            # with an update id Temporal has not answered yet.
            attempt = conn.execute(
                text(
                    "UPDATE api_idempotency SET request_hash = :h, status_code = NULL,"
                    " attempt = attempt + 1 WHERE token_id = :t AND key = :k RETURNING attempt"
                ),
                {"t": principal.token_id, "k": key, "h": fingerprint},
            ).scalar_one()
            return Claim(Attempt(principal.token_id, key, attempt, False, claimed_at), 0, None)
    if request_hash != fingerprint:
        raise Refused(
            422,
            "idempotency.key_reused",
            "this Idempotency-Key was used with another request (path or body)",
            "idempotency-key",
        )
    if response is None:
        return Claim(Attempt(principal.token_id, key, attempt, True, claimed_at), 0, None)
    # The answer is kept as the JSON text it was sent as (a jsonb string: jsonb would reorder
    # an object's keys); an object is a row from before, answered as well as it can be.
    answer = response.encode() if isinstance(response, str) else json.dumps(response).encode()
    return Claim(Attempt(principal.token_id, key, attempt, True, claimed_at), status_code, answer)


def _settle(
    services: Services,
    principal: Principal,
    attempt: Attempt,
    status_code: int,
    answer: str | None,
) -> None:
    """Keep the answer of ``attempt`` (``None``: it was refused, and changed nothing)."""
    with services.engine.begin() as conn:
        kept = conn.execute(
            text(
                "UPDATE api_idempotency SET status_code = :s, response = CAST(:r AS jsonb)"
                " WHERE token_id = :t AND key = :k AND attempt = :a AND response IS NULL"
            ),
            {
                "t": principal.token_id,
                "k": attempt.key,
                "a": attempt.number,
                "s": status_code,
                "r": None if answer is None else json.dumps(answer),
            },
        ).rowcount
    if kept == 0 and answer is not None:
        # A send of an attempt the key has moved past (it was refused, then re-claimed) was
        # applied after all: both requests reached the record. Say so; an operator looks.
        log.warning(
            "idempotency.answer_not_kept",
            token_id=principal.token_id,
            attempt=attempt.number,
            status_code=status_code,
        )


# ---------------------------------------------------------------------- grid, enterprises


def _reference_routes(api: APIRouter) -> None:
    @api.post("/grid-units", status_code=201, response_model=GridUnitOut, tags=["grid"])
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

    @api.get("/grid-units", response_model=list[GridUnitOut], tags=["grid"])
    def grid_units(
        services: ServicesDep, principal: PrincipalDep, parent: GridCodeQuery = None
    ) -> list[dict[str, Any]]:
        """Every grid unit, or the units directly under ``parent``."""
        del principal  # any authenticated user may read the grid
        require_grid_unit_filter(services.reference, parent, "parent")
        return [_unit(u) for u in services.reference.grid_units(parent)]

    @api.get("/grid-units/{code}", response_model=GridUnitDetailOut, tags=["grid"])
    async def grid_unit(code: GridCodePath, services: ServicesDep, principal: PrincipalDep) -> Any:
        del principal
        unit = services.reference.grid_unit(code)
        if unit is None:
            raise not_found(f"grid unit {code}")
        return {**_unit(unit), "path": [_unit(u) for u in services.reference.path_to_root(code)]}

    @api.post("/enterprises", status_code=201, response_model=EnterpriseOut, tags=["enterprises"])
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

    @api.get("/enterprises", response_model=list[EnterpriseRowOut], tags=["enterprises"])
    def enterprises(
        services: ServicesDep,
        principal: PrincipalDep,
        response: Response,
        grid_unit: GridCodeQuery = None,
        rating: Annotated[Literal["A", "B", "C", "D"] | None, Query()] = None,
        blacklisted: Annotated[bool | None, Query(description="on the list now")] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[dict[str, Any]]:
        """Enterprises by credit code (read model), of ``grid_unit``'s whole subtree, with
        their cases, credit state and rating; filters ``rating`` (A–D) and ``blacklisted``.
        Every enterprise has a rating: one with no credit record has the policy's grade for
        nothing recorded (the scheme's base points), and the filter counts it so.
        An inspector's or a supervisor's list is their own subtree, an enterprise's is itself.
        ``X-Total-Count``: how many match, all pages together."""
        reference = services.reference
        if grid_unit is not None and reference.grid_unit(grid_unit) is None:
            raise Refused(404, "not_found", f"grid unit {grid_unit} not found", "grid_unit")
        own: str | None = None
        if principal.role == "enterprise":
            own = principal.scope or ""
        elif principal.role in ("inspector", "supervisor"):
            scope = principal.scope or ""
            if grid_unit is None:
                grid_unit = scope
            elif not reference.is_within(grid_unit, scope):
                raise forbidden(f"grid unit {grid_unit} is outside your grid")
        page = list_enterprises(
            services.engine,
            now=services.clock(),
            grid_unit=grid_unit,
            rating=rating,
            blacklisted=blacklisted,
            credit_code=own,
            limit=limit,
            offset=offset,
            unrecorded=unrecorded_rating(services.policy),
        )
        response.headers["X-Total-Count"] = str(page.total)
        return [_enterprise_row(item) for item in page.items]

    @api.get("/enterprises/{credit_code}", response_model=EnterpriseOut, tags=["enterprises"])
    async def enterprise(
        credit_code: CreditCode, services: ServicesDep, principal: PrincipalDep
    ) -> Any:
        code = credit_code.upper()
        services.require_enterprise_access(principal, code)
        found = services.reference.enterprise(code)
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


def _enterprise_row(item: EnterpriseSummary) -> dict[str, Any]:
    if item.blacklisted:
        state = "blacklisted"
    elif item.open_proceeding_no is not None:
        state = "proceeding_open"
    elif item.credit_opened_at is not None:
        state = "in_good_standing"
    else:
        state = "no_record"
    return {
        "credit_code": item.credit_code,
        "name": item.enterprise_name,
        "industry": item.industry,
        "grid_code": item.grid_code,
        "grid_path": list(item.grid_path),
        "cases_registered": item.cases_registered,
        "open_cases": item.open_cases,
        "overdue_cases": item.overdue_cases,
        "credit_state": state,
        "rating": item.rating,
        "rating_points": item.rating_points,
        "blacklisted": item.blacklisted,
        "blacklisted_until": item.blacklisted_until,
        "open_proceeding_no": item.open_proceeding_no,
    }


# ---------------------------------------------------------------------- credit


def _credit_out(
    enterprise: Enterprise, item: EnterpriseItem | None, unrecorded: tuple[str, int]
) -> CreditOut:
    if item is None:  # no case and no credit event has reached the read model yet
        grade, points = unrecorded  # every enterprise has a grade: nothing recorded against it
        return CreditOut(
            credit_code=enterprise.credit_code,
            enterprise_name=enterprise.name,
            industry=enterprise.industry,
            grid_code=enterprise.grid_code,
            record_opened=False,
            rating=grade,
            rating_points=points,
            rating_now=grade,
            whitelist_eligible=None,
            blacklisted=False,
            blacklisted_until=None,
            early_removal_from=None,
            open_proceeding_no=None,
            objection_until=None,
            cases_registered=0,
            open_cases=0,
            overdue_cases=0,
            entries=[],
        )
    return CreditOut(
        credit_code=item.credit_code,
        enterprise_name=item.enterprise_name,
        industry=item.industry,
        grid_code=item.grid_code,
        record_opened=item.credit_state is not None,
        rating=item.rating,
        rating_points=item.rating_points,
        rating_now=item.rating_now,
        whitelist_eligible=item.whitelist_eligible,
        blacklisted=item.blacklisted,
        blacklisted_until=item.blacklisted_until,
        early_removal_from=item.early_removal_from,
        open_proceeding_no=item.open_proceeding_no,
        objection_until=item.objection_until,
        cases_registered=item.cases_registered,
        open_cases=item.open_cases,
        overdue_cases=item.overdue_cases,
        entries=[
            CreditEntryOut(case_id=e.case_id, kind=e.kind.value, occurred_at=e.occurred_at)
            for e in item.credit_entries
        ],
    )


def _record_out(view: CreditView) -> CreditRecordOut:
    return CreditRecordOut.model_validate(
        {
            "credit_code": view.credit_code,
            "enterprise_name": view.enterprise_name,
            "grid_code": view.grid_code,
            "version": view.version,
            "rating": view.rating,
            "points": view.points,
            "whitelist_eligible": view.whitelist_eligible,
            "is_blacklisted": view.is_blacklisted,
            "proceeding": view.proceeding,
            "blacklist": view.blacklist,
            "entries": view.recorded,
            "pending_timers": view.pending_timers,
        }
    )


def _credit_routes(api: APIRouter) -> None:
    @api.get("/enterprises/{credit_code}/credit", response_model=CreditOut, tags=["credit"])
    async def credit(
        credit_code: CreditCode, services: ServicesDep, principal: PrincipalDep
    ) -> CreditOut:
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
        return _credit_out(enterprise, item, unrecorded_rating(services.policy))

    def command(
        path: str,
        update: str,
        roles: tuple[str, ...],
        model: type,
        build: Callable[..., CreditCommand],
        summary: str,
        *,
        open_record: bool = False,
    ) -> None:
        async def endpoint(
            credit_code: CreditCode,
            body: model,  # type: ignore[valid-type]  # FastAPI reads the model at runtime
            services: ServicesDep,
            principal: PrincipalDep,
            idempotency_key: IdempotencyKey = None,
        ) -> Response:
            code = credit_code.upper()
            services.require_enterprise_access(principal, code, roles)
            command = build(actor_of(principal, services.reference), body)

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
                return _record_out(view)

            return await _answered_once(
                services,
                principal,
                idempotency_key,
                _request_fingerprint(f"/enterprises/{code}/credit/{path}", body),
                200,
                send,
            )

        endpoint.__name__ = update
        api.post(
            f"/enterprises/{{credit_code}}/credit/{path}",
            response_model=CreditRecordOut,
            tags=["credit"],
            summary=summary,
        )(endpoint)

    command(
        "proceedings",
        "open_proceeding",
        ("supervisor",),
        ProceedingIn,
        lambda a, b: OpenProceeding(actor=a, ground=b.ground, basis=b.basis),
        "立案告知: open a serious-dishonesty proceeding (starts the credit record if needed)",
        open_record=True,
    )
    command(
        "objection",
        "file_objection",
        ("enterprise",),
        ObjectionIn,
        lambda a, b: FileObjection(actor=a, statement=b.statement),
        "陈述申辩/异议: the enterprise's objection within the window",
    )
    command(
        "decision",
        "decide_listing",
        ("supervisor",),
        ListingDecisionIn,
        lambda a, b: DecideListing(actor=a, list_enterprise=b.list_enterprise, basis=b.basis),
        "列入或不列入严重失信主体名单: a supervisor's decision after the objection window",
    )
    command(
        "early-removal",
        "apply_early_removal",
        ("enterprise",),
        EarlyRemovalIn,
        lambda a, b: ApplyEarlyRemoval(actor=a, statement=b.statement),
        "信用修复: the enterprise applies for early removal from the list",
    )
    command(
        "early-removal/decision",
        "decide_early_removal",
        ("supervisor",),
        EarlyRemovalDecisionIn,
        lambda a, b: DecideEarlyRemoval(actor=a, approve=b.approve, reason=b.reason),
        "提前移出: approve or reject the application",
    )
    command(
        "early-removal/revocation",
        "revoke_early_removal",
        ("supervisor",),
        RevocationIn,
        lambda a, b: RevokeEarlyRemoval(actor=a, reason=b.reason),
        "撤销信用修复: revoke an early removal; the listing and its expiry return",
    )

    @api.get("/blacklist", response_model=RegisterPageOut, tags=["credit"])
    def blacklist(
        services: ServicesDep,
        status: Annotated[Literal["listed", "expired", "removed_early"] | None, Query()] = None,
        grid_unit: GridCodeQuery = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Any:
        """The public register of serious-dishonesty entries (严重失信主体名单); no token."""
        require_grid_unit_filter(services.reference, grid_unit, "grid_unit")
        page = list_blacklist(
            services.engine, status=status, grid_unit=grid_unit, limit=limit, offset=offset
        )
        return {
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
            "items": list(page.items),
        }

    @api.get("/public/listings", response_model=ListingPageOut, tags=["public"])
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
    ) -> Any:
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
        return {
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
            "items": list(page.items),
        }


# ---------------------------------------------------------------------- reports

ReportKind = Literal["monthly", "quarterly", "yearly"]
# The pattern is stated for clients and checked by the route, which names the rule
# (report.period.invalid) and checks the period against the kind.
ReportPeriod = Annotated[
    str,
    Path(
        max_length=7,
        json_schema_extra={"pattern": PERIOD_PATTERN},
        description="2026-10, 2026-Q3 or 2026 (the years 1900..9998)",
    ),
]


def _require_unit_figures(
    services: Services, principal: Principal, kind: str, unit_code: str, period: str
) -> None:
    """Reports and statistics: a valid period, for the supervising units in scope."""
    from workflows.reports import check_period

    try:
        if not re.match(PERIOD_PATTERN, period):
            raise ValueError(f"period: {period!r} is not a month, quarter or year of 1900..9998")
        check_period(kind, period)
    except ValueError as exc:
        raise Refused(422, "report.period.invalid", str(exc), "period") from exc
    if principal.role == "enterprise":
        raise forbidden("reports and statistics are for the supervising units")
    if principal.role in ("inspector", "supervisor") and not services.reference.is_within(
        unit_code, principal.scope or ""
    ):
        raise forbidden(f"grid unit {unit_code} is outside your grid")


def _report_routes(api: APIRouter) -> None:
    @api.get(
        "/statistics/{kind}/{unit_code}/{period}", response_model=StatisticsOut, tags=["reports"]
    )
    def statistics(
        kind: ReportKind,
        unit_code: GridCodePath,
        period: ReportPeriod,
        services: ServicesDep,
        principal: PrincipalDep,
    ) -> Any:
        """统计: the unit's subtree's figures for a month, quarter or year, computed now from
        the read models in the policy's time zone — a period that has ended shows exactly
        what its report holds; a running one, the figures so far."""
        _require_unit_figures(services, principal, kind, unit_code, period)
        if services.reference.grid_unit(unit_code) is None:
            raise Refused(404, "not_found", f"grid unit {unit_code} not found", "unit_code")
        try:
            span = Period.of_report(kind, period)
        except ValueError as exc:  # e.g. year 0000: a label of the right shape, no such period
            raise Refused(422, "report.period.invalid", str(exc), "period") from exc
        policy = services.policy
        now = services.clock()
        figures = unit_statistics(
            services.engine, unit_code, span, now=now, time_zone=policy.time_zone
        )
        return {
            "kind": kind,
            "unit_code": unit_code,
            "period": period,
            "as_of": now,
            "period_ended": now >= figures.end,
            "content": report_content(kind, period, figures, policy),
        }

    @api.get("/reports/{kind}/{unit_code}/{period}", tags=["reports"])
    async def report(
        kind: ReportKind,
        unit_code: GridCodePath,
        period: ReportPeriod,
        services: ServicesDep,
        principal: PrincipalDep,
    ) -> Any:
        """A monthly risk-analysis or quarterly statistics report, as stored (with its hash)."""
        from workflows.reports import report_key

        _require_unit_figures(services, principal, kind, unit_code, period)
        events = services.store.read_stream(report_key(kind, unit_code, period))
        if not events:
            raise not_found(f"{kind} report of {unit_code} for {period}")
        return events[0].data
