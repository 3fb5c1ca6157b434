"""The operator's page of undelivered messages (未送达消息): deliveries given up after their
last attempt or refused for good, and those still waiting to be retried, with their last
failure; a retry puts given-up ones back in the queue (as ``duban notifications retry``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from activities.deliveries.operations import channel_figures, list_deliveries, retry_deliveries
from api.console.components import Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render, set_flash

router = ConsoleRouter("notifications")
ADMIN = ("admin",)
PAGE = "/console/admin/notifications"
router.nav(PAGE, "nav.undelivered", roles=ADMIN, order=85)

add_messages(
    {
        "nav.undelivered": ("未送达消息", "Undelivered"),
        "undelivered.title": ("未送达消息", "Undelivered messages"),
        "undelivered.lead": (
            "放弃投递的消息等待运维处理；待重试的消息按退避时间自动重试。",
            "Given-up messages wait for an operator; pending ones are retried with back-off.",
        ),
        "undelivered.status": ("状态", "Status"),
        "undelivered.given_up": ("已放弃", "Given up"),
        "undelivered.pending": ("待重试", "Pending"),
        "undelivered.apply": ("应用", "Apply"),
        "undelivered.recipient": ("接收人", "Recipient"),
        "undelivered.channel": ("渠道", "Channel"),
        "undelivered.subject": ("通知", "Notice"),
        "undelivered.attempts": ("尝试次数", "Attempts"),
        "undelivered.last_error": ("最近失败原因", "Last failure"),
        "undelivered.next_attempt": ("下次尝试", "Next attempt"),
        "undelivered.retry": ("重试", "Retry"),
        "undelivered.retry_all": ("全部重试", "Retry all given up"),
        "undelivered.retried": ("已重新排队 {count} 条", "{count} queued again"),
        "undelivered.figures": ("各渠道", "Per channel"),
        "undelivered.sent": ("已发送", "Sent"),
        "undelivered.failed": ("失败次数", "Failed attempts"),
        "undelivered.lag": ("最久等待（秒）", "Oldest wait (s)"),
        "undelivered.empty": ("没有未送达的消息。", "No undelivered message."),
    }
)


@router.page(PAGE, roles=ADMIN)
def undelivered(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    status: Annotated[str, Query(pattern="^(given_up|pending)$")] = "given_up",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    del viewer
    rows, total = list_deliveries(services.engine, status=status, limit=limit, offset=offset)
    page = {"items": rows, "total": total, "limit": limit, "offset": offset}
    return render(
        request,
        "notifications/undelivered.html",
        {
            "pager": Pager.of(request, page),
            "status": status,
            "figures": channel_figures(services.engine),
        },
    )


@router.page(PAGE + "/retry", roles=ADMIN, methods=("POST",))
async def retry(
    services: ServicesDep,
    viewer: SignedIn,
    delivery_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
) -> Response:
    del viewer
    ids = [delivery_id] if delivery_id is not None else None
    count = await run_in_threadpool(retry_deliveries, services.engine, ids)
    response = RedirectResponse(PAGE, status_code=303)
    set_flash(response, "undelivered.retried", count=str(count))
    return response
