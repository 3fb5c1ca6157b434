"""Reports on a Temporal Schedule: the monthly risk analysis (月度风险分析, due by the 20th) and
the quarterly and yearly statistics (季度/年度统计, Order 16 Art 14), per grid unit.

Nobody runs a cron. One Temporal Schedule per kind (``ensure_report_schedules`` in
``activities/temporal_setup.py``) starts a ``ReportRun``; the run works out the period before
its *scheduled* time (so a run caught up after downtime reports on the right period), asks which
grid units need a report, and starts one ``Report`` workflow per unit whose id is derived from
(kind, unit, period). Three locks keep a report from being produced twice: the schedule never
overlaps runs (buffered, one after another), a report workflow id is refused while one is
running or has succeeded, and the report's event is appended at expected version 0 (a second
writer finds it stored and only rewrites the files from it).

When: the policy's ``reports`` days are the days a report is *due* (monthly: by the 20th;
quarterly: by the 15th of the quarter's next month; yearly: by 31 January). A schedule fires
``lead_days`` before that day (default 5: the 15th, the 10th, 26 January) at the policy's hour
and time zone, never before the 1st of the due month (so never before the period has ended):
a failed run has days to be retried or re-run by hand before the report is due, and hazards
found at the end of the period but registered a few days later are in it. Each report carries
its due date (``due_by``).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        REPORT_RUN_WORKFLOW,
        REPORT_WORKFLOW,
        PlanReportsInput,
        ProduceReportInput,
        ReportInput,
        ReportPlan,
        ReportResult,
        ReportRunInput,
        ReportRunResult,
    )
    from workflows.ids import report_key


# Set by the Temporal scheduler on every workflow it starts: the nominal time of the action.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
# A report reads a few indexed rows; the time goes to bringing the read models up to date
# (at 10,000 events/s, a minute for 600,000 events behind), with a heartbeat per batch.
REPORT_TIMEOUT = timedelta(minutes=10)
REPORT_HEARTBEAT = timedelta(minutes=2)
# Bad input, raised non-retryable by the activities too; broken rules files are retried (an
# administrator may fix them meanwhile).
NON_RETRYABLE = [
    "report.bad_request",
    "report.unit",
    "report.period_not_ended",
    "report.hash_mismatch",
]
# A run fires DEFAULT_REPORT_LEAD_DAYS (5, activities/temporal_setup.py) before the report is
# due, so a report whose
# database is down for hours must still be produced in time: each step (the plan, then each
# report) is retried every 10 minutes at most for up to REPORT_RETRY_WINDOW, the two together
# inside the default lead; then its workflow fails, and it may be started again (its id allows
# a new run after a failure). Bad input is never retried.
REPORT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=NON_RETRYABLE,
)
REPORT_RETRY_WINDOW = timedelta(days=2)


# --- workflows --------------------------------------------------------------------------------


@workflow.defn(name=REPORT_RUN_WORKFLOW)
class ReportRunWorkflow:
    """One scheduled run: every grid unit that needs a report of this kind for the period."""

    @workflow.run
    async def run(self, request: ReportRunInput) -> ReportRunResult:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        plan: ReportPlan = await workflow.execute_activity(
            "plan_reports",
            PlanReportsInput(
                request.kind, request.period, (scheduled or workflow.now()).isoformat()
            ),
            result_type=ReportPlan,
            start_to_close_timeout=REPORT_TIMEOUT,
            schedule_to_close_timeout=REPORT_RETRY_WINDOW,
            heartbeat_timeout=REPORT_HEARTBEAT,
            retry_policy=REPORT_RETRY,
        )
        result = ReportRunResult(plan.kind, plan.period)
        started = []
        for unit_code in plan.unit_codes:
            report_id = report_key(plan.kind, unit_code, plan.period)
            try:
                handle = await workflow.start_child_workflow(
                    REPORT_WORKFLOW,
                    ReportInput(plan.kind, plan.period, unit_code),
                    id=report_id,
                    result_type=ReportResult,
                    # A failed report may be produced again; a running or done one may not.
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                result.already.append(report_id)
                continue
            started.append((report_id, handle))
        await asyncio.gather(*(handle for _, handle in started))
        result.produced = [report_id for report_id, _ in started]
        return result


@workflow.defn(name=REPORT_WORKFLOW)
class ReportWorkflow:
    """One report (kind, grid unit, period): computed, stored once as an event, written out."""

    @workflow.run
    async def run(self, request: ReportInput) -> ReportResult:
        info = workflow.info()
        result: ReportResult = await workflow.execute_activity(
            "produce_report",
            ProduceReportInput(
                request.kind,
                request.period,
                request.unit_code,
                event_id=str(workflow.uuid4()),
                workflow_id=info.workflow_id,
                run_id=info.run_id,
            ),
            result_type=ReportResult,
            start_to_close_timeout=REPORT_TIMEOUT,
            schedule_to_close_timeout=REPORT_RETRY_WINDOW,
            heartbeat_timeout=REPORT_HEARTBEAT,
            retry_policy=REPORT_RETRY,
        )
        return result
