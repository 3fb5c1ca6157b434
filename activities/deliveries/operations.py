"""What an operator does with deliveries: list them (the undelivered first), retry the given
up, read the figures per channel; and where the contact channels are kept (an account's, an
enterprise's registered contacts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from activities.channels.base import normalised_phone
from activities.reference_data import ReferenceDataError
from domain.recipients import CHAT_CHANNELS, CONTACT_ROLES, Contact, parse_quiet_hours

STATUSES = ("pending", "sent", "given_up")
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")
_COLUMNS = (
    "id, step_key, case_id, kind, recipient, recipient_name, channel, address, status,"
    " attempts, created_at, next_attempt_at, sent_at, given_up_at, last_code, last_error"
)


@dataclass(frozen=True)
class Delivery:
    id: int
    step_key: str
    case_id: str
    kind: str
    recipient: str
    recipient_name: str
    channel: str
    address: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    given_up_at: datetime | None
    last_code: str | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            key: (value.isoformat() if isinstance(value, datetime) else value)
            for key, value in self.__dict__.items()
        }


def list_deliveries(
    engine: Engine,
    *,
    status: str | None = None,
    channel: str | None = None,
    case_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Delivery], int]:
    if status is not None and status not in STATUSES:
        raise ReferenceDataError("status", "delivery.status", "one of " + ", ".join(STATUSES))
    where: list[str] = ["true"]
    params: dict[str, object] = {"n": limit, "o": offset}
    for name, value in (("status", status), ("channel", channel), ("case_id", case_id)):
        if value:
            where.append(f"{name} = %({name})s")
            params[name] = value
    clause = " AND ".join(where)
    with engine.connect() as conn:
        total = conn.exec_driver_sql(
            f"SELECT count(*) FROM notification_deliveries WHERE {clause}", params
        ).scalar_one()
        rows = conn.exec_driver_sql(
            f"SELECT {_COLUMNS} FROM notification_deliveries WHERE {clause}"
            " ORDER BY id LIMIT %(n)s OFFSET %(o)s",
            params,
        ).all()
    return [Delivery(*r) for r in rows], int(total)


def retry_deliveries(engine: Engine, ids: Sequence[int] | None = None) -> int:
    """Put given-up deliveries back in the queue, due now (``ids``: these; None: all). Their
    attempts so far stay counted in their record; the back-off starts again."""
    with engine.begin() as conn:
        return conn.exec_driver_sql(
            "UPDATE notification_deliveries SET status = 'pending', given_up_at = NULL,"
            " attempts = 0, next_attempt_at = clock_timestamp()"
            " WHERE status = 'given_up'" + (" AND id = ANY(%(ids)s)" if ids is not None else ""),
            {"ids": list(ids or [])},
        ).rowcount


@dataclass(frozen=True)
class ChannelFigures:
    channel: str
    sent: int
    failed_attempts: int
    pending: int
    given_up: int
    lag_seconds: float  # the oldest due pending delivery's age (0: none waits)


def channel_figures(engine: Engine) -> list[ChannelFigures]:
    """Per channel: sent, failed attempts, pending, given up, and the lag of the oldest due."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT d.channel,"
            " count(*) FILTER (WHERE d.status = 'sent'),"
            " count(*) FILTER (WHERE d.status = 'pending'),"
            " count(*) FILTER (WHERE d.status = 'given_up'),"
            " COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(d.created_at)"
            "   FILTER (WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp()))"
            " , 0),"
            " (SELECT count(*) FROM notification_attempts a"
            "   JOIN notification_deliveries x ON x.id = a.delivery_id"
            "   WHERE x.channel = d.channel AND NOT a.sent)"
            " FROM notification_deliveries d GROUP BY d.channel ORDER BY d.channel"
        ).all()
    return [
        ChannelFigures(r[0], int(r[1]), int(r[5]), int(r[2]), int(r[3]), float(r[4])) for r in rows
    ]


