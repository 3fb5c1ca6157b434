"""The enterprise's (企业安全员) pages: its own hazards with their deadlines; on a hazard, the
governance plan (治理方案, six parts), the rectification report (申请验收) and an extension
request (延期申请); its credit record and an objection (陈述申辩) within the window.

Each form goes through the API's own route with the session's principal — the same access
rule (the enterprise itself), the same Idempotency-Key ledger (the form's key), the same
workflow update and domain ``decide``; a refusal is shown in the form, naming its field.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Form, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.console.actions import form_key, judged, local_instant, new_key
from api.console.components import FormErrors, Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.evidence import ACCEPT, FILES_FIELD, form_uploads, uploaded_evidence
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render, set_flash
from api.routes.case_actions import (
    CaseAction,
    report_rectification,
    request_extension,
    submit_governance_plan,
)
from api.routes.credit import CreditAction, file_objection
from api.routes.credit import credit as read_credit
from api.schemas import (
    HAZARD_ID_PATTERN,
    ExtensionRequestIn,
    GovernancePlanIn,
    ObjectionIn,
    ReportIn,
)
from api.services import Services
from api.services.refusals import Refused
from workflows.ids import case_stream_id

router = ConsoleRouter("enterprise")
ENTERPRISE = ("enterprise",)
HOME = "/console/enterprise/hazards"
CASE = "/console/enterprise/hazards/case"
CREDIT = "/console/enterprise/credit"
router.start_page("enterprise", HOME, priority=10)
router.nav(HOME, "nav.enterprise.hazards", roles=ENTERPRISE, order=5)
router.nav(CREDIT, "nav.enterprise.credit", roles=ENTERPRISE, order=7)
Text = Annotated[str, Form(max_length=20_000)]
HazardField = Annotated[str, Form(max_length=80)]
PLAN_PARTS = (
    "goal_and_tasks",
    "methods_and_measures",
    "funds_and_materials",
    "organisation_and_people",
    "time_limit_and_requirements",
    "safety_measures_and_emergency_plan",
)

add_messages(
    {
        "nav.enterprise.hazards": ("本企业隐患", "Our hazards"),
        "nav.enterprise.credit": ("信用记录", "Credit record"),
        "enterprise.title": ("本企业的隐患与整改期限", "Our hazards and their deadlines"),
        "enterprise.intro": (
            "点开一项隐患，提交治理方案、整改报告或延期申请。",
            "Open a hazard to submit its governance plan, the rectification report or an "
            "extension request.",
        ),
        "enterprise.open_only": ("只看未办结", "Open only"),
        "enterprise.act": ("办理", "Act"),
        "enterprise.empty": ("本企业没有隐患记录。", "No hazard is recorded for us."),
        "enterprise.case_title": ("隐患 {hazard_id}", "Hazard {hazard_id}"),
        "enterprise.full_case": ("查看案件全部记录", "The case's full record"),
        "enterprise.status": ("状态", "State"),
        "enterprise.deadline": ("整改期限", "Deadline"),
        "enterprise.class": ("隐患等级", "Class"),
        "enterprise.plan_state": ("治理方案", "Governance plan"),
        "enterprise.plan_done": ("已提交", "Submitted"),
        "enterprise.plan_missing": ("未提交", "Not yet"),
        "enterprise.reports": ("已报告整改 {count} 次", "{count} report(s) made"),
        "enterprise.reports_label": ("整改报告", "Reports"),
        "enterprise.location": ("部位", "Location"),
        "enterprise.zone_hint": ("{zone} 时间", "{zone} time"),
        "enterprise.review_by": ("复查期限", "Review by"),
        "enterprise.pending_extension": ("延期申请待审批", "Extension request pending"),
        "enterprise.closed": (
            "本案已办结，不能再提交。",
            "The case is closed: nothing more to send.",
        ),
        "plan.title": ("提交治理方案（重大隐患）", "Governance plan (major hazard)"),
        "plan.goal_and_tasks": ("治理的目标和任务", "Goal and tasks"),
        "plan.methods_and_measures": ("采取的方法和措施", "Methods and measures"),
        "plan.funds_and_materials": ("经费和物资的落实", "Funds and materials"),
        "plan.organisation_and_people": ("负责治理的机构和人员", "Organisation and people"),
        "plan.time_limit_and_requirements": ("治理的时限和要求", "Time limit and requirements"),
        "plan.safety_measures_and_emergency_plan": (
            "安全措施和应急预案",
            "Safety measures and emergency plan",
        ),
        "plan.submit": ("提交治理方案", "Submit the plan"),
        "plan.submitted": ("治理方案已提交。", "The governance plan was submitted."),
        "report.title": ("报告整改完成，申请验收", "Report the rectification done"),
        "report.summary": ("整改情况", "What was done"),
        "report.evidence": ("整改证据", "Evidence"),
        "report.evidence_hint": (
            "或每行一项：存放地址、空格、文件的 SHA-256（64 位十六进制）",
            "Or one per line: where it is, a space, its SHA-256 (64 hex digits)",
        ),
        "report.files": ("整改照片和文件", "Photos and documents"),
        "report.files_hint": (
            "可选多个：照片、PDF、Word 或 Excel 文件；至少提供一项证据（文件或下方的地址）",
            "Choose one or more photos, PDFs, Word or Excel files; give at least one piece of "
            "evidence (a file or an address below)",
        ),
        "report.submit": ("提交整改报告", "Send the report"),
        "report.submitted": ("整改报告已提交，等待验收。", "Report sent; verification follows."),
        "extension.title": ("申请延期", "Request an extension"),
        "extension.requested_deadline": ("申请延至", "New deadline asked for"),
        "extension.reasons": ("延期理由", "Reasons"),
        "extension.interim_safeguards": ("整改期间的安全防范措施", "Interim safeguards"),
        "extension.submit": ("提交延期申请", "Send the request"),
        "extension.submitted": ("延期申请已提交。", "Extension request sent."),
        "credit.title": ("本企业的信用记录", "Our credit record"),
        "credit.rating": ("信用等级", "Rating"),
        "credit.points": ("分值", "Points"),
        "credit.blacklisted": ("严重失信主体名单", "Serious-dishonesty list"),
        "credit.on_list_until": ("名单内，至 {until}", "On the list until {until}"),
        "credit.not_on_list": ("不在名单内", "Not on the list"),
        "credit.early_removal_from": ("可申请信用修复的时间", "Early removal possible from"),
        "credit.cases": (
            "登记隐患 {registered} 件，未办结 {open} 件，逾期 {overdue} 件",
            "{registered} hazard(s) registered, {open} open, {overdue} overdue",
        ),
        "credit.proceeding": ("正在进行的失信认定程序", "Open proceeding"),
        "credit.objection_until": ("陈述申辩期限", "Objections until"),
        "credit.no_proceeding": ("没有正在进行的失信认定程序。", "No proceeding is open."),
        "credit.entries": ("信用记录明细", "Entries"),
        "credit.entry.case": ("案件", "Case"),
        "credit.entry.kind": ("事项", "What"),
        "credit.entry.when": ("时间", "When"),
        "credit.no_entries": ("没有信用记录。", "Nothing recorded."),
        "objection.title": ("陈述申辩（异议）", "Statement and objection"),
        "objection.statement": ("陈述与申辩内容", "Your statement"),
        "objection.submit": ("提交异议", "Lodge the objection"),
        "objection.submitted": ("异议已提交。", "Objection lodged."),
        "objection.window_closed": (
            "陈述申辩期限已过，不能再提交异议。",
            "The window for objections has closed.",
        ),
    }
)


@router.page(HOME, roles=ENTERPRISE)
def hazards(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    page = services.list_hazards(viewer.principal, open_only=open_only, limit=limit, offset=offset)
    return render(
        request,
        "enterprise/hazards.html",
        {"pager": Pager.of(request, page), "open_only": open_only},
    )


def _evidence(text: str) -> list[dict[str, str]]:
    """Lines ``uri sha256`` as the API's evidence list (a line without a space is all uri,
    for the API to refuse naming ``evidence.N.sha256``)."""
    items = []
    for line in text.splitlines():
        if not line.strip():
            continue
        uri, _, digest = line.strip().rpartition(" ")
        if not uri:
            uri, digest = digest, ""
        items.append({"uri": uri.strip(), "sha256": digest.strip()})
    return items


async def _case_page(
    request: Request,
    services: Services,
    viewer: Any,
    hazard_id: str,
    *,
    form: str | None = None,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    case = await services.case(viewer.principal, hazard_id)  # the API's read, its access rule
    state = case.get("state") or {}
    # What was found and where: the registration's own words (the case state keeps neither).
    first = await run_in_threadpool(services.store.read_stream, case_stream_id(hazard_id), 1, 1)
    found = first[0].data if first else {}
    zone = services.policy.tz
    return await run_in_threadpool(
        render,
        request,
        "enterprise/case.html",
        {
            "case": case,
            "state": state,
            "found": found,
            "form": form,
            "values": values or {},
            "errors": errors or FormErrors(),
            "empty_errors": FormErrors(),
            "keys": {"plan": new_key(), "report": new_key(), "extension": new_key()},
            "plan_parts": PLAN_PARTS,
            "zone_key": zone.key,
            "files_field": FILES_FIELD,
            "files_accept": ACCEPT,
        },
        status=status,
    )


@router.page(CASE, roles=ENTERPRISE)
async def case_page(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    case: Annotated[str, Query(max_length=80)] = "",
) -> Response:
    """One of the enterprise's hazards with its forms; without ``case``, the list."""
    if not case:
        return RedirectResponse(HOME, status_code=303)
    return await _case_page(request, services, viewer, case)


