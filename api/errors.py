"""The one place that turns a refusal into an answer: ``{"error": {"rule", "message",
"field"}}`` with its status, for duban's own refusals (``Refused``), the domain's rules, the
reference data's, Temporal or PostgreSQL not answering, a request FastAPI could not read, and
HTTP's own (an unknown path, a method the path does not have).

A programming error stays a 500 (and is logged): only refusals whose meaning is known become
4xx or 503 — no catch-all hides a bug.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from activities.reference_data import ReferenceDataError
from api.schemas import ErrorOut
from api.services.refusals import (
    Refused,
    database_unavailable,
    domain_refusal,
    temporal_unavailable,
)
from domain.errors import DomainError

# Every refusal an operation can meet, in the one error shape, for the OpenAPI document. 400
# is the HTTP server's own (api/http_server.py: a request head HTTP cannot read never reaches
# an operation, but any operation's request can be one).
REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": description}
    for code, description in (
        (400, "the request could not be read as HTTP (a header HTTP does not allow)"),
        (401, "no bearer token, or an unknown or revoked one"),
        (403, "outside the token's role or scope, or a rule about who acts"),
        (404, "what the path or a filter names does not exist"),
        (409, "the state or time of the case or record forbids it"),
        (410, "a file the case names is missing from the file store"),
        (413, "a body over 256 KiB (an upload: a file over evidence_max_bytes)"),
        (415, "an upload not sent as multipart/form-data"),
        (422, "a field breaks a rule: the error names the field and the rule"),
        (429, "too many requests from one address (public reports); try later"),
        (503, "the database or Temporal did not answer; ask again shortly"),
    )
}
# Where FastAPI says a bad value was; the caller knows the field by its plain name.
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def error_response(status: int, rule: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"rule": rule, "message": message, "field": field}}
    )


def refusal_response(refusal: Refused) -> JSONResponse:
    return error_response(refusal.status, refusal.rule, refusal.message, refusal.field)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "body"  # e.g. the body itself is missing


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        answer = refusal_response(exc)
        if exc.status == 401:
            answer.headers["WWW-Authenticate"] = "Bearer"  # RFC 6750: how to authenticate
        return answer

    @app.exception_handler(ReferenceDataError)
    async def reference(_: Request, exc: ReferenceDataError) -> JSONResponse:
        status = 409 if exc.rule.endswith(".exists") else 422
        return error_response(status, exc.rule, exc.message, exc.field)

    @app.exception_handler(DomainError)
    async def domain(_: Request, exc: DomainError) -> JSONResponse:
        """A rule of the domain refused the request (e.g. a credit code whose check character
        fails, from ``Enterprise``): 422 naming the field, 409 when it is about state, 403
        when it is about who acts (``api.services.refusals.refusal_status``)."""
        return refusal_response(domain_refusal(exc))

    @app.exception_handler(RPCError)
    async def temporal_rpc(_: Request, exc: RPCError) -> JSONResponse:
        return refusal_response(temporal_unavailable(exc))

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def temporal_timeout(_: Request, exc: Exception) -> JSONResponse:
        return refusal_response(temporal_unavailable(exc))

    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sa.exc.InterfaceError)
    @app.exception_handler(sa.exc.TimeoutError)
    async def database_down(_: Request, exc: Exception) -> JSONResponse:
        """The database is out of reach: the driver's text (host, port) goes to the log only."""
        return refusal_response(database_unavailable(exc))

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
        answer = error_response(exc.status_code, f"http.{exc.status_code}", str(exc.detail))
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
