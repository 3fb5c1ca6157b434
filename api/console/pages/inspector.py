"""The inspector's (网格员) pages, made for a phone: what is due in the grid, and registering a
hazard in a few taps — the enterprise found by name or credit code, class, category, measures
and the deadline mode — through the API's own ``POST /hazards`` (its rules, its scope check,
its Idempotency-Key ledger: a double tap registers one hazard)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.actions import (
    answer_of,
    form_key,
    judged,
    local_input,
    local_instant,
    new_key,
)
from api.console.components import FormErrors, Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.evidence import ACCEPT, FILES_FIELD, form_uploads, uploaded_evidence
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render, set_flash
from api.routes.hazards import register_hazard
from api.schemas import HazardIn
from api.services import Services

router = ConsoleRouter("inspector")
INSPECTOR = ("inspector",)
HOME = "/console/inspector/due"
REGISTER = "/console/inspector/register"
SEARCH = "/console/inspector/enterprises"
router.start_page("inspector", HOME, priority=10)
router.nav(HOME, "nav.inspector.due", roles=INSPECTOR, order=5)
router.nav(REGISTER, "nav.inspector.register", roles=INSPECTOR, order=6)
Text = Annotated[str, Form(max_length=10_000)]

add_messages(
    {
        "nav.inspector.due": ("待办", "Due"),
        "nav.inspector.register": ("登记隐患", "Register a hazard"),
        "inspector.title": ("我的网格：待办", "My grid: what is due"),
        "inspector.intro": (
            "本网格未办结的案件，按整改期限排序；逾期的排在最前。",
            "Open cases of your grid, by deadline; overdue ones first.",
        ),
        "inspector.register_now": ("登记新隐患", "Register a new hazard"),
        "inspector.counts": (
            "未办结 {open} 件，其中逾期 {overdue} 件，{days} 天内到期 {soon} 件",
            "{open} open, {overdue} overdue, {soon} due within {days} days",
        ),
        "inspector.days_left": ("剩 {days} 天", "{days} day(s) left"),
        "inspector.due_today": ("今日到期", "Due today"),
        "inspector.no_deadline": ("无期限", "No deadline"),
        "inspector.open_case": ("查看案件", "Open the case"),
        "inspector.empty": ("本网格没有未办结的案件。", "No open case in your grid."),
        "inspector.registered": ("已登记隐患 {hazard_id}。", "Hazard {hazard_id} registered."),
        "register.title": ("登记隐患", "Register a hazard"),
        "register.intro": (
            "按企业名称或统一社会信用代码查找企业，选定后填写隐患情况。",
            "Find the enterprise by name or credit code, pick it, then describe the hazard.",
        ),
        "register.search": ("查找企业", "Find the enterprise"),
        "register.search_hint": (
            "输入企业名称的一部分或信用代码",
            "Part of its name, or its credit code",
        ),
        "register.search_button": ("查找", "Search"),
        "register.enterprise": ("企业", "Enterprise"),
        "register.no_match": ("本网格内没有匹配的企业。", "No enterprise of your grid matches."),
        "register.pick_hint": (
            "点选一家企业（仅限本网格内）",
            "Tap one enterprise (of your grid only)",
        ),
        "register.class": ("隐患等级", "Class"),
        "register.checklist_clause": ("重大隐患判定依据", "Checklist clause (major hazard)"),
        "register.checklist_hint": (
            "重大隐患须写明判定标准的条款，如：工贸企业重大事故隐患判定标准 第四条第（一）项",
            "A major hazard names the clause of the checklist that made it major",
        ),
        "register.category": ("隐患类别", "Category"),
        "register.category.thing": ("物的不安全状态", "Unsafe state of things"),
        "register.category.person": ("人的不安全行为", "Unsafe behaviour"),
        "register.category.management": ("管理缺陷", "Management defect"),
        "register.source": ("发现方式", "Found by"),
        "register.source.self_inspection": ("企业自查", "Self-inspection"),
        "register.source.grid_patrol": ("网格巡查", "Grid patrol"),
        "register.source.enforcement_inspection": ("执法检查", "Enforcement inspection"),
        "register.source.unannounced_inspection": ("四不两直", "Unannounced inspection"),
        "register.source.public_report": ("举报", "Public report"),
        "register.description": ("隐患描述", "Description"),
        "register.location": ("部位", "Location"),
        "register.found_at": ("发现时间", "Found at"),
        "register.found_at_hint": ("不填则为现在", "Leave empty for now"),
        "register.mode": ("整改方式", "Rectification"),
        "register.mode.immediate": ("立改立销", "Fixed on the spot"),
        "register.mode.deadline": ("限期整改", "By a deadline"),
        "register.mode.listed": ("挂牌督办", "Listed supervision"),
        "register.deadline": ("整改期限", "Deadline"),
        "register.deadline_hint": (
            "限期整改必填（{zone} 时间）",
            "Required for a deadline ({zone} time)",
        ),
        "register.measures": ("整改措施", "Measures"),
        "register.files": ("现场照片和文件", "Photos and documents"),
        "register.files_hint": (
            "可选多个：照片、PDF、Word 或 Excel 文件",
            "Choose one or more photos, PDFs, Word or Excel files",
        ),
        "register.responsible_person": ("整改责任人", "Responsible person"),
        "register.submit": ("登记", "Register"),
        "register.picked": ("已选：{name}（{code}）", "Picked: {name} ({code})"),
    }
)


def due_window(services: Services) -> timedelta:
    """The policy's longest reminder before a deadline: "due soon" within it."""
    longest = timedelta(days=3)
    for offset in services.policy.reminders.before_deadline:
        longest = max(longest, timedelta(days=offset.days, seconds=offset.seconds))
    return longest