async def _act(
    request: Request,
    services: Services,
    viewer: Any,
    hazard_id: str,
    form: str,
    values: dict[str, str],
    model: type[BaseModel],
    body: dict[str, Any],
    key: str,
    route: Callable[[Any, CaseAction], Awaitable[Response]],
    done: str,
) -> Response:
    errors = FormErrors()
    judged_body = judged(model, body, errors)
    if judged_body is not None:
        action = CaseAction(services, viewer.principal, hazard_id, form_key(key))
        try:
            await route(judged_body, action)
        except Exception as exc:  # the API's refusal, shown in the form by its field
            errors.add(exc)
        else:
            response = RedirectResponse(f"{CASE}?case={hazard_id}", status_code=303)
            set_flash(response, done)
            return response
    status = max(r.status for r in errors.refusals)
    return await _case_page(
        request, services, viewer, hazard_id, form=form, values=values, errors=errors,
        status=status,
    )  # fmt: skip


@router.page("/console/enterprise/governance-plan", roles=ENTERPRISE, methods=("POST",))
async def plan(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    hazard_id: HazardField = "",
    goal_and_tasks: Text = "",
    methods_and_measures: Text = "",
    funds_and_materials: Text = "",
    organisation_and_people: Text = "",
    time_limit_and_requirements: Text = "",
    safety_measures_and_emergency_plan: Text = "",
    idempotency_key: Text = "",
) -> Response:
    values = {
        "goal_and_tasks": goal_and_tasks,
        "methods_and_measures": methods_and_measures,
        "funds_and_materials": funds_and_materials,
        "organisation_and_people": organisation_and_people,
        "time_limit_and_requirements": time_limit_and_requirements,
        "safety_measures_and_emergency_plan": safety_measures_and_emergency_plan,
    }
    return await _act(
        request, services, viewer, _hazard(hazard_id), "plan", values, GovernancePlanIn,
        dict(values), idempotency_key, submit_governance_plan, "plan.submitted",
    )  # fmt: skip


