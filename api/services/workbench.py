"""The supervisor's 工作台 (``read_models/workbench.py``) narrowed to what a principal may see,
with the case list's filters checked the same way (``lists.list_hazards``): a grid unit
outside the viewer's grid is 403, one that does not exist 404, a malformed credit code 422.
Sync: call it off the event loop."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from activities.projections.read_models.cases import CaseFilter
from activities.projections.read_models.workbench import URGENCIES, WorkbenchPage, workbench
from api.auth import Principal
from api.services.access import grid_scope_of, require_grid_unit_filter
from api.services.refusals import Refused, credit_code_refusal, forbidden
from domain.credit_code import is_valid_credit_code
from domain.policy import Policy

if TYPE_CHECKING:  # typing only: api.services imports its parts
    from api.services import Services


def warning_until(policy: Policy, now: datetime) -> datetime:
    """The end of the warning window (临期) at ``now``: the policy's earliest reminder before
    a deadline (its longest offset); ``now`` itself when the policy sends none."""
    offsets = policy.reminders.before_deadline
    if not offsets:
        return now
    longest = max(offsets, key=lambda d: d.bounds_in_seconds()[1])
    # Reminder offsets are calendar durations (the policy's rule policy.reminder_calendar).
    moved = longest.subtract_calendar(now, policy.tz)
    return now + (now - moved)


def supervisor_workbench(
    services: Services,
    principal: Principal,
    *,
    urgency: str | None = None,
    grid_unit: str | None = None,
    statuses: list[str] | None = None,
    listed_level: str | None = None,
    hazard_class: str | None = None,
    listed: bool | None = None,
    enterprise: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> WorkbenchPage:
    """The 工作台 of ``principal``'s scope at the services' clock."""
    if urgency is not None and urgency not in URGENCIES:
        raise Refused(
            422, "request.invalid", f"urgency must be one of {', '.join(URGENCIES)}", "urgency"
        )
    require_grid_unit_filter(services.reference, grid_unit, "grid_unit")
    if enterprise is not None and not is_valid_credit_code(enterprise):
        raise credit_code_refusal("enterprise")
    if principal.role == "enterprise":
        if enterprise not in (None, principal.scope):
            raise forbidden("an enterprise sees only its own hazards")
        enterprise = principal.scope
    elif enterprise is not None and services.reference.enterprise(enterprise) is None:
        raise Refused(404, "not_found", f"enterprise {enterprise} not found", "enterprise")
    now = services.clock()
    return workbench(
        services.engine,
        now=now,
        warn_until=warning_until(services.policy, now),
        filters=CaseFilter(
            grid_unit=grid_scope_of(principal, services.reference, grid_unit),
            statuses=tuple(statuses) if statuses else None,
            listed_level=listed_level,
            hazard_class=hazard_class,
            listed=listed,
            credit_code=enterprise,
        ),
        urgency=urgency,
        limit=limit,
        offset=offset,
    )
