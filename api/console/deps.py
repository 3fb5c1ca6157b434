"""What a console route depends on: the services, the settings, the signed-in person, the
CSRF check and the role check (declared once per route by ``ConsoleRouter.page``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from api.auth import Principal, with_article
from api.body_limit import UploadTooLarge, too_large
from api.console.config import ConsoleConfig
from api.console.sessions import (
    ANONYMOUS_CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    Viewer,
    resolve_session,
    sent_csrf_header,
    tokens_match,
)
from api.services import (
    Services,
)
from api.services.refusals import (
    Refused,
    forbidden,
)

_UNRESOLVED = object()


class NotSignedIn(Exception):
    """A page for signed-in people, asked for without a session (or with one that ended)."""


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def config_of(request: Request) -> ConsoleConfig:
    config: ConsoleConfig = request.app.state.console_config
    return config


def current_viewer(request: Request) -> Viewer | None:
    """The person of the request's session, resolved once per request (a def: FastAPI runs it
    on a worker thread, the database is not asked on the event loop)."""
    cached: Viewer | object | None = getattr(request.state, "viewer", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cached if isinstance(cached, Viewer) else None
    session_id = request.cookies.get(SESSION_COOKIE)
    viewer = None
    if session_id:
        viewer = resolve_session(
            services_of(request).engine, session_id, config_of(request), request
        )
    request.state.viewer = viewer
    return viewer


MaybeViewer = Annotated[Viewer | None, Depends(current_viewer)]


def signed_in(viewer: MaybeViewer) -> Viewer:
    if viewer is None:
        raise NotSignedIn
    return viewer


SignedIn = Annotated[Viewer, Depends(signed_in)]
ServicesDep = Annotated[Services, Depends(services_of)]
ConfigDep = Annotated[ConsoleConfig, Depends(config_of)]


def principal_of_viewer(viewer: SignedIn) -> Principal:
    return viewer.principal


ViewerPrincipal = Annotated[Principal, Depends(principal_of_viewer)]


async def csrf_protect(request: Request, viewer: MaybeViewer) -> None:
    """Every unsafe request to the console sends the page's synchronizer token back (form
    field or header); SameSite=Lax alone would let a page of a sibling site post a form."""
    if request.method in SAFE_METHODS:
        return
    sent = sent_csrf_header(request)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        try:
            value = (await request.form()).get(CSRF_FIELD)
        except UploadTooLarge as exc:  # a form with files, past the evidence limit
            raise too_large(exc.limit) from None
        sent = value if isinstance(value, str) else None
    expected = viewer.csrf_token if viewer else request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    if not tokens_match(sent, expected):
        raise Refused(
            403, "csrf.invalid", "the form's anti-forgery token is missing or stale", CSRF_FIELD
        )


def require_roles(roles: tuple[str, ...] | None) -> Callable[[Viewer | None], None]:
    def check(viewer: MaybeViewer) -> None:
        if roles is None:
            return
        if viewer is None:
            raise NotSignedIn
        if viewer.role not in roles:
            raise forbidden(f"{with_article(viewer.role)} may not open this page")

    return check


def session_principal(request: Request) -> Principal | None:
    """The principal of the request's console session, for the API's routes: a person signed in
    to the console may call ``/api/v1`` from its pages without a token. An unsafe request made
    this way must carry the session's CSRF token in ``X-CSRF-Token`` (a cookie is sent by the
    browser whoever made the page that asks). None without an open session."""
    if (
        not request.cookies.get(SESSION_COOKIE)
        or getattr(request.app.state, "console_config", None) is None
    ):
        return None
    viewer = current_viewer(request)
    if viewer is None:
        return None
    if request.method not in SAFE_METHODS and not tokens_match(
        sent_csrf_header(request), viewer.csrf_token
    ):
        raise Refused(
            403, "csrf.invalid", f"send the session's token in {CSRF_HEADER}", CSRF_HEADER
        )
    return viewer.principal