@router.page("/console/enterprise/rectification-report", roles=ENTERPRISE, methods=("POST",))
async def report(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    hazard_id: HazardField = "",
    summary: Text = "",
    evidence: Text = "",
    idempotency_key: Text = "",
) -> Response:
    """The report with its evidence: files chosen in the form (uploaded through the API's
    upload service, then cited) and/or typed ``address SHA-256`` lines."""
    hazard = _hazard(hazard_id)
    values = {"summary": summary, "evidence": evidence}
    errors = FormErrors()
    files = await uploaded_evidence(services, viewer.principal, await form_uploads(request), errors)
    if errors:  # a file refused: shown beside the file field, nothing sent
        return await _case_page(
            request, services, viewer, hazard, form="report", values=values, errors=errors,
            status=max(r.status for r in errors.refusals),
        )  # fmt: skip
    body = {"summary": summary, "evidence": files + _evidence(evidence)}
    return await _act(
        request, services, viewer, hazard, "report", values, ReportIn, body,
        idempotency_key, report_rectification, "report.submitted",
    )  # fmt: skip


@router.page("/console/enterprise/extension-request", roles=ENTERPRISE, methods=("POST",))
async def extension(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    hazard_id: HazardField = "",
    requested_deadline: Text = "",
    reasons: Text = "",
    interim_safeguards: Text = "",
    idempotency_key: Text = "",
) -> Response:
    values = {
        "requested_deadline": requested_deadline,
        "reasons": reasons,
        "interim_safeguards": interim_safeguards,
    }
    body = {
        "requested_deadline": local_instant(requested_deadline, services.policy.tz),
        "reasons": reasons,
        "interim_safeguards": interim_safeguards,
    }
    return await _act(
        request, services, viewer, _hazard(hazard_id), "extension", values,
        ExtensionRequestIn, body, idempotency_key, request_extension, "extension.submitted",
    )  # fmt: skip


