"""Pages from templates: the layout's facts (who, which language, the CSRF token, the
navigation), the time-zone filter, flash messages and the error page.

Templates live in the package (``api/console/templates/<group>/…``), autoescaped; an undefined
name is an error, not an empty string. Times are shown in the policy's time zone by one filter,
``instant``.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from api.console.deps import config_of, current_viewer, services_of
from api.console.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    has_message,
    translate_or,
    translator,
)
from api.console.registry import navigation_for
from api.console.sessions import ANONYMOUS_CSRF_COOKIE, LANGUAGE_COOKIE, Viewer, set_cookie
from api.services.refusals import (
    Refused,
)

FLASH_COOKIE = "duban_flash"

ENVIRONMENT = Environment(
    loader=PackageLoader("api.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@pass_context
def instant(context: Context, value: Any, with_seconds: bool = False) -> str:
    """An instant in the policy's time zone: ``2026-12-08 14:03`` (the zone is named once in
    the page's footer)."""
    moment = _moment(value)
    if moment is None:
        return "—"
    zone: ZoneInfo = context["zone"]
    return moment.astimezone(zone).strftime(
        "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    )


ENVIRONMENT.filters["instant"] = instant


def language_of(request: Request, viewer: Viewer | None) -> str:
    if viewer is not None and viewer.language in LANGUAGES:
        return viewer.language
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def set_flash(response: Response, key: str, **values: str) -> None:
    """A message shown once on the next page (a catalogue key and plain values; never a
    secret: a generated password is shown on the answer itself, not carried in a cookie)."""
    payload = json.dumps({"k": key, "v": values}, ensure_ascii=False).encode()
    response.set_cookie(
        FLASH_COOKIE,
        base64.urlsafe_b64encode(payload).decode(),
        max_age=60,
        path="/console",
        httponly=True,
        samesite="lax",
    )


def _flash(request: Request) -> tuple[str, dict[str, str]] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        key, values = data["k"], data["v"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(key, str) or not has_message(key) or not isinstance(values, dict):
        return None
    return key, {str(k): str(v) for k, v in values.items()}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """The page ``template`` for this request, with the layout's facts. The viewer must have
    been resolved (every console route depends on it). It reads the database (the name of the
    viewer's scope): call it from a ``def`` route or ``run_in_threadpool``."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    config = config_of(request)
    language = language_of(request, viewer)
    new_anonymous_token = None
    if viewer is not None:
        csrf = viewer.csrf_token
    else:
        csrf = request.cookies.get(ANONYMOUS_CSRF_COOKIE) or ""
        if not 20 <= len(csrf) <= 100:
            csrf = new_anonymous_token = secrets.token_urlsafe(32)
    context = dict(context or {})
    # A notice about this very answer (a form's outcome), or one carried from the last answer.
    notice = context.pop("notice", None)
    flash = _flash(request)
    services = services_of(request)
    page = ENVIRONMENT.get_template(template).render(
        {
            "request": request,
            "viewer": viewer,
            "lang": language,
            "t": translator(language),
            "csrf_token": csrf,
            "nav": navigation_for(viewer.role if viewer else None),
            "current_path": request.url.path,
            "static": request.app.state.console_static.url,
            "zone": services.policy.tz,
            "flash": notice or flash,
            "scope_label": _scope_label(services, viewer),
            "refusal_text": lambda refusal: refusal_words(language, refusal),
            **context,
        }
    )
    response = HTMLResponse(page, status_code=status)
    # Pages hold people's data: never kept by a shared cache or the browser's back button.
    response.headers["Cache-Control"] = "no-store"
    if new_anonymous_token is not None:
        set_cookie(
            response, request, config, ANONYMOUS_CSRF_COOKIE, new_anonymous_token,
            max_age=None, same_site="strict",
        )  # fmt: skip
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/console")
    return response


def _scope_label(services: Any, viewer: Viewer | None) -> str | None:
    """The viewer's scope as people know it: the grid unit's or the enterprise's name."""
    if viewer is None or not viewer.scope:
        return None
    unit = services.reference.grid_unit(viewer.scope)
    if unit is not None:
        return str(unit.name)
    enterprise = services.reference.enterprise(viewer.scope)
    return str(enterprise.name) if enterprise is not None else viewer.scope


def refusal_words(language: str, refusal: Refused) -> str:
    """A refusal in the page's language when the catalogue has its rule, else the API's own
    message (the rule and field are always shown beside it)."""
    return translate_or(language, f"rule.{refusal.rule}", refusal.message)


async def render_error(request: Request, refusal: Refused) -> HTMLResponse:
    """The error page: status, the refusal's words, its rule and field."""
    if getattr(request.state, "viewer", None) is None:
        await run_in_threadpool(current_viewer, request)
    return await run_in_threadpool(
        render, request, "errors/error.html", {"refusal": refusal}, status=refusal.status
    )
