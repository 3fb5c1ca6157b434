"""Puts the console into the FastAPI app: its page groups, static files, security headers and
``/`` → ``/console/``.

Page groups are the modules of ``api/console/pages/``, found by name and included in order,
each with a ``router`` (a ``ConsoleRouter``): a new group is a new module, and no other file
changes.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activities.settings import Settings
from api.console import pages
from api.console.config import ConsoleConfig
from api.console.registry import PUBLIC, ConsoleRouter
from api.console.static import LONG_CACHE, STATIC_PREFIX, StaticAssets

# No page loads anything from another host, runs inline script or style, or is framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def page_routers() -> list[ConsoleRouter]:
    routers = []
    for module in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{pages.__name__}.{module.name}")
        routers.append(loaded.router)
    return routers


class ConsoleHeaders:
    """Adds the security headers to every answer under ``/console`` and to ``/``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path == "/console" or path.startswith("/console/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


static_router = ConsoleRouter("static")


@static_router.page(STATIC_PREFIX + "{name:path}", roles=PUBLIC, plain=True)
def static_file(name: str, request: Request) -> Response:
    """A file of the package's static folder; cached for a year when asked for by its version."""
    assets: StaticAssets = request.app.state.console_static
    found = assets.files.get(name)
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    etag = f'"{found.version}"'
    cache = LONG_CACHE if request.query_params.get("v") == found.version else "no-cache"
    headers = {"Cache-Control": cache, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def install_console(app: FastAPI, settings: Settings | None) -> None:
    """The console's routes, settings and headers on ``app`` (one call in ``create_app``)."""
    app.state.console_config = ConsoleConfig.of(settings)
    app.state.settings = settings  # the auditor's pages: checkpoints and the dossier's key
    app.state.console_static = StaticAssets()
    app.include_router(static_router)
    for router in page_routers():
        app.include_router(router)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    app.add_middleware(ConsoleHeaders)