# -------------------------------------------------------------------- contact channels


def _email(value: str | None, field: str) -> str | None:
    if not value:
        return None
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ReferenceDataError(field, "contact.email", "an e-mail address (name@domain)")
    return value


def _phone(value: str | None, field: str) -> str | None:
    if not value:
        return None
    phone = normalised_phone(value)
    if phone is None:
        raise ReferenceDataError(
            field, "contact.phone", "a mainland mobile number (11 digits) or +<country><number>"
        )
    return phone


def set_account_contacts(
    engine: Engine,
    login: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    chat_kind: str | None = None,
    chat_url: str | None = None,
    chat_secret: str | None = None,
    quiet_hours: str | None = None,
) -> None:
    """Set an account's contact channels and quiet hours (each None: none)."""
    if (chat_kind is None) != (chat_url is None):
        raise ReferenceDataError("chat_url", "contact.chat", "a chat needs its kind and its URL")
    if chat_kind is not None and chat_kind not in CHAT_CHANNELS:
        raise ReferenceDataError("chat_kind", "contact.chat", "one of " + ", ".join(CHAT_CHANNELS))
    if chat_url is not None and (
        urlsplit(chat_url).scheme not in ("http", "https") or len(chat_url) > 500
    ):
        raise ReferenceDataError("chat_url", "contact.chat_url", "an http(s) URL")
    try:
        quiet = parse_quiet_hours(quiet_hours) if quiet_hours else None
    except ValueError as exc:
        raise ReferenceDataError("quiet_hours", "contact.quiet_hours", str(exc)) from None
    with engine.begin() as conn:
        changed = conn.exec_driver_sql(
            "UPDATE accounts SET email = %(e)s, phone = %(p)s, chat_kind = %(ck)s,"
            " chat_url = %(cu)s, chat_secret = %(cs)s, quiet_from = %(qf)s, quiet_until = %(qu)s,"
            " changed_at = clock_timestamp() WHERE login = %(l)s",
            {
                "l": login,
                "e": _email(email, "email"),
                "p": _phone(phone, "phone"),
                "ck": chat_kind,
                "cu": chat_url,
                "cs": chat_secret or None,
                "qf": quiet.start if quiet else None,
                "qu": quiet.end if quiet else None,
            },
        ).rowcount
    if not changed:
        raise ReferenceDataError("login", "account.unknown", f"no account {login!r}")


def set_enterprise_contact(
    engine: Engine,
    credit_code: str,
    role: str,
    name: str,
    *,
    phone: str | None = None,
    email: str | None = None,
) -> Contact:
    """Register (or replace) an enterprise's 主要负责人 (principal) or 安全管理人员
    (safety_manager)."""
    if role not in CONTACT_ROLES:
        raise ReferenceDataError("role", "contact.role", "one of " + ", ".join(CONTACT_ROLES))
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ReferenceDataError("name", "contact.name", "1-100 characters")
    contact = Contact(credit_code, role, name, _phone(phone, "phone"), _email(email, "email"))
    with engine.begin() as conn:
        known = conn.exec_driver_sql(
            "SELECT 1 FROM enterprises WHERE credit_code = %(c)s", {"c": credit_code}
        ).first()
        if known is None:
            raise ReferenceDataError(
                "credit_code", "enterprise.unknown", f"no enterprise {credit_code}"
            )
        conn.exec_driver_sql(
            "INSERT INTO enterprise_contacts (credit_code, role, name, phone, email)"
            " VALUES (%(c)s, %(r)s, %(n)s, %(p)s, %(e)s)"
            " ON CONFLICT (credit_code, role) DO UPDATE SET name = EXCLUDED.name,"
            " phone = EXCLUDED.phone, email = EXCLUDED.email, changed_at = clock_timestamp()",
            {
                "c": credit_code,
                "r": role,
                "n": contact.name,
                "p": contact.phone,
                "e": contact.email,
            },
        )
    return contact
