"""The hourly audit job (Temporal Schedule, not cron): a signed checkpoint of the event store's
head written outside the database, and the export of closed cases' workflow histories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.common import RetryPolicy

if TYPE_CHECKING:
    from temporalio.client import Client

    from activities.settings import Settings

AUDIT_SCHEDULE_ID = "duban-audit-hourly"
AUDIT_WORKFLOW_ID = "duban-audit-maintenance"


@dataclass
class AuditMaintenanceInput:
    export_histories: bool = True


@dataclass
class AuditMaintenanceResult:
    checkpoint_position: int
    checkpoint_path: str
    histories_exported: list[str] = field(default_factory=list)


@workflow.defn(name="AuditMaintenance")
class AuditMaintenanceWorkflow:
    @workflow.run
    async def run(self, request: AuditMaintenanceInput) -> AuditMaintenanceResult:
        retry = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=10)
        checkpoint = await workflow.execute_activity(
            "write_signed_checkpoint",
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=retry,
            result_type=_Checkpoint,
        )
        exported: list[str] = []
        if request.export_histories:
            result = await workflow.execute_activity(
                "export_closed_case_histories",
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=retry,
                result_type=_Histories,
            )
            exported = result.exported
        return AuditMaintenanceResult(checkpoint.position, checkpoint.path, exported)


@dataclass
class _Checkpoint:
    position: int
    hash: str
    path: str


@dataclass
class _Histories:
    exported: list[str]
    still_running: list[str]


async def ensure_audit_schedule(client: Client, settings: Settings, task_queue: str) -> str:
    """Create the hourly schedule, or update its spec keeping its state (a pause stays)."""
    from dataclasses import replace

    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleIntervalSpec,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleSpec,
        ScheduleUpdate,
        ScheduleUpdateInput,
    )

    del settings
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            AuditMaintenanceWorkflow.run,
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
    try:
        await client.create_schedule(AUDIT_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        def keep_state(existing: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(
                schedule=replace(schedule, state=existing.description.schedule.state)
            )

        await client.get_schedule_handle(AUDIT_SCHEDULE_ID).update(keep_state)
    return AUDIT_SCHEDULE_ID
