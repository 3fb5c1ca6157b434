"""duban's HTTP API (FastAPI, under /api/v1, OpenAPI at /docs): the app factory.

Thin routes (``api/routes/``, one module per resource): authenticate, check the body, path and
query (pydantic, with limits), call ``Services``, and let the exception handlers of
``api/errors.py`` — the one place that does it — turn any refusal into ``{"error": {"rule",
"message", "field"}}``. Lists answer one page shape (``api.schemas.Page``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from activities.settings import Settings
from api.body_limit import MAX_BODY_BYTES, BodyLimit
from api.errors import REFUSALS, install_error_handlers
from api.json_body import JsonBodyCheck
from api.routes import (
    audit,
    case_actions,
    credit,
    documents,
    enterprises,
    files,
    grid,
    hazards,
    inbox,
    ledger,
    probes,
    public,
    public_reports,
    reports,
)
from api.services import Services
from api.tracing import API_TELEMETRY


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    *,
    build_services: Callable[[Settings], Awaitable[Services]] | None = None,
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
    install_error_handlers(app)
    # The last added runs first: the size is known before the JSON is read.
    app.add_middleware(JsonBodyCheck)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    api = APIRouter(prefix="/api/v1")
    for resource in (
        hazards,
        case_actions,
        files,
        audit,
        documents,
        grid,
        enterprises,
        credit,
        public,
        public_reports,
        reports,
        inbox,
        ledger,
    ):
        api.include_router(resource.router)
    app.include_router(api)
    app.include_router(probes.router)
    app.include_router(documents.page_router)  # /v/<code>: the QR code's verification page
    # The console's pages, static files and headers; `/` → /console/ (api/console).
    from api.console.install import install_console

    install_console(app, settings)
    return app
