"""The inbox as the API and the console serve it: a person reads only their own.

The owner is the principal's account: a console session's, or a token's issued for an account
(``duban token create --account``), whose actor is the account's login. A token of no account
has no inbox (an empty page). A message of another person is "not found", never "forbidden":
the answer does not tell whether it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from activities.deliveries.inbox import InboxMessage, inbox_kinds, inbox_page, mark_read
from api.auth import Principal
from api.services.refusals import not_found


@dataclass(frozen=True)
class InboxPage:
    items: tuple[InboxMessage, ...]
    total: int
    limit: int
    offset: int
    unread: int
    kinds: tuple[str, ...]


def inbox_owner(engine: Engine, principal: Principal) -> str | None:
    """The login whose inbox ``principal`` reads: their account's, when the principal is one
    (same login, role and scope); None for a token of no account."""
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT login FROM accounts WHERE login = %(l)s AND role = %(r)s"
            " AND scope IS NOT DISTINCT FROM %(s)s AND disabled_at IS NULL",
            {"l": principal.actor_id, "r": principal.role, "s": principal.scope},
        ).first()
    return row[0] if row else None


def read_inbox(
    engine: Engine,
    principal: Principal,
    *,
    kind: str | None = None,
    unread_only: bool = False,
    limit: int = 20,
    offset: int = 0,
) -> InboxPage:
    owner = inbox_owner(engine, principal)
    if owner is None:
        return InboxPage((), 0, limit, offset, 0, ())
    items, total = inbox_page(
        engine, owner, kind=kind, unread_only=unread_only, limit=limit, offset=offset
    )
    _, unread = inbox_page(engine, owner, unread_only=True, limit=1)
    return InboxPage(tuple(items), total, limit, offset, unread, tuple(inbox_kinds(engine, owner)))


def mark_message_read(engine: Engine, principal: Principal, message_id: int) -> InboxMessage:
    """Mark the principal's own message read (again: no change); 404 for anyone else's."""
    owner = inbox_owner(engine, principal)
    marked = mark_read(engine, owner, message_id) if owner is not None else None
    if marked is None:
        raise not_found(f"inbox message {message_id}")
    return marked[0]
