"""Refusals on console pages are pages: the same status, rule, message and field as the API's
JSON answer (``api.services.Refused`` and the domain's rules), shown to a person.

``ConsoleRoute`` catches them around each console route (dependencies included), so the API's
JSON handlers stay as they are for ``/api/v1``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from activities.reference_data import ReferenceDataError
from api.services.refusals import (
    Refused,
    database_unavailable,
    domain_refusal,
    temporal_unavailable,
)
from domain.errors import DomainError

SIGN_IN_PATH = "/console/sign-in"


def refusal_of(exc: Exception) -> Refused | None:
    """The API's answer to ``exc``, if it is a refusal it knows (422/409/403/404…)."""
    if isinstance(exc, Refused):
        return exc
    if isinstance(exc, ReferenceDataError):
        return Refused(
            409 if exc.rule.endswith(".exists") else 422, exc.rule, exc.message, exc.field
        )
    if isinstance(exc, DomainError):
        return domain_refusal(exc)
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError):
        return database_unavailable(exc)
    if isinstance(exc, RPCError | WorkflowUpdateRPCTimeoutOrCancelledError):
        return temporal_unavailable(exc)
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        location = [
            str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body")
        ]
        return Refused(
            422,
            "request.invalid",
            str(first.get("msg", "invalid request")),
            ".".join(location) or None,
        )
    return None


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{SIGN_IN_PATH}?next={quote(target, safe='/')}", status_code=303)


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            from api.console.deps import NotSignedIn
            from api.console.render import render_error

            try:
                return await handler(request)
            except NotSignedIn:
                if request.method in ("GET", "HEAD"):
                    return sign_in_redirect(request)
                return await render_error(
                    request, Refused(401, "auth.required", "sign in first", None)
                )
            except Exception as exc:
                known = refusal_of(exc)
                if known is None:
                    raise  # a programming error stays a 500
                return await render_error(request, known)

        return console_handler
