"""What a case answers (``CaseView``), computed from its state at a moment: the same function
serves the workflow's query and updates, and the API once the workflow is gone (it folds the
stored events and asks here), so both answers agree field for field."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.case import CaseState, Timer, days_overdue, in_time_zone, state_to_data
    from domain.errors import CalendarDataMissing
    from workflows.contracts import CaseView


def case_view(
    state: CaseState,
    version: int,
    now: datetime,
    timers: Sequence[Timer] = (),
    blocked: str | None = None,
) -> CaseView:
    """The view of ``state`` at ``now``: what the workflow answers, and what the API answers
    from the stored events once the workflow is gone. A notice waiting for calendar data is
    ``blocked`` by its year whoever asks (the record says so)."""
    waiting = state.notice_pending if state.is_open else None
    if blocked is None and waiting is not None:
        missing = CalendarDataMissing(waiting.missing_year)
        blocked = f"{missing.rule}: {missing.message}"
    overdue = overdue_at(state, now)
    return CaseView(
        hazard_id=state.hazard_id,
        status=state.status.value,
        version=version,
        deadline=state.deadline.isoformat() if state.deadline else None,
        escalation_index=state.escalation_index,
        grid_level=state.supervising_level.value,
        supervising_unit_code=state.supervising_unit_code,
        listed_level=state.listing.level.value if state.listing else None,
        overdue=overdue["overdue"],
        pending_timers=[
            {"key": t.key, "kind": t.kind, "due_at": t.due_at.isoformat()} for t in timers
        ],
        state=state_to_data(state),
        blocked=blocked,
        overdue_since=overdue["overdue_since"],
        days_overdue=overdue["days_overdue"],
        blocked_year=waiting.missing_year if waiting is not None else None,
    )


def overdue_at(state: CaseState, now: datetime) -> dict[str, Any]:
    """逾期 at ``now``: ``overdue``, since when (the hazard's rectification deadline, on the
    case's clock) and for how many calendar days. The API judges a workflow's answer again at
    its own clock: a query runs at the time of the workflow's last step, which stands still
    while the case waits for its next timer."""
    since = state.overdue_since(now)
    return {
        "overdue": since is not None,
        "overdue_since": in_time_zone(since, state.time_zone).isoformat() if since else None,
        "days_overdue": days_overdue(since, now, state.time_zone) if since else None,
    }
