"""The inbox (收件箱): the notices addressed to the signed-in person, unread first; mark read.
Every role has one; a person reads only their own (another's message is 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import Offset, PrincipalDep, ServicesDep
from api.schemas import InboxMessageOut, Page
from api.services.inbox import read_inbox, read_message

router = APIRouter(tags=["inbox"])

InboxLimit = Annotated[int, Query(ge=1, le=100)]
KindQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9_]+$",
        description="only notices of this kind (e.g. deadline_reminder, case_escalated)",
    ),
]
MessageId = Annotated[int, Path(ge=1, le=2**62, description="the message's id")]


def _out(message: object) -> InboxMessageOut:
    return InboxMessageOut.model_validate(message, from_attributes=True)


@router.get("/inbox", response_model=Page[InboxMessageOut])
def inbox(
    services: ServicesDep,
    principal: PrincipalDep,
    kind: KindQuery = None,
    unread: bool = False,
    limit: InboxLimit = 20,
    offset: Offset = 0,
) -> Page[InboxMessageOut]:
    """The caller's own notices: unread first, newest first within each (``unread=true``:
    the unread alone, their count in ``total``)."""
    page = read_inbox(
        services.engine, principal, kind=kind, unread_only=unread, limit=limit, offset=offset
    )
    return Page(
        items=[_out(m) for m in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/inbox/{message_id}/read", response_model=InboxMessageOut)
async def read(
    message_id: MessageId, services: ServicesDep, principal: PrincipalDep
) -> InboxMessageOut:
    """Mark one of the caller's notices read (idempotent: reading it again changes nothing).
    An enterprise reading a case's notice that must be served acknowledges it (签收): the
    case records ``ServiceAcknowledged`` with who and when."""
    return _out(await read_message(services, principal, message_id))
