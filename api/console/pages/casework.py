"""The case page (案件详情): the timeline of its stored events (who, what, when in the policy's
time zone, which rule, which deadline), its pending timers as a countdown, the escalation
ladder with its current rung, and the actions the viewer may take now, each with its form.

The page reads what the API reads (``GET /hazards/{id}`` and its history); the actions it
offers come from the domain (``domain.case.offers``), and an action goes through the API's
own route function (``api.routes.case_actions``): the same access check, Idempotency-Key
ledger (a key per form shown), workflow Update and ``decide``. A refusal comes back into the
form in the API's words, naming the field.

Live: the page asks ``…/live?version=N`` every few seconds; while the case's stream has no new
event the answer is 204 (htmx leaves the page as it is), otherwise the new timeline, timers and
ladder — so an escalation the clock causes shows without a reload.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.case_page import (
    CasePageView,
    ladder_of,
    pending_of,
    timeline_entry,
)
from api.console.components import FormErrors
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render, set_flash
from api.console.sessions import Viewer
from api.routes.case_actions import (
    CaseAction,
    decide_extension,
    list_hazard,
    record_refusal,
    verify_rectification,
    withdraw_case,
)
from api.routes.documents import ShortCode, pdf_response
from api.schemas import (
    HAZARD_ID_PATTERN,
    ExtensionDecisionIn,
    ListingIn,
    RefusalIn,
    VerificationIn,
    WithdrawalIn,
)
from api.services import Services
from api.services.access import actor_of
from api.services.refusals import Refused, not_found
from domain.case import state_from_data
from domain.case.offers import ActionKind, offered_actions
from workflows.ids import case_stream_id

router = ConsoleRouter("casework")
READERS = ("inspector", "enterprise", "supervisor", "auditor", "admin")
HazardPath = Annotated[str, Path(max_length=80, pattern=HAZARD_ID_PATTERN)]
POLL_SECONDS = 3
DOCUMENTS_SHOWN = 50  # the case's issued documents listed on its page (a case has a handful)

# The supervisor's actions this page takes: each its body model and the API's route function.
SUPERVISOR_ACTIONS: dict[ActionKind, tuple[type[BaseModel], Callable[..., Awaitable[Response]]]] = {
    ActionKind.VERIFY: (VerificationIn, verify_rectification),
    ActionKind.DECIDE_EXTENSION: (ExtensionDecisionIn, decide_extension),
    ActionKind.LIST: (ListingIn, list_hazard),
    ActionKind.REFUSAL: (RefusalIn, record_refusal),
    ActionKind.WITHDRAW: (WithdrawalIn, withdraw_case),
}
FIVE = ("responsibility", "measures", "funds", "time_limit", "emergency_plan")

add_messages(
    {
        "casework.title": ("案件 {hazard_id}", "Case {hazard_id}"),
        "casework.back": ("返回工作台", "Back to the workbench"),
        "casework.documents": ("已印发文书", "Issued documents"),
        "casework.documents.none": ("尚无印发的文书。", "No document issued yet."),
        "casework.documents.number": ("文号", "Number"),
        "casework.documents.title": ("标题", "Title"),
        "casework.documents.signed_on": ("成文日期", "Date"),
        "casework.documents.pdf": ("下载 PDF", "Download PDF"),
        "casework.documents.more": (
            "共 {total} 件，此处列出前 {shown} 件。",
            "{total} in all; the first {shown} are listed.",
        ),
        "casework.summary": ("案件概况", "Summary"),
        "casework.enterprise": ("企业", "Enterprise"),
        "casework.status": ("状态", "Status"),
        "casework.class": ("隐患级别", "Class"),
        "casework.supervising": ("督办单位", "Supervising unit"),
        "casework.deadline": ("现行期限", "Deadline in force"),
        "casework.listing": ("挂牌", "Listing"),
        "casework.not_listed": ("未挂牌", "Not listed"),
        "casework.overdue_since": (
            "自 {since} 起逾期 {days} 天",
            "Overdue since {since}, {days} days",
        ),
        "casework.timers": ("待触发的期限", "Pending deadlines"),
        "casework.no_timers": ("没有待触发的期限。", "No deadline is pending."),
        "casework.timer.reminder": ("到期提醒", "Reminder"),
        "casework.timer.reminder_lapsed": ("到期提醒（已过）", "Reminder (lapsed)"),
        "casework.timer.deadline": ("整改期限届满", "Deadline"),
        "casework.timer.review": ("复查期限", "Review due"),
        "casework.timer.extension_decision": ("延期审批期限", "Extension decision due"),
        "casework.remaining": ("剩余", "Remaining"),
        "casework.passed": ("已到期", "Due now"),
        "casework.ladder": ("逐级督办阶梯", "Escalation ladder"),
        "casework.ladder.start": ("登记时的督办单位", "Supervising unit at registration"),
        "casework.ladder.rung": ("第 {n} 级", "Rung {n}"),
        "casework.ladder.current": ("当前", "current"),
        "casework.ladder.done": ("已过", "passed"),
        "casework.ladder.ahead": ("未到", "ahead"),
        "casework.ladder.deadline": ("督办期限 {d}", "deadline {d}"),
        "casework.ladder.listing": ("挂牌：{level}", "listing: {level}"),
        "casework.timeline": ("办理记录", "Timeline"),
        "casework.timeline.who": ("经办", "By"),
        "casework.timeline.system": ("系统（期限到期）", "the system (a deadline)"),
        "casework.timeline.rule": ("依据", "Rule"),
        "casework.timeline.recorded": ("记录于 {at}", "recorded {at}"),
        "casework.changed": (
            "案件有新记录，下方可办事项可能已变化：",
            "The case has new events; the actions below may have changed:",
        ),
        "casework.reload": ("刷新本页", "reload the page"),
        "casework.actions": ("可办事项", "Actions"),
        "casework.no_actions": (
            "您现在对本案没有可办事项。",
            "You have no action on this case now.",
        ),
        "casework.submit": ("提交", "Submit"),
        "casework.action.verification": ("验收", "Verify"),
        "casework.action.verification_delist": (
            "验收（合格即摘牌销号）",
            "Verify (a pass de-lists)",
        ),
        "casework.action.extension-decision": ("延期审批", "Decide the extension"),
        "casework.action.listing": ("挂牌督办 / 提级挂牌", "List / raise the listing"),
        "casework.action.refusal": ("认定拒不整改（移送执法）", "Record a refusal (referral)"),
        "casework.action.withdrawal": ("撤销督办", "Withdraw the case"),
        "casework.done.verification": ("验收结果已记录。", "The verification is recorded."),
        "casework.done.extension-decision": ("延期审批已记录。", "The decision is recorded."),
        "casework.done.listing": ("挂牌已记录。", "The listing is recorded."),
        "casework.done.refusal": ("拒不整改已记录。", "The refusal is recorded."),
        "casework.done.withdrawal": ("案件已撤销。", "The case is withdrawn."),
        "casework.f.result": ("验收结论", "Result"),
        "casework.f.pass": ("合格", "Passed"),
        "casework.f.fail": ("不合格", "Failed"),
        "casework.f.comments": ("验收意见", "Comments"),
        "casework.f.new_deadline": ("新的整改期限", "New deadline"),
        "casework.f.new_deadline_hint": (
            "不合格时可填；留空则按政策的重新整改期限。时间为 {zone}。",
            "On a failure; empty: the policy's rework period. Time in {zone}.",
        ),
        "casework.f.decision": ("审批结论", "Decision"),
        "casework.f.approve": ("批准", "Approve"),
        "casework.f.reject": ("驳回", "Reject"),
        "casework.f.reason": ("理由", "Reason"),
        "casework.f.extension_deadline_hint": (
            "批准时可填；留空则按申请的期限。时间为 {zone}。",
            "On approval; empty: the requested deadline. Time in {zone}.",
        ),
        "casework.f.level": ("挂牌级别", "Listing level"),
        "casework.f.measures": ("督办要求", "Required measures"),
        "casework.f.deadline": ("挂牌督办期限", "Listing deadline"),
        "casework.f.deadline_hint": (
            "留空则按政策。时间为 {zone}。",
            "Empty: the policy's. Time in {zone}.",
        ),
        "casework.f.five": ("五落实", "Five implementations"),
        "casework.f.five_hint": (
            "政策要求时五项都须填写。",
            "All five when the policy requires them.",
        ),
        "casework.f.responsibility": ("责任落实", "Responsibility"),
        "casework.f.five_measures": ("措施落实", "Measures"),
        "casework.f.funds": ("资金落实", "Funds"),
        "casework.f.time_limit": ("时限落实", "Time limit"),
        "casework.f.emergency_plan": ("预案落实", "Emergency plan"),
        "casework.f.details": ("拒不整改的情况", "What the refusal was"),
        "casework.f.withdraw_reason": ("撤销理由", "Reason for withdrawal"),
        "casework.f.local_time": ("不是有效的时间：{value}", "not a valid time: {value}"),
    }
)


def _local_instant(value: str, zone: Any, field: str) -> str | None:
    """A ``datetime-local`` field (wall clock in the policy's zone) as an RFC 3339 instant."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(422, "instant.rfc3339", f"no such instant: {value}", field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def action_body(kind: ActionKind, form: dict[str, str], zone: Any) -> BaseModel:
    """The API's request body of ``kind`` from the form's fields; a field the model refuses is
    the API's ``request.invalid`` naming it."""
    model = SUPERVISOR_ACTIONS[kind][0]
    data: dict[str, Any]
    if kind is ActionKind.VERIFY:
        data = {
            "passed": form.get("passed", ""),
            "comments": form.get("comments", ""),
            "new_deadline": _local_instant(form.get("new_deadline", ""), zone, "new_deadline"),
        }
    elif kind is ActionKind.DECIDE_EXTENSION:
        data = {
            "approve": form.get("approve", ""),
            "reason": form.get("reason", ""),
            "new_deadline": _local_instant(form.get("new_deadline", ""), zone, "new_deadline"),
        }
    elif kind is ActionKind.LIST:
        five = {name: form.get(f"listing_measures.{name}", "").strip() for name in FIVE}
        data = {
            "level": form.get("level", ""),
            "measures": form.get("measures", ""),
            "deadline": _local_instant(form.get("deadline", ""), zone, "deadline"),
            "listing_measures": five if any(five.values()) else None,
        }
    elif kind is ActionKind.REFUSAL:
        data = {"details": form.get("details", "")}
    else:
        data = {"reason": form.get("reason", "")}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or None
        raise Refused(422, "request.invalid", str(first.get("msg", "invalid")), field) from None


async def case_view(services: Services, viewer: Viewer, hazard_id: str) -> CasePageView:
    """The case as the API answers it, its stored events, its ladder and the viewer's offers."""
    principal = viewer.principal
    case = await services.case(principal, hazard_id)  # the read check, the workflow's state

    def read() -> tuple[list[Any], Any]:
        events = services.store.read_stream(case_stream_id(hazard_id))
        return events, actor_of(principal, services.reference)

    events, actor = await run_in_threadpool(read)
    state = state_from_data(case.get("state"))
    policy = services.policy
    return CasePageView(
        hazard_id=hazard_id,
        case=case,
        state=state,
        # The state's version, not the events read after it: an event that lands between the
        # two reads is newer than the state shown, and the next live poll brings it.
        version=int(case.get("version") or len(events)),
        timeline=tuple(timeline_entry(e, policy) for e in reversed(events)),
        pending=pending_of(case),
        ladder=ladder_of(state, policy),
        offers=offered_actions(state, actor, policy),
        now=services.clock(),
    )


def _context(view: CasePageView, services: Services) -> dict[str, Any]:
    return {
        "view": view,
        "poll_seconds": POLL_SECONDS,
        # One Idempotency-Key per form shown: a form sent twice is one request.
        "action_keys": {kind.value: secrets.token_hex(16) for kind in SUPERVISOR_ACTIONS},
        "errors": FormErrors(),
        "none_errors": FormErrors(),
        "failed": None,
        "values": {},
        "policy": services.policy,
    }


@router.page("/console/cases/{hazard_id}", roles=READERS)
async def case_page(
    request: Request, hazard_id: HazardPath, services: ServicesDep, viewer: SignedIn
) -> Response:
    view = await case_view(services, viewer, hazard_id)
    # The documents issued for the case (公文), as GET /hazards/{id}/documents lists them.
    documents = await run_in_threadpool(
        services.case_documents, viewer.principal, hazard_id, limit=DOCUMENTS_SHOWN
    )
    context = _context(view, services) | {"documents": documents}
    return await run_in_threadpool(render, request, "casework/case.html", context)


@router.page("/console/cases/{hazard_id}/documents/{short_code}/pdf", roles=READERS)
async def case_document_pdf(
    hazard_id: HazardPath, short_code: ShortCode, services: ServicesDep, viewer: SignedIn
) -> Response:
    """An issued document's PDF for the console's session: the API's service, access rule and
    bytes (``GET /api/v1/hazards/{id}/documents/{code}/pdf``)."""
    row, pdf = await run_in_threadpool(
        services.case_document_pdf, viewer.principal, hazard_id, short_code
    )
    return pdf_response(row, pdf)


@router.page("/console/cases/{hazard_id}/live", roles=READERS)
async def case_live(
    request: Request,
    hazard_id: HazardPath,
    services: ServicesDep,
    viewer: SignedIn,
    version: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The live part of the case page, or 204 while the case's stream has no new event."""

    def current() -> int:
        services.require_read(viewer.principal, hazard_id)
        return services.store.stream_version(case_stream_id(hazard_id))

    if await run_in_threadpool(current) == version:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    view = await case_view(services, viewer, hazard_id)
    context = _context(view, services) | {"changed_from": version}
    return await run_in_threadpool(render, request, "casework/live.html", context)


@router.page(
    "/console/cases/{hazard_id}/actions/{action}", roles=("supervisor",), methods=("POST",)
)
async def case_action(
    request: Request,
    hazard_id: HazardPath,
    action: Annotated[str, Path(max_length=40)],
    services: ServicesDep,
    viewer: SignedIn,
) -> Response:
    """One of the supervisor's actions, sent through the API's route function with the form's
    Idempotency-Key; a refusal shows in the form."""
    try:
        kind = ActionKind(action)
    except ValueError:
        raise not_found(f"action {action}") from None
    if kind not in SUPERVISOR_ACTIONS:
        raise not_found(f"action {action}")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    key = form.get("idempotency_key") or None
    errors = FormErrors()
    try:
        body = action_body(kind, form, services.policy.tz)
        await SUPERVISOR_ACTIONS[kind][1](
            body, CaseAction(services, viewer.principal, hazard_id, key)
        )
    except Exception as exc:
        errors.add(exc)  # not a refusal: raised again, a 500
        refusal = errors.refusals[0]
        if refusal.status in (401, 403, 404):
            raise
        view = await case_view(services, viewer, hazard_id)
        documents = await run_in_threadpool(
            services.case_documents, viewer.principal, hazard_id, limit=DOCUMENTS_SHOWN
        )
        context = _context(view, services) | {
            "documents": documents,
            "errors": errors,
            "failed": kind.value,
            "values": form,
        }
        if key:  # the same key again: the form corrected and sent is still one request
            context["action_keys"] = context["action_keys"] | {kind.value: key}
        return await run_in_threadpool(
            render, request, "casework/case.html", context, status=refusal.status
        )
    response = RedirectResponse(f"/console/cases/{hazard_id}", status_code=303)
    set_flash(response, f"casework.done.{kind.value}")
    return response
