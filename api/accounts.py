"""People's accounts: who signs in to the console, with which role and scope.

One set of rules for ``duban user …`` and the console's accounts page: both call these
functions, and a refusal is a ``ReferenceDataError`` naming the field and the rule (the API's
``{rule, message, field}``). The scope follows the token's rule (``api.auth.check_scope``).
Every change is written to the append-only ``account_log`` with who made it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from activities.reference_data import ReferenceData, ReferenceDataError
from api.auth import ROLES, check_scope
from api.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from domain._codec import check_text
from domain.errors import DomainError

LOGIN_RULE = (
    "2-63 characters: lower-case letters a-z, digits, '.', '_' or '-', starting with a letter "
    "or digit"
)
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
LANGUAGES = ("zh", "en")
_COLUMNS = "login, display_name, role, scope, language, disabled_at, created_at, changed_at"


@dataclass(frozen=True)
class Account:
    login: str
    display_name: str
    role: str
    scope: str | None
    language: str
    disabled_at: datetime | None
    created_at: datetime
    changed_at: datetime

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "display_name": self.display_name,
            "role": self.role,
            "scope": self.scope,
            "language": self.language,
            "enabled": self.enabled,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "created_at": self.created_at.isoformat(),
            "changed_at": self.changed_at.isoformat(),
        }


@dataclass(frozen=True)
class AccountPage:
    """The API's page shape: ``{items, total, limit, offset}``."""

    items: tuple[Account, ...]
    total: int
    limit: int
    offset: int


def normalise_login(text: str) -> str:
    """Login names are compared in lower case, without the spaces around them."""
    return text.strip().lower()


def check_login(login: str) -> str:
    login = normalise_login(login)
    if not _LOGIN.match(login):
        raise ReferenceDataError("login", "account.login.invalid", LOGIN_RULE)
    return login


def check_display_name(name: str) -> str:
    name = name.strip()
    try:
        check_text(name)
    except DomainError as exc:
        raise ReferenceDataError("display_name", exc.rule, exc.message) from None
    if not 1 <= len(name) <= 100:
        raise ReferenceDataError("display_name", "account.display_name.length", "1-100 characters")
    return name


