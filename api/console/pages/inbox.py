"""The inbox (收件箱): the notices addressed to the signed-in person, unread first, filtered by
kind, marked read — the same services as ``GET /api/v1/inbox`` (``api.services.inbox``): a
person reads only their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from starlette.responses import RedirectResponse, Response

from api.console.components import Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render, set_flash
from api.services.inbox import read_inbox, read_message

router = ConsoleRouter("inbox")
EVERYONE = ("inspector", "enterprise", "supervisor", "auditor", "admin")
INBOX = "/console/inbox"
router.nav(INBOX, "nav.inbox", roles=EVERYONE, order=5)

add_messages(
    {
        "nav.inbox": ("收件箱", "Inbox"),
        "inbox.title": ("收件箱", "Inbox"),
        "inbox.lead": (
            "发给您的通知，未读在前。需要送达的文书，阅读即签收。",
            "Notices addressed to you, unread first. Reading a notice that must be served "
            "acknowledges its service.",
        ),
        "inbox.unread_count": ("未读 {count} 条", "{count} unread"),
        "inbox.kind": ("类型", "Kind"),
        "inbox.all_kinds": ("全部", "All"),
        "inbox.unread_only": ("只看未读", "Unread only"),
        "inbox.apply": ("应用", "Apply"),
        "inbox.subject": ("通知", "Notice"),
        "inbox.received": ("收到时间", "Received"),
        "inbox.state": ("状态", "State"),
        "inbox.unread": ("未读", "Unread"),
        "inbox.read": ("已读", "Read"),
        "inbox.must_acknowledge": ("需签收", "To acknowledge"),
        "inbox.open": ("查看", "Open"),
        "inbox.mark_read": ("标为已读", "Mark read"),
        "inbox.acknowledge": ("签收", "Acknowledge"),
        "inbox.was_read": ("已标为已读：{subject}", "Marked read: {subject}"),
        "inbox.empty": ("收件箱里没有通知。", "No notice in your inbox."),
    }
)

KindQuery = Annotated[str | None, Query(max_length=80, pattern=r"^[A-Za-z0-9_]*$")]


@router.page(INBOX, roles=EVERYONE)
def inbox(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    kind: KindQuery = None,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    page = read_inbox(
        services.engine,
        viewer.principal,
        kind=kind or None,
        unread_only=unread,
        limit=limit,
        offset=offset,
    )
    return render(
        request,
        "inbox/list.html",
        {
            "pager": Pager.of(request, page),
            "unread_total": page.unread,
            "kinds": page.kinds,
            "kind": kind or "",
            "unread": unread,
        },
    )


@router.page(INBOX + "/{message_id}/read", roles=EVERYONE, methods=("POST",))
async def read(
    services: ServicesDep,
    viewer: SignedIn,
    message_id: Annotated[int, Path(ge=1, le=2**62)],
) -> Response:
    message = await read_message(services, viewer.principal, message_id)
    response = RedirectResponse(INBOX, status_code=303)
    set_flash(response, "inbox.was_read", subject=message.subject)
    return response
