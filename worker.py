"""The worker's composition root: settings → database → store → activities → Temporal worker.

Nothing is built at import time (the workflow sandbox re-imports modules); ``duban worker``
calls ``run_worker``; tests call ``build_worker`` with their own client and store.
"""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.audit.maintenance import AuditActivities
from activities.credit_link import CreditLinkActivities
from activities.events import EventStoreActivities
from activities.eventstore import EventStore
from activities.logging import configure_logging
from activities.notifications import NotificationActivities, OutboxDispatcher
from activities.reports import ReportActivities
from activities.rules import RulesActivities
from activities.settings import Settings
from workflows.audit import AuditMaintenanceWorkflow, ensure_audit_schedule
from workflows.case import SupervisedCaseWorkflow
from workflows.credit import EnterpriseCreditWorkflow
from workflows.reports import ReportRunWorkflow, ReportWorkflow, ensure_report_schedules

log = structlog.get_logger(__name__)

WORKFLOWS = [
    SupervisedCaseWorkflow,
    EnterpriseCreditWorkflow,
    ReportRunWorkflow,
    ReportWorkflow,
    AuditMaintenanceWorkflow,
]


@dataclass
class WorkerParts:
    worker: Worker
    executor: ThreadPoolExecutor


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with duban's pure domain passed through: it is deterministic by design
    (no I/O, no clock), and re-importing it per workflow run would only cost time."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "domain", "chinese_calendar", "workflows.contracts", "workflows.ids"
        )
    )


def build_worker(
    client: Client, settings: Settings, store: EventStore, task_queue: str | None = None
) -> WorkerParts:
    queue = task_queue or settings.task_queue
    events = EventStoreActivities(store)
    rules = RulesActivities(settings)
    notifications = NotificationActivities(store.engine)
    credit = CreditLinkActivities(client, queue)
    reports = ReportActivities(store, settings)
    audit = AuditActivities(store, settings, client)
    # Database activities are synchronous (psycopg2): they run on this pool, not the event loop.
    executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="duban-activity")
    worker = Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[
            events.append_events,
            events.read_stream,
            rules.load_rules,
            notifications.enqueue_notifications,
            credit.signal_credit_workflow,
            reports.plan_reports,
            reports.produce_report,
            audit.write_signed_checkpoint,
            audit.export_closed_case_histories,
        ],
        activity_executor=executor,
        workflow_runner=workflow_runner(),
    )
    return WorkerParts(worker, executor)


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; then finish in-flight tasks and stop.

    Alongside the worker: /healthz, /readyz and /metrics on ``worker_metrics_port`` (duban's
    metrics, the append timings of this process's store), the Temporal SDK's metrics on
    ``temporal_metrics_port``, and a sampler of the read-model gauges.
    """
    from activities.metrics import (
        DubanMetrics,
        MeasuredEventStore,
        MetricsServer,
        ReadModelSampler,
        readiness,
        temporal_check_on_loop,
    )
    from activities.temporal_client import connect_temporal, sdk_runtime, temporal_address
    from api.runtime import Runtime

    configure_logging(settings.log_level, settings.log_format)
    runtime = Runtime(settings)
    metrics = DubanMetrics()
    store = MeasuredEventStore(runtime.engine, metrics, max_event_bytes=settings.max_event_bytes)
    client = await connect_temporal(settings, runtime=sdk_runtime(settings))
    parts = build_worker(client, settings, store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sampler = ReadModelSampler(runtime.engine, metrics, settings.metrics_refresh_seconds)
    sampler.start()
    server: MetricsServer | None = None
    if settings.worker_metrics_port:
        temporal_check = temporal_check_on_loop(client, loop)
        server = MetricsServer(
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            ready=lambda: readiness(settings, engine=runtime.engine, temporal=temporal_check),
            metrics=metrics,
        )
        server.start()
    # The schedules (reports, hourly audit) are created or updated idempotently by every
    # worker that starts: a fresh cluster needs no separate step, a paused one stays paused.
    await ensure_report_schedules(client, settings, settings.task_queue)
    await ensure_audit_schedule(client, settings, settings.task_queue)
    tasks = [asyncio.create_task(parts.worker.run())]
    if settings.webhook_url:
        dispatcher = OutboxDispatcher(
            runtime.engine, settings.webhook_url, timeout=settings.webhook_timeout_seconds
        )
        tasks.append(asyncio.create_task(dispatcher.run(stop)))
    log.info(
        "worker.started",
        task_queue=settings.task_queue,
        temporal=temporal_address(settings),
        identity=client.identity,
        health_port=server.port if server else None,
    )
    await stop.wait()
    await parts.worker.shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)
    if server is not None:
        server.stop()
    sampler.stop()
    parts.executor.shutdown(wait=True)
    store.close()
    runtime.close()
    log.info("worker.stopped")
