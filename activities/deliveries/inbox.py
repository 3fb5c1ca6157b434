"""The console inbox (收件箱): each person's notices, unread first; a person reads their own.

Every query takes the reader's login and touches only that login's rows: a message of another
person is not found, never shown, never marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

_COLUMNS = "id, step_key, case_id, kind, subject, body, link, must_acknowledge, created_at, read_at"


@dataclass(frozen=True)
class InboxMessage:
    id: int
    step_key: str
    case_id: str
    kind: str
    subject: str
    body: str
    link: str
    must_acknowledge: bool
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "step_key": self.step_key,
            "case_id": self.case_id,
            "kind": self.kind,
            "subject": self.subject,
            "body": self.body,
            "link": self.link,
            "must_acknowledge": self.must_acknowledge,
            "created_at": self.created_at.isoformat(),
            "read_at": self.read_at.isoformat() if self.read_at else None,
        }


def inbox_page(
    engine: Engine,
    login: str,
    *,
    kind: str | None = None,
    unread_only: bool = False,
    limit: int = 20,
    offset: int = 0,
    message_id: int | None = None,
) -> tuple[list[InboxMessage], int]:
    """``login``'s messages, unread first, newest first within each; and how many match
    (``message_id``: that one alone, if it is ``login``'s)."""
    where = "login = %(l)s"
    if message_id is not None:
        where += " AND id = %(i)s"
    if kind:
        where += " AND kind = %(k)s"
    if unread_only:
        where += " AND read_at IS NULL"
    params = {"l": login, "k": kind, "n": limit, "o": offset, "i": message_id}
    with engine.connect() as conn:
        total = conn.exec_driver_sql(
            f"SELECT count(*) FROM inbox_messages WHERE {where}", params
        ).scalar_one()
        rows = conn.exec_driver_sql(
            f"SELECT {_COLUMNS} FROM inbox_messages WHERE {where}"
            " ORDER BY (read_at IS NULL) DESC, id DESC LIMIT %(n)s OFFSET %(o)s",
            params,
        ).all()
    return [InboxMessage(*r) for r in rows], int(total)


def unread_count(engine: Engine, login: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM inbox_messages WHERE login = %(l)s AND read_at IS NULL",
                {"l": login},
            ).scalar_one()
        )


def inbox_kinds(engine: Engine, login: str) -> list[str]:
    """The kinds of notice ``login`` has received (the inbox's filter offers these)."""
    with engine.connect() as conn:
        return [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT DISTINCT kind FROM inbox_messages WHERE login = %(l)s ORDER BY kind",
                {"l": login},
            ).all()
        ]


def mark_read(engine: Engine, login: str, message_id: int) -> tuple[InboxMessage, bool] | None:
    """Mark ``login``'s message read; the message and whether this call read it first (the
    moment of its acknowledgement); None when ``login`` has no such message."""
    with engine.begin() as conn:
        row = conn.exec_driver_sql(
            f"UPDATE inbox_messages SET read_at = clock_timestamp()"
            f" WHERE id = %(i)s AND login = %(l)s AND read_at IS NULL RETURNING {_COLUMNS}",
            {"i": message_id, "l": login},
        ).first()
        if row is not None:
            return InboxMessage(*row), True
        row = conn.exec_driver_sql(
            f"SELECT {_COLUMNS} FROM inbox_messages WHERE id = %(i)s AND login = %(l)s",
            {"i": message_id, "l": login},
        ).first()
    return (InboxMessage(*row), False) if row is not None else None
