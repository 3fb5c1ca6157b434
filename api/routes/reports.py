"""Figures of a grid unit's subtree for a month, quarter or year: the stored reports (as they
were when their schedule ran, with their content hash) and the statistics computed now from
the read models. For the supervising units in scope, auditors and admins."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path

from activities.projections.read_models.figures.queries import (
    unit_statistics,
)
from activities.reports import report_content
from api.auth import Principal
from api.deps import GridCodePath, PrincipalDep, ServicesDep
from api.schemas import StatisticsOut
from api.services import Services
from api.services.refusals import Refused, forbidden, not_found
from api.text_input import PERIOD_PATTERN
from domain.periods import (
    Period,
)

router = APIRouter(tags=["reports"])

ReportKind = Literal["monthly", "quarterly", "yearly"]
# The pattern is stated for clients and checked by the route, which names the rule
# (report.period.invalid) and checks the period against the kind.
ReportPeriod = Annotated[
    str,
    Path(
        max_length=7,
        json_schema_extra={"pattern": PERIOD_PATTERN},
        description="2026-10, 2026-Q3 or 2026 (the years 1900..9998)",
    ),
]


def _require_unit_figures(
    services: Services, principal: Principal, kind: str, unit_code: str, period: str
) -> None:
    """Reports and statistics: a valid period, for the supervising units in scope."""
    from domain.periods import (
        check_period,
    )

    try:
        if not re.match(PERIOD_PATTERN, period):
            raise ValueError(f"period: {period!r} is not a month, quarter or year of 1900..9998")
        check_period(kind, period)
    except ValueError as exc:
        raise Refused(422, "report.period.invalid", str(exc), "period") from exc
    if principal.role == "enterprise":
        raise forbidden("reports and statistics are for the supervising units")
    if principal.role in ("inspector", "supervisor") and not services.reference.is_within(
        unit_code, principal.scope or ""
    ):
        raise forbidden(f"grid unit {unit_code} is outside your grid")


@router.get("/statistics/{kind}/{unit_code}/{period}", response_model=StatisticsOut)
def statistics(
    kind: ReportKind,
    unit_code: GridCodePath,
    period: ReportPeriod,
    services: ServicesDep,
    principal: PrincipalDep,
) -> Any:
    """统计: the unit's subtree's figures for a month, quarter or year, computed now from
    the read models in the policy's time zone — a period that has ended shows exactly
    what its report holds; a running one, the figures so far."""
    _require_unit_figures(services, principal, kind, unit_code, period)
    if services.reference.grid_unit(unit_code) is None:
        raise Refused(404, "not_found", f"grid unit {unit_code} not found", "unit_code")
    try:
        span = Period.of_report(kind, period)
    except ValueError as exc:  # e.g. year 0000: a label of the right shape, no such period
        raise Refused(422, "report.period.invalid", str(exc), "period") from exc
    policy = services.policy
    now = services.clock()
    figures = unit_statistics(services.engine, unit_code, span, now=now, time_zone=policy.time_zone)
    return {
        "kind": kind,
        "unit_code": unit_code,
        "period": period,
        "as_of": now,
        "period_ended": now >= figures.end,
        "content": report_content(kind, period, figures, policy),
    }


@router.get("/reports/{kind}/{unit_code}/{period}")
def report(
    kind: ReportKind,
    unit_code: GridCodePath,
    period: ReportPeriod,
    services: ServicesDep,
    principal: PrincipalDep,
) -> Any:
    """A monthly risk-analysis or quarterly statistics report, as stored (with its hash)."""
    from workflows.ids import (
        report_key,
    )

    _require_unit_figures(services, principal, kind, unit_code, period)
    events = services.store.read_stream(report_key(kind, unit_code, period))
    if not events:
        raise not_found(f"{kind} report of {unit_code} for {period}")
    return events[0].data
