"""The inbox as the API and the console serve it: a person reads only their own.

The owner is the principal's account: a console session's, or a token's issued for an account
(``duban token create --account``), whose actor is the account's login. A token of no account
has no inbox (an empty page). A message of another person is "not found", never "forbidden":
the answer does not tell whether it exists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.engine import Engine

from activities.deliveries.inbox import InboxMessage, inbox_kinds, inbox_page, mark_read
from api.auth import Principal
from api.services.access import actor_of
from api.services.refusals import Refused, not_found
from domain.case.commands import AcknowledgeService, Actor
from domain.case.service import SERVED_NOTICE_KINDS
from domain.credit.commands import AcknowledgeCreditService
from domain.credit.dispatch import SERVED_CREDIT_KINDS

if TYPE_CHECKING:
    from api.services import Services

ACKNOWLEDGE_UPDATE = "acknowledge_service"
log = structlog.get_logger(__name__)


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


def own_message(engine: Engine, principal: Principal, message_id: int) -> InboxMessage:
    """The principal's own message ``message_id``; 404 for anyone else's."""
    owner = inbox_owner(engine, principal)
    if owner is not None:
        page, _ = inbox_page(engine, owner, limit=1, message_id=message_id)
        if page:
            return page[0]
    raise not_found(f"inbox message {message_id}")


async def read_message(services: Services, principal: Principal, message_id: int) -> InboxMessage:
    """Mark the principal's own message read. The first reading of a notice that must be
    served (a case's or the credit record's), by the enterprise it was served on, is its
    acknowledgement (签收): recorded on the case or the credit record through its workflow
    (``acknowledge_service``) before the message shows read —
    a failure leaves it unread, to be read (and acknowledged) again. The update's id is the
    notice's: Temporal answers a repeat from the first, so a retry records nothing twice."""
    engine = services.engine
    message = await asyncio.to_thread(own_message, engine, principal, message_id)
    if message.unread and message.must_acknowledge and principal.role == "enterprise":
        try:
            await _acknowledge(services, principal, message)
        except Refused as refusal:
            if refusal.status not in (409, 422):
                raise  # the record could not be asked (Temporal away): read again later
            # The record takes no acknowledgement any more (a closed case): the notice is
            # still the person's to read.
            log.warning(
                "inbox.acknowledgement_refused",
                case_id=message.case_id,
                step_key=message.step_key,
                rule=refusal.rule,
            )
    return await asyncio.to_thread(mark_message_read, engine, principal, message_id)


async def _acknowledge(services: Services, principal: Principal, message: InboxMessage) -> None:
    """Record the acknowledgement on the case or on the enterprise's credit record."""
    update_id = f"acknowledge:{message.step_key}"
    if message.case_id.startswith("credit-"):
        if message.kind not in SERVED_CREDIT_KINDS:
            return
        actor = await asyncio.to_thread(actor_of, principal, services.reference)
        await services.credit_update(
            principal,
            message.case_id.removeprefix("credit-"),
            ACKNOWLEDGE_UPDATE,
            AcknowledgeCreditService(actor, message.step_key, message.kind),
            update_id=update_id,
        )
        return
    if message.kind not in SERVED_NOTICE_KINDS:
        return

    def build(actor: Actor) -> AcknowledgeService:
        return AcknowledgeService(actor, message.step_key, message.kind)

    await services.act(principal, message.case_id, ACKNOWLEDGE_UPDATE, build, update_id=update_id)


def mark_message_read(engine: Engine, principal: Principal, message_id: int) -> InboxMessage:
    """Mark the principal's own message read (again: no change); 404 for anyone else's."""
    owner = inbox_owner(engine, principal)
    marked = mark_read(engine, owner, message_id) if owner is not None else None
    if marked is None:
        raise not_found(f"inbox message {message_id}")
    return marked[0]
