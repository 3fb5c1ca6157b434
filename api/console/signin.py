"""Signing in: the password checked with argon2id, failures slowed down and locked out.

- **One answer for every failure.** An unknown login name, a wrong password and a disabled
  account get the same words (``signin.invalid``); an unknown name costs the same argon2
  verification (api/passwords.py's decoy). The account log records which it was.
- **Slower after each failure.** A failed attempt is answered after ``failure_delay`` seconds
  (0.5 s, doubling with each failure in a row for that name or from that address, at most 8 s),
  waited with ``asyncio.sleep``: the server keeps serving everyone else meanwhile.
- **Locked after repeated failures.** ``account_failures`` failures in a row for one login name
  (since its last sign-in, password reset, enabling or lock) lock that name for
  ``account_lock``; ``address_failures`` failures from one address within ``address_window``
  refuse every sign-in from that address until they age out of the window. Both are computed
  from the append-only account log, so a name that names no account locks exactly as one that
  does, and the answer never tells them apart. A lock never blocks a session already open.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.accounts import (
    Account,
    log_entry,
    normalise_login,
    password_hash_of,
    store_rehash,
)
from api.console.config import ConsoleConfig
from api.console.sessions import client_address, user_agent
from api.passwords import hash_password, needs_rehash, verify_password

log = structlog.get_logger(__name__)

FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 8.0
# Events after which a login name's failures count afresh.
_FRESH_START = ("signed_in", "password_reset", "account_enabled", "locked")


@dataclass(frozen=True)
class SignInResult:
    account: Account | None  # signed in
    locked: bool = False  # refused without looking at the password
    delay: float = 0.0  # how long the answer to a failure waits


def failure_delay(failures: int) -> float:
    """How long the answer to the ``failures``-th failure in a row waits."""
    if failures <= 0:
        return 0.0
    return float(min(FIRST_DELAY_SECONDS * 2 ** (failures - 1), MAX_DELAY_SECONDS))


def _login_failures(conn: Connection, login: str) -> int:
    return int(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM account_log WHERE login = :l AND kind = 'sign_in_failed'"
                " AND at > coalesce((SELECT max(at) FROM account_log WHERE login = :l"
                " AND kind = ANY(:fresh)), '-infinity')"
            ),
            {"l": login, "fresh": list(_FRESH_START)},
        ).scalar_one()
    )


def _address_failures(conn: Connection, address: str | None, config: ConsoleConfig) -> int:
    if address is None:
        return 0
    return int(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM account_log WHERE client_address = :a"
                " AND kind = 'sign_in_failed' AND at > clock_timestamp() - :window"
            ),
            {"a": address, "window": config.address_window},
        ).scalar_one()
    )


def _locked_until(conn: Connection, login: str, config: ConsoleConfig) -> datetime | None:
    """When the lock on ``login`` ends, if it is locked now (a lock is lifted early by a
    password reset or by enabling the account)."""
    row = conn.execute(
        sa.text(
            "SELECT l.at + :lock, clock_timestamp() FROM account_log l WHERE l.login = :n"
            " AND l.kind = 'locked' AND NOT EXISTS (SELECT FROM account_log r"
            " WHERE r.login = :n AND r.at > l.at"
            " AND r.kind IN ('password_reset', 'account_enabled', 'signed_in'))"
            " ORDER BY l.at DESC LIMIT 1"
        ),
        {"n": login, "lock": config.account_lock},
    ).first()
    if row is None or row[0] <= row[1]:
        return None
    until: datetime = row[0]
    return until


def _judge(
    engine: Engine, config: ConsoleConfig, login: str, password: str, request: Request
) -> SignInResult:
    address, agent = client_address(request), user_agent(request)
    with engine.begin() as conn:
        if _address_failures(conn, address, config) >= config.address_failures:
            log_entry(
                conn, "refused_locked", login, known=False, address=address,
                user_agent=agent, detail="address",
            )  # fmt: skip
            return SignInResult(None, locked=True)
        if _locked_until(conn, login, config) is not None:
            log_entry(
                conn, "refused_locked", login, known=False, address=address,
                user_agent=agent, detail="login",
            )  # fmt: skip
            return SignInResult(None, locked=True)
    found = password_hash_of(engine, login)
    matched = verify_password(found[1] if found else None, password)
    if found is not None and matched and found[0].enabled:
        account, stored = found
        with engine.begin() as conn:
            log_entry(conn, "signed_in", login, known=True, address=address, user_agent=agent)
        if needs_rehash(stored):
            store_rehash(engine, login, hash_password(password))
        return SignInResult(account)
    why = "unknown_login" if found is None else ("disabled" if matched else "wrong_password")
    with engine.begin() as conn:
        log_entry(
            conn, "sign_in_failed", login, known=found is not None, address=address,
            user_agent=agent, detail=why,
        )  # fmt: skip
        in_a_row = _login_failures(conn, login)
        from_address = _address_failures(conn, address, config)
        locked = in_a_row >= config.account_failures
        if locked:
            log_entry(
                conn, "locked", login, known=found is not None, address=address,
                user_agent=agent, detail=f"{in_a_row} failures in a row",
            )  # fmt: skip
    log.info("console.sign_in_failed", login=login, address=address, locked=locked)
    return SignInResult(None, locked=locked, delay=failure_delay(max(in_a_row, from_address)))


async def sign_in(
    engine: Engine, config: ConsoleConfig, login_text: str, password: str, request: Request
) -> SignInResult:
    """Judge one sign-in attempt (database and argon2 on a worker thread) and wait out its
    delay on the event loop."""
    login = normalise_login(login_text)[:200] or "-"
    result = await run_in_threadpool(_judge, engine, config, login, password, request)
    if result.delay:
        await asyncio.sleep(result.delay)
    return result