def _days_left(deadline: Any, now: datetime) -> int | None:
    if not deadline:
        return None
    moment = deadline if isinstance(deadline, datetime) else datetime.fromisoformat(str(deadline))
    return max(0, (moment - now).days)


def _within(deadline: Any, now: datetime, window: timedelta) -> bool:
    if not deadline:
        return False
    moment = deadline if isinstance(deadline, datetime) else datetime.fromisoformat(str(deadline))
    return moment - now <= window


@router.page(HOME, roles=INSPECTOR)
def due(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    principal = viewer.principal
    page = services.list_hazards(principal, open_only=True, limit=limit, offset=offset)
    overdue = services.list_hazards(principal, open_only=True, overdue=True, limit=1).total
    now = services.clock()
    window = due_window(services)
    # Sorted by deadline: the first hundred on time hold every one due within the window
    # unless more than a hundred are (then the count says 100).
    on_time = services.list_hazards(principal, open_only=True, overdue=False, limit=100).items
    soon = sum(1 for item in on_time if _within(item["deadline"], now, window))
    rows = [
        {"item": item, "days_left": None if item.overdue else _days_left(item["deadline"], now)}
        for item in page.items
    ]
    return render(
        request,
        "inspector/due.html",
        {
            "pager": Pager.of(request, page),
            "rows": rows,
            "counts": {
                "open": page.total,
                "overdue": overdue,
                "soon": soon,
                "days": window.days,
            },
        },
    )


def _choices(services: Services, viewer: Any, q: str) -> list[Any]:
    return services.reference.search_enterprises(q, within=viewer.scope, limit=10) if q else []


def _form_page(
    request: Request,
    services: Services,
    viewer: Any,
    form: dict[str, str],
    errors: FormErrors,
    *,
    q: str = "",
    key: str | None = None,
    status: int = 200,
) -> Response:
    picked = services.reference.enterprise(form.get("credit_code", "").upper())
    if (
        picked is not None
        and viewer.scope
        and not services.reference.is_within(picked.grid_code, viewer.scope)
    ):
        picked = None
    return render(
        request,
        "inspector/register.html",
        {
            "form": form,
            "errors": errors,
            "q": q,
            "choices": _choices(services, viewer, q),
            "picked": picked,
            "key": key or new_key(),
            "files_field": FILES_FIELD,
            "files_accept": ACCEPT,
        },
        status=status,
    )


EMPTY_FORM = {
    "credit_code": "",
    "hazard_class": "general",
    "checklist_clause": "",
    "category": "thing",
    "source": "grid_patrol",
    "description": "",
    "location": "",
    "found_at": "",
    "mode": "deadline",
    "deadline": "",
    "measures": "",
    "responsible_person": "",
}


@router.page(REGISTER, roles=INSPECTOR)
def register_page(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    q: Annotated[str, Query(max_length=100)] = "",
    credit_code: Annotated[str, Query(max_length=18)] = "",
) -> Response:
    # Found now, to the minute: the form holds it, so the same form sent twice is the same
    # body (the Idempotency-Key's request) — "now" at each send would be another.
    found_at = local_input(services.clock(), services.policy.tz)
    form = {**EMPTY_FORM, "credit_code": credit_code, "found_at": found_at}
    return _form_page(request, services, viewer, form, FormErrors(), q=q.strip())


@router.page(SEARCH, roles=INSPECTOR)
def search(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    q: Annotated[str, Query(max_length=100)] = "",
    credit_code: Annotated[str, Query(max_length=18)] = "",
) -> Response:
    """The enterprises of the inspector's grid matching ``q`` (htmx swaps them into the form)."""
    return render(
        request,
        "inspector/choices.html",
        {
            "choices": _choices(services, viewer, q.strip()),
            "q": q.strip(),
            "form": {"credit_code": credit_code},
            "errors": FormErrors(),
        },
    )


@router.page(REGISTER, roles=INSPECTOR, methods=("POST",))
async def register(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    credit_code: Text = "",
    hazard_class: Text = "general",
    checklist_clause: Text = "",
    category: Text = "",
    source: Text = "grid_patrol",
    description: Text = "",
    location: Text = "",
    found_at: Text = "",
    mode: Text = "deadline",
    deadline: Text = "",
    measures: Text = "",
    responsible_person: Text = "",
    q: Text = "",
    idempotency_key: Text = "",
) -> Response:
    zone = services.policy.tz
    form = {
        "credit_code": credit_code.strip(),
        "hazard_class": hazard_class,
        "checklist_clause": checklist_clause,
        "category": category,
        "source": source,
        "description": description,
        "location": location,
        "found_at": found_at,
        "mode": mode,
        "deadline": deadline,
        "measures": measures,
        "responsible_person": responsible_person,
    }
    body: dict[str, Any] = {
        **form,
        "credit_code": form["credit_code"].upper(),
        "checklist_clause": checklist_clause.strip() or None,
        "found_at": local_instant(found_at, zone) or services.clock().isoformat(),
        "deadline": local_instant(deadline, zone) or None,
    }
    errors = FormErrors()
    key = form_key(idempotency_key)
    # The photos of the scene, each through the API's upload service, cited by the command.
    body["evidence"] = await uploaded_evidence(
        services, viewer.principal, await form_uploads(request), errors
    )
    model = None if errors else judged(HazardIn, body, errors)
    if model is not None:
        try:
            answer = answer_of(await register_hazard(model, services, viewer.principal, key))
        except Exception as exc:  # a refusal of the API: shown in the form, by its field
            errors.add(exc)
        else:
            response = RedirectResponse(HOME, status_code=303)
            set_flash(response, "inspector.registered", hazard_id=answer["hazard_id"])
            return response
    status = max(r.status for r in errors.refusals)
    # A refused registration changed nothing: the form is sent again under a new key.
    return await run_in_threadpool(
        _form_page, request, services, viewer, form, errors, q=q.strip(), status=status
    )
