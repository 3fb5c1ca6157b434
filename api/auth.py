"""Bearer tokens: issued by ``duban token create``, stored as SHA-256 hashes only.

A token carries a role and a scope: a grid unit code for inspectors and supervisors (their
subtree), an enterprise's credit code for the enterprise, nothing for auditors and admins.
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


def create_token(
    engine: Engine, reference: ReferenceData, role: str, scope: str | None, actor_id: str
) -> tuple[Principal, str]:
    """Issue a token; returns the principal and the secret (shown once, never stored)."""
    if role not in ROLES:
        raise ReferenceDataError("role", "token.role.unknown", "one of " + ", ".join(ROLES))
    if role in GRID_SCOPED:
        if not scope or reference.grid_unit(scope) is None:
            raise ReferenceDataError(
                "scope",
                "token.scope.grid_unit",
                f"{with_article(role)} is scoped to an existing grid unit",
            )
    elif role == "enterprise":
        if not scope or reference.enterprise(scope) is None:
            raise ReferenceDataError(
                "scope", "token.scope.enterprise", "an enterprise token names its credit code"
            )
    elif scope:
        raise ReferenceDataError(
            "scope", "token.scope.none", f"{with_article(role)} token has no scope"
        )
    if not actor_id.strip() or len(actor_id) > 200:
        raise ReferenceDataError("actor_id", "token.actor.required", "1-200 characters")
    token_id = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO api_tokens (token_id, token_hash, role, scope, actor_id)"
                " VALUES (:i, :h, :r, :s, :a)"
            ),
            {"i": token_id, "h": _hash(secret), "r": role, "s": scope or None, "a": actor_id},
        )
    return Principal(token_id, actor_id, role, scope or None), secret


def authenticate(engine: Engine, secret: str) -> Principal | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT token_id, actor_id, role, scope FROM api_tokens"
                " WHERE token_hash = :h AND revoked_at IS NULL"
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


def list_tokens(engine: Engine) -> list[IssuedToken]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT token_id, actor_id, role, scope, created_at, revoked_at FROM api_tokens"
                " ORDER BY created_at, token_id"
            )
        ).all()
    return [
        IssuedToken(r[0], r[1], r[2], r[3], r[4].isoformat(), r[5].isoformat() if r[5] else None)
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