def check_password(password: str, login: str) -> None:
    """At least ``MIN_LENGTH`` characters (NIST SP 800-63B asks for 8 at least), at most
    ``MAX_LENGTH``, not the login name itself, no control characters."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ReferenceDataError(
            "password", "account.password.length", f"{MIN_LENGTH}-{MAX_LENGTH} characters"
        )
    if password.strip().lower() == login:
        raise ReferenceDataError(
            "password", "account.password.is_login", "the password may not be the login name"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        raise ReferenceDataError(
            "password", "account.password.control", "no control characters (tab, line breaks)"
        )


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ReferenceDataError("language", "account.language.unknown", "zh or en")
    return language


def log_entry(
    conn: Connection,
    kind: str,
    login: str,
    *,
    known: bool,
    actor: str | None = None,
    address: str | None = None,
    user_agent: str | None = None,
    detail: str | None = None,
) -> None:
    """One line of the append-only account log. The login name is the one typed (cut to 200
    characters): a failed attempt with an unknown name is recorded as well."""
    conn.execute(
        sa.text(
            "INSERT INTO account_log"
            " (kind, login, known_account, actor, client_address, user_agent, detail)"
            " VALUES (:k, :l, :known, :a, :addr, :ua, :d)"
        ),
        {
            "k": kind,
            "l": (login or "-")[:200],
            "known": known,
            "a": actor,
            "addr": address,
            "ua": (user_agent or "")[:500] or None,
            "d": detail,
        },
    )


def _account(row: Any) -> Account:
    return Account(*row)


def get_account(engine: Engine, login: str) -> Account | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(f"SELECT {_COLUMNS} FROM accounts WHERE login = :l"),
            {"l": normalise_login(login)},
        ).first()
    return None if row is None else _account(row)


def list_accounts(engine: Engine, *, limit: int = 50, offset: int = 0) -> AccountPage:
    if not 1 <= limit <= 500:
        raise ReferenceDataError("limit", "request.invalid", "between 1 and 500")
    if offset < 0:
        raise ReferenceDataError("offset", "request.invalid", "0 or more")
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one()
        rows = conn.execute(
            sa.text(f"SELECT {_COLUMNS} FROM accounts ORDER BY login LIMIT :n OFFSET :o"),
            {"n": limit, "o": offset},
        ).all()
    return AccountPage(tuple(_account(r) for r in rows), int(total), limit, offset)


def create_account(
    engine: Engine,
    reference: ReferenceData,
    *,
    login: str,
    display_name: str,
    role: str,
    scope: str | None,
    password: str,
    actor: str,
    language: str = "zh",
) -> Account:
    """A new, enabled account. Refused (naming the field) for a login name taken or malformed,
    a role or scope the token rules refuse, a password too short or too long."""
    login = check_login(login)
    display_name = check_display_name(display_name)
    if role not in ROLES:  # before the scope: its rule depends on the role
        raise ReferenceDataError("role", "account.role.unknown", "one of " + ", ".join(ROLES))
    scope = (scope or "").strip() or None
    if scope is not None and role == "enterprise":
        scope = scope.upper()
    check_scope(reference, role, scope, noun="account")
    check_password(password, login)
    check_language(language)
    if get_account(engine, login) is not None:
        raise ReferenceDataError("login", "account.login.exists", f"{login} is taken")
    hashed = hash_password(password)
    with engine.begin() as conn:
        inserted = conn.execute(
            sa.text(
                "INSERT INTO accounts (login, display_name, role, scope, password_hash, language)"
                " VALUES (:l, :d, :r, :s, :h, :lang) ON CONFLICT (login) DO NOTHING"
                f" RETURNING {_COLUMNS}"
            ),
            {"l": login, "d": display_name, "r": role, "s": scope, "h": hashed, "lang": language},
        ).first()
        if inserted is None:  # taken meanwhile
            raise ReferenceDataError("login", "account.login.exists", f"{login} is taken")
        log_entry(conn, "account_created", login, known=True, actor=actor, detail=role)
    return _account(inserted)


def set_enabled(engine: Engine, login: str, enabled: bool, *, actor: str) -> Account:
    """Disable (its sessions end at once, its tokens authenticate nobody) or enable an
    account. The last enabled admin account is not disabled: nobody could enable it again
    from the console."""
    login = normalise_login(login)
    with engine.begin() as conn:
        row = conn.execute(
            sa.text(f"SELECT {_COLUMNS} FROM accounts WHERE login = :l FOR UPDATE"), {"l": login}
        ).first()
        if row is None:
            raise ReferenceDataError("login", "account.unknown", f"no account {login}")
        account = _account(row)
        if account.enabled == enabled:
            return account
        if not enabled and account.role == "admin":
            others = conn.execute(
                sa.text(
                    "SELECT count(*) FROM accounts WHERE role = 'admin' AND disabled_at IS NULL"
                    " AND login <> :l"
                ),
                {"l": login},
            ).scalar_one()
            if others == 0:
                raise ReferenceDataError(
                    "login",
                    "account.admin.last_enabled",
                    "the last enabled admin account cannot be disabled",
                )
        row = conn.execute(
            sa.text(
                "UPDATE accounts SET disabled_at = CASE WHEN :on THEN NULL"
                " ELSE clock_timestamp() END, changed_at = clock_timestamp()"
                f" WHERE login = :l RETURNING {_COLUMNS}"
            ),
            {"l": login, "on": enabled},
        ).one()
        if not enabled:
            end_sessions(conn, login, "disabled")
        kind = "account_enabled" if enabled else "account_disabled"
        log_entry(conn, kind, login, known=True, actor=actor)
    return _account(row)


def reset_password(engine: Engine, login: str, password: str, *, actor: str) -> Account:
    """A new password: the account's sessions end, and a lock on its name is lifted."""
    login = normalise_login(login)
    account = get_account(engine, login)
    if account is None:
        raise ReferenceDataError("login", "account.unknown", f"no account {login}")
    check_password(password, login)
    hashed = hash_password(password)
    with engine.begin() as conn:
        row = conn.execute(
            sa.text(
                "UPDATE accounts SET password_hash = :h, changed_at = clock_timestamp(),"
                f" password_changed_at = clock_timestamp() WHERE login = :l RETURNING {_COLUMNS}"
            ),
            {"l": login, "h": hashed},
        ).one()
        end_sessions(conn, login, "password_reset")
        log_entry(conn, "password_reset", login, known=True, actor=actor)
    return _account(row)


def set_language(engine: Engine, login: str, language: str) -> None:
    check_language(language)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE accounts SET language = :lang, changed_at = clock_timestamp()"
                " WHERE login = :l AND language <> :lang"
            ),
            {"l": normalise_login(login), "lang": language},
        )


def password_hash_of(engine: Engine, login: str) -> tuple[Account, str] | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(f"SELECT {_COLUMNS}, password_hash FROM accounts WHERE login = :l"),
            {"l": normalise_login(login)},
        ).first()
    return None if row is None else (_account(row[:-1]), row[-1])


def store_rehash(engine: Engine, login: str, hashed: str) -> None:
    """The same password, hashed again under today's parameters (after a sign-in)."""
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE accounts SET password_hash = :h WHERE login = :l"),
            {"l": login, "h": hashed},
        )


def end_sessions(conn: Connection, login: str, reason: str) -> None:
    conn.execute(
        sa.text(
            "UPDATE console_sessions SET ended_at = clock_timestamp(), ended_reason = :r"
            " WHERE login = :l AND ended_at IS NULL"
        ),
        {"l": login, "r": reason},
    )
