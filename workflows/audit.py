"""The hourly audit job (a Temporal Schedule, not cron; ``activities/temporal_setup.py`` sets
it up): a signed checkpoint of the event store's head written outside the database, and the
export of closed cases' workflow histories."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        AUDIT_WORKFLOW,
        AuditMaintenanceInput,
        AuditMaintenanceResult,
        CheckpointWritten,
        HistoriesExported,
    )


@workflow.defn(name=AUDIT_WORKFLOW)
class AuditMaintenanceWorkflow:
    @workflow.run
    async def run(self, request: AuditMaintenanceInput) -> AuditMaintenanceResult:
        retry = RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=10)
        checkpoint = await workflow.execute_activity(
            "write_signed_checkpoint",
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=retry,
            result_type=CheckpointWritten,
        )
        exported: list[str] = []
        if request.export_histories:
            result = await workflow.execute_activity(
                "export_closed_case_histories",
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=retry,
                result_type=HistoriesExported,
            )
            exported = result.exported
        return AuditMaintenanceResult(checkpoint.position, checkpoint.path, exported)
