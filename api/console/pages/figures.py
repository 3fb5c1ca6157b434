"""The grid tree with its units' figures, the statistics of a period as charts, and the stored
reports to open and download — for the supervising units (as the API's reports and
statistics are).

Every figure is the API's: the statistics are ``GET /statistics/{kind}/{unit}/{period}``'s
answer (its route function, with its access rule: a unit outside the viewer's grid is 403),
read from the same tables as the stored reports; a stored report is ``GET
/reports/{kind}/{unit}/{period}``'s answer. The units' open cases by urgency are the
工作台's counts. Charts are SVG drawn by the template (``figures/charts.html``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from sqlalchemy import text
from starlette.responses import Response

from api.auth import Principal
from api.console.components import Pager
from api.console.deps import ServicesDep, SignedIn
from api.console.i18n import add_messages
from api.console.registry import ConsoleRouter
from api.console.render import render
from api.routes.reports import report as stored_report
from api.routes.reports import statistics as unit_statistics
from api.services import Services
from api.services.refusals import Refused, forbidden
from api.services.workbench import supervisor_workbench
from domain.grid import GridUnit
from domain.periods import Period

router = ConsoleRouter("figures")
VIEWERS = ("supervisor", "auditor", "admin")
router.nav("/console/grid", "nav.grid", roles=VIEWERS, order=40)
router.nav("/console/statistics", "nav.statistics", roles=VIEWERS, order=41)
router.nav("/console/reports", "nav.reports", roles=VIEWERS, order=42)
Kind = Literal["monthly", "quarterly", "yearly"]
CodeQuery = Annotated[str | None, Query(max_length=64)]
PeriodQuery = Annotated[str | None, Query(max_length=7)]
_STREAM = re.compile(r"^report-(monthly|quarterly|yearly)-(.+)-(\d{4}(?:-Q[1-4]|-\d{2})?)$")
TREND_MONTHS = 6
_URGENCIES = ("overdue", "due_soon", "on_time", "closed")

add_messages(
    {
        "nav.grid": ("网格", "Grid"),
        "nav.statistics": ("统计", "Statistics"),
        "nav.reports": ("报表", "Reports"),
        "figures.grid": ("网格及其数据", "The grid and its figures"),
        "figures.path": ("网格路径", "Grid path"),
        "figures.found_month": ("本月发现", "Found this month"),
        "figures.no_units": ("本单元没有下级网格。", "This unit has no units below it."),
        "figures.statistics": ("统计分析", "Statistics"),
        "figures.choose": ("选择期间", "Choose the period"),
        "figures.kind": ("类型", "Kind"),
        "figures.kind.monthly": ("月度", "Monthly"),
        "figures.kind.quarterly": ("季度", "Quarterly"),
        "figures.kind.yearly": ("年度", "Yearly"),
        "figures.period": ("期间", "Period"),
        "figures.running": ("期间未结束，数据截至当前", "the period runs: figures so far"),
        "figures.on_time_rate": ("到期整改率", "On-time rectification rate"),
        "figures.on_time_rate_short": ("到期整改率", "On-time rate"),
        "figures.on_time_detail": (
            "按期整改 {on_time} / 到期 {due}",
            "{on_time} rectified on time of {due} due",
        ),
        "figures.found_rectified": ("发现与整改", "Found and rectified"),
        "figures.found": ("发现隐患", "Found"),
        "figures.found_major": ("其中重大隐患", "of them major"),
        "figures.rectified": ("已整改", "Rectified"),
        "figures.overdue": ("逾期", "Overdue"),
        "figures.referred": ("移送执法", "Referred"),
        "figures.escalations": ("逐级升级（按层级）", "Escalations by level"),
        "figures.listed": ("挂牌（按级别）", "Listings by level"),
        "figures.delisted": ("摘牌（按级别）", "De-listings by level"),
        "figures.trend": ("近六个月到期整改率", "On-time rate, the last six months"),
        "figures.same_tables": (
            "数据与定期报表取自同一统计表。",
            "The figures come from the tables the reports read.",
        ),
        "figures.reports": ("定期报表", "Stored reports"),
        "figures.reports_lead": (
            "月度、季度、年度报表，按生成时的数据保存（含哈希）。",
            "Monthly, quarterly and yearly reports, stored as made (with their hash).",
        ),
        "figures.stored_at": ("生成时间", "Stored"),
        "figures.actions": ("操作", "Actions"),
        "figures.open": ("查看", "Open"),
        "figures.download": ("下载 JSON", "Download JSON"),
        "figures.no_reports": (
            "范围内还没有保存的报表。",
            "No report is stored in your scope yet.",
        ),
        "figures.none": ("无", "none"),
    }
)


def _home_unit(services: Services, principal: Principal, code: str | None) -> GridUnit:
    """The unit a page shows: the one asked for, else the viewer's own, else the top one."""
    code = code or principal.scope
    if code is None:
        roots = services.reference.grid_units(None)
        if not roots:
            raise Refused(404, "not_found", "no grid unit is recorded yet", "unit")
        return roots[0]
    unit = services.reference.grid_unit(code)
    if unit is None:
        raise Refused(404, "not_found", f"grid unit {code} not found", "unit")
    if principal.role in ("inspector", "supervisor") and not services.reference.is_within(
        code, principal.scope or ""
    ):
        raise forbidden(f"grid unit {code} is outside your grid")
    return unit


def _this_month(services: Services) -> Period:
    now = services.clock().astimezone(services.policy.tz)
    return Period.of_report("monthly", f"{now.year}-{now.month:02d}")


def _rate(content: dict[str, Any]) -> float:
    value = content.get("on_time_rectification_rate")
    return round(float(value) * 100, 1) if isinstance(value, int | float) else 0.0


