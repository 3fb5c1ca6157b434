"""Signing in and out, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.accounts import set_language
from api.auth import ROLES
from api.console.deps import ConfigDep, MaybeViewer, ServicesDep
from api.console.i18n import LANGUAGES, add_messages
from api.console.registry import PUBLIC, ConsoleRouter
from api.console.render import render, set_flash
from api.console.sessions import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    end_session,
    set_cookie,
    set_session_cookie,
    start_session,
)
from api.console.signin import sign_in

router = ConsoleRouter("auth")
HOME = "/console/"

add_messages(
    {
        "auth.title": ("登录督办工作台", "Sign in to duban"),
        "auth.intro": (
            "使用管理员为您开设的账号登录。",
            "Sign in with the account your administrator made for you.",
        ),
        "auth.login": ("登录名", "Login name"),
        "auth.password": ("密码", "Password"),
        "auth.submit": ("登录", "Sign in"),
        "auth.invalid": ("登录名或密码不正确。", "Wrong login name or password."),
        "auth.locked": (
            "登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试，或请管理员重置密码。",
            "Too many failed sign-ins: locked for now. Try again in {minutes} minutes, or ask "
            "an administrator to reset the password.",
        ),
        "auth.signed_out": ("您已退出。", "You have signed out."),
        "auth.expired": (
            "登录已过期，请重新登录。",
            "Your session has ended; please sign in again.",
        ),
        "auth.public_pages": ("无需登录即可查看：", "Open to everyone, without signing in:"),
    }
)


def safe_next(target: str | None) -> str:
    """Only a page of this console: never another host (``//evil``, ``https://…``)."""
    if target and target.startswith("/console") and "//" not in target and "\\" not in target:
        return target
    return HOME


@router.page("/console/sign-in", roles=PUBLIC)
def sign_in_page(request: Request, viewer: MaybeViewer, next: str = "") -> Response:
    if viewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    expired = bool(request.cookies.get(SESSION_COOKIE))
    return render(
        request,
        "auth/sign_in.html",
        {"next": safe_next(next), "login": "", "problem": "auth.expired" if expired else None},
    )


@router.page("/console/sign-in", roles=PUBLIC, methods=("POST",))
async def sign_in_submit(
    request: Request,
    services: ServicesDep,
    config: ConfigDep,
    viewer: MaybeViewer,
    login: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    result = await sign_in(services.engine, config, login, password, request)
    if result.account is None:
        minutes = int(config.account_lock.total_seconds() // 60)
        return render(
            request,
            "auth/sign_in.html",
            {
                "next": safe_next(next),
                "login": login,
                "problem": "auth.locked" if result.locked else "auth.invalid",
                "minutes": minutes,
            },
            status=429 if result.locked else 401,
        )
    old = request.cookies.get(SESSION_COOKIE)
    if viewer is not None and old:
        await run_in_threadpool(end_session, services.engine, old, request)
    session_id, _ = await run_in_threadpool(
        start_session, services.engine, result.account, request, config
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, request, config, session_id)
    return response


@router.page("/console/sign-out", roles=ROLES, methods=("POST",))
def sign_out(request: Request, services: ServicesDep, config: ConfigDep) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        end_session(services.engine, session_id, request)
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_session_cookie(response, request, config)
    set_flash(response, "auth.signed_out")
    return response


@router.page("/console/language", roles=PUBLIC, methods=("POST",))
def choose_language(
    request: Request,
    services: ServicesDep,
    config: ConfigDep,
    viewer: MaybeViewer,
    language: Annotated[str, Form(max_length=5)] = "zh",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """中文 / English: kept in a cookie, and as the account's preference when signed in."""
    chosen = language if language in LANGUAGES else "zh"
    if viewer is not None:
        set_language(services.engine, viewer.login, chosen)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, config, LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600)
    return response
