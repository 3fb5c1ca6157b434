"""The supervisor's 工作台: the cases of the scope coloured by urgency (逾期 / 临期 / 正常 /
已办结), the count of each per grid unit one level below the scope, filters as the API's case
list has them, and a page of cases (the API's page shape), most urgent first.

临期 is "due within the policy's warning": the deadline in force falls before the policy's
earliest reminder would (``reminders.before_deadline``). The page reads the case list's read
model only (``read_models/workbench.py``), with the API's scope rules
(``api/services/workbench.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request
from starlette.responses import Response

from api.console.components import Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render
from api.services.workbench import supervisor_workbench
from api.text_input import CREDIT_CODE_PATTERN
from domain.case import CaseStatus

router = ConsoleRouter("workbench")
VIEWERS = ("supervisor", "auditor", "admin")
router.start_page("supervisor", "/console/workbench", priority=10)
router.nav("/console/workbench", "nav.workbench", roles=VIEWERS, order=5)

add_messages(
    {
        "nav.workbench": ("工作台", "Workbench"),
        "workbench.title": ("督办工作台", "Supervision workbench"),
        "workbench.scope": ("范围：{name}", "Scope: {name}"),
        "workbench.urgency.overdue": ("逾期", "Overdue"),
        "workbench.urgency.due_soon": ("临期", "Due soon"),
        "workbench.urgency.on_time": ("正常", "On time"),
        "workbench.urgency.closed": ("已办结", "Closed"),
        "workbench.urgency.all": ("全部", "All"),
        "workbench.urgency_hint": (
            "临期：现行期限在政策的首次到期提醒之内（{window}）。",
            "Due soon: the deadline in force is within the policy's first reminder ({window}).",
        ),
        "workbench.counts": ("按紧迫程度计数", "By urgency"),
        "workbench.by_unit": ("按网格单元", "By grid unit"),
        "workbench.unit": ("网格单元", "Grid unit"),
        "workbench.unit_own": ("本单元直属", "This unit itself"),
        "workbench.total": ("合计", "Total"),
        "workbench.filters": ("筛选", "Filters"),
        "workbench.f.status": ("状态", "Status"),
        "workbench.f.any": ("不限", "Any"),
        "workbench.f.class": ("隐患级别", "Class"),
        "workbench.f.listed": ("挂牌", "Listing"),
        "workbench.f.listed_yes": ("已挂牌", "Listed"),
        "workbench.f.listed_no": ("未挂牌", "Not listed"),
        "workbench.f.level": ("挂牌级别", "Listing level"),
        "workbench.f.enterprise": ("企业统一社会信用代码", "Enterprise credit code"),
        "workbench.f.grid_unit": ("网格单元代码", "Grid unit code"),
        "workbench.apply": ("应用", "Apply"),
        "workbench.clear": ("清除", "Clear"),
        "workbench.cases": ("案件", "Cases"),
        "workbench.hazard": ("隐患编号", "Hazard"),
        "workbench.enterprise": ("企业", "Enterprise"),
        "workbench.description": ("隐患描述", "Description"),
        "workbench.urgency": ("紧迫程度", "Urgency"),
        "workbench.status": ("状态", "Status"),
        "workbench.level": ("督办层级", "Supervised at"),
        "workbench.deadline": ("现行期限", "Deadline"),
        "workbench.empty": ("范围内没有符合条件的案件。", "No case in your scope matches."),
        "workbench.open": ("办理", "Open"),
    }
)


def _window(services: Any) -> str:
    offsets = services.policy.reminders.before_deadline
    if not offsets:
        return "—"
    return str(max(offsets, key=lambda d: d.bounds_in_seconds()[1]))


@router.page("/console/workbench", roles=VIEWERS)
def workbench(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    urgency: Literal["overdue", "due_soon", "on_time", "closed"] | None = None,
    grid_unit: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[CaseStatus | None, Query()] = None,
    level: Literal["county", "city", "province"] | None = None,
    hazard_class: Literal["general", "major"] | None = None,
    listed: bool | None = None,
    enterprise: Annotated[
        str | None, Query(min_length=18, max_length=18, pattern=CREDIT_CODE_PATTERN)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    grid_unit = grid_unit or None
    page = supervisor_workbench(
        services,
        viewer.principal,
        urgency=urgency,
        grid_unit=grid_unit,
        statuses=[status.value] if status else None,
        listed_level=level,
        hazard_class=hazard_class,
        listed=listed,
        enterprise=enterprise.upper() if enterprise else None,
        limit=limit,
        offset=offset,
    )
    names: dict[str | None, str] = {}
    for unit in page.units:
        if unit.unit_code is not None:
            found = services.reference.grid_unit(unit.unit_code)
            names[unit.unit_code] = found.name if found else unit.unit_code
    scope_code = grid_unit or viewer.scope
    scope_unit = services.reference.grid_unit(scope_code) if scope_code else None
    filters = {
        "urgency": urgency or "",
        "grid_unit": grid_unit or "",
        "status": status.value if status else "",
        "level": level or "",
        "hazard_class": hazard_class or "",
        "listed": "" if listed is None else ("true" if listed else "false"),
        "enterprise": enterprise or "",
    }
    return render(
        request,
        "workbench/workbench.html",
        {
            "page": page,
            "pager": Pager.of(request, page),
            "unit_names": names,
            "scope_unit": scope_unit,
            "filters": filters,
            "statuses": [s.value for s in CaseStatus],
            "window": _window(services),
            "query_with": lambda **changes: _query(filters, changes),
        },
    )


def _query(filters: dict[str, str], changes: dict[str, str]) -> str:
    """The 工作台's address with ``filters`` changed by ``changes`` (paging starts over)."""
    from urllib.parse import urlencode

    kept = {k: v for k, v in (filters | changes).items() if v}
    return "/console/workbench" + (f"?{urlencode(kept)}" if kept else "")
