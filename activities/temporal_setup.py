"""What a Temporal namespace needs before duban's workers run: the search attributes the case
workflow upserts, the report schedules and the hourly audit schedule.

Client-side set-up, called by the composition roots (``worker.py`` on every start, ``duban up``
once the dev server is there): it talks to the Temporal server, so it is I/O and lives here,
not in a workflow module (which holds only deterministic workflow code and runs in the
sandbox). Every step is idempotent: a schedule that exists keeps its state (one an operator
paused stays paused) and gets the current spec; an attribute registered before is kept.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from activities.rules import RulesActivities
from activities.settings import Settings
from domain.periods import REPORT_KINDS
from domain.policy import Policy
from workflows import search_attributes
from workflows.contracts import (
    AUDIT_WORKFLOW,
    REPORT_RUN_WORKFLOW,
    AuditMaintenanceInput,
    ReportRunInput,
)

AUDIT_SCHEDULE_ID = "duban-audit-hourly"
AUDIT_WORKFLOW_ID = "duban-audit-maintenance"
# A run fires this many days before its report is due (see workflows/reports.py): a failed run
# has days to be retried or re-run by hand.
DEFAULT_REPORT_LEAD_DAYS = 5


# --- search attributes -----------------------------------------------------------------------


async def register_search_attributes(client: Any, namespace: str) -> None:
    """Register duban's search attributes on ``namespace`` (existing ones are kept)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as exc:  # the time-skipping test server only implements "add"
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in search_attributes.ALL
        if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )


# --- schedules -------------------------------------------------------------------------------


async def _create_or_update(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create the schedule, or give the existing one this spec and policies keeping its state."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def keep_state(existing: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(
                schedule=replace(schedule, state=existing.description.schedule.state)
            )

        await client.get_schedule_handle(schedule_id).update(keep_state)


def report_schedule_id(kind: str) -> str:
    return f"duban-report-{kind}"


def run_day(due_day: int, lead_days: int) -> int:
    """The day of the due month a schedule fires: ``lead_days`` early, not before the 1st."""
    return max(1, due_day - lead_days)


async def ensure_report_schedules(
    client: Client,
    settings: Settings,
    task_queue: str,
    *,
    lead_days: int = DEFAULT_REPORT_LEAD_DAYS,
) -> list[str]:
    """Create or update the report schedules from the policy in force; returns their ids.

    Each fires ``lead_days`` before its report's due day (see workflows/reports.py), at the
    policy's hour and time zone.
    """
    if not 0 <= lead_days <= 27:
        raise ValueError("lead_days: must be between 0 and 27")
    policy = Policy.from_data(RulesActivities(settings).snapshot().policy)
    r = policy.reports
    when = {
        # 月度风险分析 of the previous month, due by the 20th.
        "monthly": ScheduleCalendarSpec(
            day_of_month=[ScheduleRange(run_day(r.monthly_day, lead_days))],
            hour=[ScheduleRange(r.hour)],
        ),
        # 季度统计 of the previous quarter, due by the 15th of its next month.
        "quarterly": ScheduleCalendarSpec(
            month=[ScheduleRange(1, 10, 3)],
            day_of_month=[ScheduleRange(run_day(r.quarterly_day, lead_days))],
            hour=[ScheduleRange(r.hour)],
        ),
        # 年度统计 of the previous year, due by 31 January.
        "yearly": ScheduleCalendarSpec(
            month=[ScheduleRange(r.yearly_month)],
            day_of_month=[ScheduleRange(run_day(r.yearly_day, lead_days))],
            hour=[ScheduleRange(r.hour)],
        ),
    }
    ids = []
    for kind in REPORT_KINDS:
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                REPORT_RUN_WORKFLOW,
                ReportRunInput(kind),
                id=f"report-run-{kind}",
                task_queue=task_queue,
            ),
            spec=ScheduleSpec(calendars=[when[kind]], time_zone_name=policy.time_zone),
            policy=SchedulePolicy(
                # Missed runs are queued and run one after another, never side by side, and
                # none is dropped (SKIP would drop all but one of a catch-up's runs).
                overlap=ScheduleOverlapPolicy.BUFFER_ALL,
                catchup_window=timedelta(days=settings.report_catchup_days),
            ),
        )
        schedule_id = report_schedule_id(kind)
        await _create_or_update(client, schedule_id, schedule)
        ids.append(schedule_id)
    return ids


async def ensure_audit_schedule(client: Client, settings: Settings, task_queue: str) -> str:
    """Create the hourly audit schedule, or update its spec keeping its state."""
    del settings
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            AUDIT_WORKFLOW,
            AuditMaintenanceInput(),
            id=AUDIT_WORKFLOW_ID,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
        # After downtime one run catches up (a checkpoint of the head now covers the hours
        # missed); runs never overlap.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=1)
        ),
    )
    await _create_or_update(client, AUDIT_SCHEDULE_ID, schedule)
    return AUDIT_SCHEDULE_ID