def _hazard(hazard_id: str) -> str:
    if not re.match(HAZARD_ID_PATTERN, hazard_id):
        raise Refused(422, "request.invalid", "a hazard id is needed", "hazard_id")
    return hazard_id


# ---------------------------------------------------------------------- credit


def _credit_page(
    request: Request,
    services: Services,
    viewer: Any,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    record = read_credit(viewer.scope or "", services, viewer.principal)
    now = services.clock()
    window_open = bool(
        record.open_proceeding_no and record.objection_until and record.objection_until > now
    )
    return render(
        request,
        "enterprise/credit.html",
        {
            "record": record,
            "window_open": window_open,
            "values": values or {"statement": ""},
            "errors": errors or FormErrors(),
            "key": new_key(),
        },
        status=status,
    )


@router.page(CREDIT, roles=ENTERPRISE)
def credit_page(request: Request, services: ServicesDep, viewer: SignedIn) -> Response:
    return _credit_page(request, services, viewer)


@router.page(CREDIT + "/objection", roles=ENTERPRISE, methods=("POST",))
async def objection(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    statement: Text = "",
    idempotency_key: Text = "",
) -> Response:
    errors = FormErrors()
    body = judged(ObjectionIn, {"statement": statement}, errors)
    if body is not None:
        action = CreditAction(
            services, viewer.principal, viewer.scope or "", form_key(idempotency_key)
        )
        try:
            await file_objection(body, action)
        except Exception as exc:  # the API's refusal, shown in the form
            errors.add(exc)
        else:
            response = RedirectResponse(CREDIT, status_code=303)
            set_flash(response, "objection.submitted")
            return response
    status = max(r.status for r in errors.refusals)
    return await run_in_threadpool(
        lambda: _credit_page(
            request, services, viewer, values={"statement": statement}, errors=errors,
            status=status,
        )
    )  # fmt: skip
