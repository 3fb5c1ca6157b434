"""Bearer tokens: issued by ``duban token create``, stored as SHA-256 hashes only.

A token carries a role and a scope: a grid unit code for inspectors and supervisors (their
subtree), an enterprise's credit code for the enterprise, nothing for auditors and admins. A
token may act for a person's account (``api/accounts.py``): it then records the account's login
as the actor and authenticates nobody while the account is disabled. A console session resolves
to the same ``Principal`` (``api/console/sessions.py``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.reference_data import ReferenceData, ReferenceDataError

ROLES = ("inspector", "enterprise", "supervisor", "auditor", "admin")
GRID_SCOPED = ("inspector", "supervisor")
TOKEN_PREFIX = "dbn_"


@dataclass(frozen=True)
class Principal:
    token_id: str
    actor_id: str
    role: str
    scope: str | None


def with_article(noun: str) -> str:
    """``noun`` after its English indefinite article: "an auditor", "a supervisor"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def check_scope(
    reference: ReferenceData, role: str, scope: str | None, noun: str = "token"
) -> None:
    """The rule of a role's scope, for a token and an account alike: inspectors and supervisors
    name an existing grid unit, the enterprise its credit code, auditors and admins nothing."""
    if role not in ROLES:
        raise ReferenceDataError("role", f"{noun}.role.unknown", "one of " + ", ".join(ROLES))
    if role in GRID_SCOPED:
        if not scope or reference.grid_unit(scope) is None:
            raise ReferenceDataError(
                "scope",
                f"{noun}.scope.grid_unit",
                f"{with_article(role)} is scoped to an existing grid unit",
            )
    elif role == "enterprise":
        if not scope or reference.enterprise(scope) is None:
            raise ReferenceDataError(
                "scope", f"{noun}.scope.enterprise", f"an enterprise {noun} names its credit code"
            )
    elif scope:
        raise ReferenceDataError(
            "scope", f"{noun}.scope.none", f"{with_article(role)} {noun} has no scope"
        )


def create_token(
    engine: Engine,
    reference: ReferenceData,
    role: str,
    scope: str | None,
    actor_id: str,
    *,
    account: str | None = None,
) -> tuple[Principal, str]:
    """Issue a token; returns the principal and the secret (shown once, never stored).

    ``account``: the token acts for that account (``duban token create --account LOGIN``): its
    role and scope are the account's, the actor recorded is the account's login, and it
    authenticates nobody while the account is disabled."""
    if account is not None:
        role, scope, actor_id = _account_principal(engine, account, role, scope)
    check_scope(reference, role, scope)
    if not actor_id.strip() or len(actor_id) > 200:
        raise ReferenceDataError("actor_id", "token.actor.required", "1-200 characters")
    token_id = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO api_tokens"
                " (token_id, token_hash, role, scope, actor_id, account_login)"
                " VALUES (:i, :h, :r, :s, :a, :l)"
            ),
            {
                "i": token_id,
                "h": _hash(secret),
                "r": role,
                "s": scope or None,
                "a": actor_id,
                "l": account,
            },
        )
    return Principal(token_id, actor_id, role, scope or None), secret


def _account_principal(
    engine: Engine, login: str, role: str | None, scope: str | None
) -> tuple[str, str | None, str]:
    """The role, scope and actor of a token tied to ``login``; a role or scope given as well
    must be the account's."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT role, scope, disabled_at FROM accounts WHERE login = :l"),
            {"l": login},
        ).first()
    if row is None:
        raise ReferenceDataError("account", "token.account.unknown", f"no account {login!r}")
    if row[2] is not None:
        raise ReferenceDataError("account", "token.account.disabled", f"{login} is disabled")
    for field, given, own in (("role", role, row[0]), ("scope", scope, row[1])):
        if given and given != own:
            raise ReferenceDataError(
                field, "token.account.mismatch", f"the account's {field} is {own or 'none'}"
            )
    return row[0], row[1], login


def authenticate(engine: Engine, secret: str) -> Principal | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT t.token_id, t.actor_id, t.role, t.scope FROM api_tokens t"
                " LEFT JOIN accounts a ON a.login = t.account_login"
                " WHERE t.token_hash = :h AND t.revoked_at IS NULL AND a.disabled_at IS NULL"
            ),
            {"h": _hash(secret)},
        ).first()
    return Principal(row[0], row[1], row[2], row[3]) if row else None


@dataclass(frozen=True)
class IssuedToken:
    """A token as ``duban token list`` shows it: everything but the secret (never stored)."""

    token_id: str
    actor_id: str
    role: str
    scope: str | None
    created_at: str
    revoked_at: str | None
    account: str | None = None  # the account it acts for, if any


def list_tokens(engine: Engine) -> list[IssuedToken]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT token_id, actor_id, role, scope, created_at, revoked_at, account_login"
                " FROM api_tokens ORDER BY created_at, token_id"
            )
        ).all()
    return [
        IssuedToken(
            r[0], r[1], r[2], r[3], r[4].isoformat(), r[5].isoformat() if r[5] else None, r[6]
        )
        for r in rows
    ]


def revoke_token(engine: Engine, token_id: str) -> IssuedToken:
    """Revoke a token by its id (the part after ``dbn_`` shown at issue and by the list):
    from the next request on it authenticates nobody. Revoking a revoked token keeps the
    first revocation's time; an unknown id is refused, naming the field."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE api_tokens SET revoked_at = now()"
                " WHERE token_id = :i AND revoked_at IS NULL"
            ),
            {"i": token_id},
        )
    token = next((t for t in list_tokens(engine) if t.token_id == token_id), None)
    if token is None:
        raise ReferenceDataError("token_id", "token.unknown", f"no token {token_id!r} was issued")
    return token
