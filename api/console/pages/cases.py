"""The case list of the viewer's scope: the API's ``GET /hazards`` (``Services.list_hazards``,
the same scope rules), for every role that reads cases. The start page of the inspector, the
enterprise, the supervisor and the auditor until their own pages declare a higher priority."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from api.console.components import Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render

router = ConsoleRouter("cases")
READERS = ("inspector", "enterprise", "supervisor", "auditor", "admin")
for role in ("inspector", "enterprise", "supervisor", "auditor"):
    router.start_page(role, "/console/cases", priority=0)
router.nav("/console/cases", "nav.cases", roles=READERS, order=10)

add_messages(
    {
        "nav.cases": ("案件", "Cases"),
        "cases.title.inspector": ("本网格的案件", "Cases of my grid"),
        "cases.title.supervisor": ("辖区内的案件", "Cases of my jurisdiction"),
        "cases.title.enterprise": ("本企业的隐患", "Our hazards"),
        "cases.title.auditor": ("全部案件", "All cases"),
        "cases.title.admin": ("全部案件", "All cases"),
        "cases.scope": ("范围：{name}（{code}）", "Scope: {name} ({code})"),
        "cases.filter": ("筛选", "Filter"),
        "cases.open_only": ("只看未办结", "Open cases only"),
        "cases.overdue_only": ("只看逾期", "Overdue only"),
        "cases.apply": ("应用", "Apply"),
        "cases.hazard": ("隐患编号", "Hazard"),
        "cases.enterprise": ("企业", "Enterprise"),
        "cases.description": ("隐患描述", "Description"),
        "cases.class": ("类别", "Class"),
        "cases.status": ("状态", "Status"),
        "cases.level": ("督办层级", "Supervised at"),
        "cases.deadline": ("整改期限", "Deadline"),
        "cases.empty": (
            "范围内没有符合条件的案件。",
            "No case in your scope matches.",
        ),
        "cases.urgency.overdue": ("逾期", "Overdue"),
        "cases.urgency.open": ("办理中", "Open"),
        "cases.urgency.closed": ("已办结", "Closed"),
    }
)


@router.page("/console/cases", roles=READERS)
def cases(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    open_only: bool = False,
    overdue: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    page = services.list_hazards(
        viewer.principal, open_only=open_only, overdue=overdue or None, limit=limit, offset=offset
    )
    scope_name = None
    if viewer.scope:
        unit = services.reference.grid_unit(viewer.scope)
        enterprise = None if unit else services.reference.enterprise(viewer.scope)
        scope_name = unit.name if unit else (enterprise.name if enterprise else viewer.scope)
    return render(
        request,
        "cases/list.html",
        {
            "pager": Pager.of(request, page),
            "scope_name": scope_name,
            "open_only": open_only,
            "overdue": bool(overdue),
        },
    )