def _rate_row(label: str | None, content: dict[str, Any]) -> tuple[Any, ...]:
    """A chart row of 到期整改率: "—" when nothing fell due (no rate, not 0 %)."""
    if content.get("on_time_rectification_rate") is None:
        return (label, 0, "rate", "—")
    return (label, _rate(content), "rate")


@router.page("/console/grid", roles=VIEWERS)
def grid(
    request: Request, services: ServicesDep, viewer: SignedIn, unit: CodeQuery = None
) -> Response:
    principal = viewer.principal
    shown = _home_unit(services, principal, unit)
    counts = {
        u.unit_code: u.counts
        for u in supervisor_workbench(services, principal, grid_unit=shown.code, limit=1).units
    }
    month = _this_month(services).label
    rows = []
    for child in services.reference.grid_units(shown.code):
        figures = unit_statistics("monthly", child.code, month, services, principal)["content"]
        rate = figures["on_time_rectification_rate"]
        rows.append(
            {
                "unit": child,
                "counts": counts.get(child.code, dict.fromkeys(_URGENCIES, 0)),
                "found": figures["found"],
                "rate": "—" if rate is None else f"{_rate(figures)}%",
            }
        )
    if None in counts:  # cases of the unit itself (an enterprise right under it)
        rows.append({"unit": None, "counts": counts[None], "found": None, "rate": "—"})
    path = list(reversed(services.reference.path_to_root(shown.code)))
    if principal.scope:  # the path from the viewer's own unit down
        codes = [u.code for u in path]
        path = path[codes.index(principal.scope) :] if principal.scope in codes else path
    return render(request, "figures/grid.html", {"unit": shown, "path": path, "rows": rows})


@router.page("/console/statistics", roles=VIEWERS)
def statistics(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    unit: CodeQuery = None,
    kind: Kind = "monthly",
    period: PeriodQuery = None,
) -> Response:
    principal = viewer.principal
    shown = _home_unit(services, principal, unit)
    if not period:
        now = services.clock().astimezone(services.policy.tz)
        quarter = (now.month - 1) // 3 + 1
        period = {
            "monthly": f"{now.year}-{now.month:02d}",
            "quarterly": f"{now.year}-Q{quarter}",
            "yearly": f"{now.year}",
        }[kind]
    stats = unit_statistics(kind, shown.code, period, services, principal)
    trend = []
    month = _this_month(services)
    for back in range(TREND_MONTHS - 1, -1, -1):
        year, number = divmod(month.year * 12 + month.number - 1 - back, 12)
        label = f"{year}-{number + 1:02d}"
        content = unit_statistics("monthly", shown.code, label, services, principal)["content"]
        trend.append(_rate_row(label, content))

    return render(
        request,
        "figures/statistics.html",
        {
            "unit": shown,
            "kind": kind,
            "period": period,
            "stats": stats,
            "rate_row": _rate_row(None, stats["content"]),
            "trend": trend,
            "levels": ("province", "city", "county", "township", "village"),
        },
    )


@dataclass(frozen=True)
class StoredReport:
    kind: str
    period: str
    unit_code: str
    unit_name: str
    stored_at: datetime

    @property
    def open_url(self) -> str:
        return f"/console/reports?kind={self.kind}&unit={self.unit_code}&period={self.period}"


def stored_reports(services: Services, principal: Principal) -> list[StoredReport]:
    """The reports stored in the event store (their first event), newest period first, of the
    units the viewer may read figures of."""
    with services.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT stream_id, data, recorded_at FROM events"
                " WHERE stream_id LIKE 'report-%' AND stream_version = 1"
                " ORDER BY stream_id DESC LIMIT 2000"
            )
        ).all()
    found = []
    for stream_id, data, recorded_at in rows:
        matched = _STREAM.match(stream_id)
        unit = ((data or {}).get("content") or {}).get("unit") or {}
        code = unit.get("code")
        if matched is None or not isinstance(code, str):
            continue
        if principal.role in ("inspector", "supervisor") and not services.reference.is_within(
            code, principal.scope or ""
        ):
            continue
        found.append(
            StoredReport(matched[1], matched[3], code, str(unit.get("name") or code), recorded_at)
        )
    return sorted(found, key=lambda r: (r.period, r.kind, r.unit_code), reverse=True)


@router.page("/console/reports", roles=VIEWERS)
def reports(
    request: Request,
    services: ServicesDep,
    viewer: SignedIn,
    kind: Kind | None = None,
    unit: CodeQuery = None,
    period: PeriodQuery = None,
    as_format: Annotated[Literal["html", "json"], Query(alias="format")] = "html",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The stored reports of the viewer's scope; one of them opened (``kind``, ``unit``,
    ``period``), or downloaded as the API answers it (``format=json``)."""
    principal = viewer.principal
    opened = stored = None
    if kind and unit and period:
        stored = stored_report(kind, unit, period, services, principal)
        opened = stored.get("content") if isinstance(stored, dict) else None
        if as_format == "json":
            name = f"report-{kind}-{unit}-{period}.json"
            return Response(
                json.dumps(stored, ensure_ascii=False, indent=2),
                media_type="application/json",
                headers={
                    "Content-Disposition": f'attachment; filename="{name}"',
                    "Cache-Control": "no-store",
                },
            )
    found = stored_reports(services, principal)
    page = {
        "items": found[offset : offset + limit],
        "total": len(found),
        "limit": limit,
        "offset": offset,
    }
    return render(
        request,
        "figures/reports.html",
        {
            "pager": Pager.of(request, page),
            "opened": opened,
            "download_url": f"{request.url.path}?{request.url.query}&format=json",
        },
    )
