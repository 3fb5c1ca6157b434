"""Console sessions: a random id in an HttpOnly cookie, only its SHA-256 stored.

A session ends when its person signs out, after ``idle`` without a request, ``absolute`` after
its sign-in, when its account is disabled or its password reset. It resolves to the same
``Principal`` as an API token — role and scope from the account as it is now, the login name as
the actor — so a console action meets the same access rules and records the account on every
event it causes. Each session carries a synchronizer token: every unsafe request made with the
session cookie must send it back (form field ``csrf_token`` or header ``X-CSRF-Token``), or it
is refused with 403 ``csrf.invalid`` before anything runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from api.accounts import Account, log_entry
from api.auth import Principal
from api.console.config import ConsoleConfig

SESSION_COOKIE = "duban_session"
# Before sign-in there is no session: the sign-in and language forms carry a token that must
# equal this cookie's (double submit; the cookie is SameSite=Strict and HttpOnly).
ANONYMOUS_CSRF_COOKIE = "duban_csrf"
LANGUAGE_COOKIE = "duban_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_seen_at is written at most this often: a page's requests do not each write a row.
_TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person of a request."""

    login: str
    display_name: str
    role: str
    scope: str | None
    language: str
    csrf_token: str

    @property
    def principal(self) -> Principal:
        # token_id names the account: Idempotency-Keys are kept per account, as per token.
        return Principal(f"account:{self.login}", self.login, self.role, self.scope)


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def client_address(request: HTTPConnection) -> str | None:
    """The client's address as the server sees it (uvicorn puts X-Forwarded-For's there for a
    proxy it trusts: FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else None


def user_agent(request: HTTPConnection) -> str | None:
    return request.headers.get("user-agent")


def start_session(
    engine: Engine, account: Account, request: Request, config: ConsoleConfig
) -> tuple[str, Viewer]:
    """A new session for ``account`` (a new id at every sign-in: an id known before it cannot
    be fixed on someone). Returns the id for the cookie, never stored."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO console_sessions (session_hash, login, csrf_token, expires_at,"
                " client_address, user_agent)"
                " VALUES (:h, :l, :c, clock_timestamp() + :absolute, :addr, :ua)"
            ),
            {
                "h": _digest(session_id),
                "l": account.login,
                "c": csrf,
                "absolute": config.absolute,
                "addr": client_address(request),
                "ua": (user_agent(request) or "")[:500] or None,
            },
        )
    viewer = Viewer(
        account.login, account.display_name, account.role, account.scope, account.language, csrf
    )
    return session_id, viewer


def resolve_session(
    engine: Engine, session_id: str, config: ConsoleConfig, request: HTTPConnection
) -> Viewer | None:
    """The person of an open session, or None (unknown id, ended, timed out, account
    disabled). A session found timed out is ended here and its end recorded."""
    if not 20 <= len(session_id) <= 100:
        return None
    digest = _digest(session_id)
    with engine.begin() as conn:
        row = conn.execute(
            sa.text(
                "SELECT s.login, a.display_name, a.role, a.scope, a.language, s.csrf_token,"
                " s.last_seen_at, s.expires_at, a.disabled_at, clock_timestamp()"
                " FROM console_sessions s JOIN accounts a ON a.login = s.login"
                " WHERE s.session_hash = :h AND s.ended_at IS NULL"
            ),
            {"h": digest},
        ).first()
        if row is None:
            return None
        login, name, role, scope, language, csrf, last_seen, expires, disabled, now = row
        reason = None
        if disabled is not None:
            reason = "disabled"
        elif now >= expires:
            reason = "absolute"
        elif now - last_seen >= config.idle:
            reason = "idle"
        if reason is not None:
            conn.execute(
                sa.text(
                    "UPDATE console_sessions SET ended_at = :now, ended_reason = :r"
                    " WHERE session_hash = :h AND ended_at IS NULL"
                ),
                {"h": digest, "r": reason, "now": now},
            )
            if reason != "disabled":  # the account's own change is logged already
                log_entry(
                    conn,
                    "session_expired",
                    login,
                    known=True,
                    address=client_address(request),
                    user_agent=user_agent(request),
                    detail=reason,
                )
            return None
        if now - last_seen >= _TOUCH_EVERY:
            conn.execute(
                sa.text("UPDATE console_sessions SET last_seen_at = :now WHERE session_hash = :h"),
                {"h": digest, "now": now},
            )
    return Viewer(login, name, role, scope, language, csrf)


def end_session(engine: Engine, session_id: str, request: Request) -> str | None:
    """Sign out: the session ends (its cookie authenticates nobody from now on). Returns the
    login it belonged to."""
    with engine.begin() as conn:
        login = conn.execute(
            sa.text(
                "UPDATE console_sessions SET ended_at = clock_timestamp(),"
                " ended_reason = 'signed_out' WHERE session_hash = :h AND ended_at IS NULL"
                " RETURNING login"
            ),
            {"h": _digest(session_id)},
        ).scalar()
        if login is not None:
            log_entry(
                conn,
                "signed_out",
                login,
                known=True,
                address=client_address(request),
                user_agent=user_agent(request),
            )
    return login


def is_secure(request: HTTPConnection, config: ConsoleConfig) -> bool:
    """Whether the browser reached duban over HTTPS: the request's scheme (uvicorn sets it from
    X-Forwarded-Proto for a proxy it trusts), or the setting for a proxy that terminates TLS."""
    return config.tls_proxy or request.url.scheme == "https"


def set_cookie(
    response: Response,
    request: HTTPConnection,
    config: ConsoleConfig,
    name: str,
    value: str,
    *,
    max_age: int | None,
    same_site: str = "lax",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite=same_site,  # type: ignore[arg-type]  # "lax" | "strict"
        secure=is_secure(request, config),
    )


def set_session_cookie(
    response: Response, request: HTTPConnection, config: ConsoleConfig, session_id: str
) -> None:
    seconds = int(config.absolute.total_seconds())
    set_cookie(response, request, config, SESSION_COOKIE, session_id, max_age=seconds)


def clear_session_cookie(
    response: Response, request: HTTPConnection, config: ConsoleConfig
) -> None:
    set_cookie(response, request, config, SESSION_COOKIE, "", max_age=0)


def tokens_match(sent: str | None, expected: str | None) -> bool:
    return bool(sent and expected) and hmac.compare_digest(str(sent), str(expected))


def sent_csrf_header(request: HTTPConnection) -> str | None:
    return request.headers.get(CSRF_HEADER)
