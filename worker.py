"""The worker's composition root: settings → database → store → activities → Temporal worker.

Nothing is built at import time (the workflow sandbox re-imports modules); ``duban worker``
calls ``run_worker``; tests call ``build_worker`` with their own client and store.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.audit.maintenance import AuditActivities
from activities.channels import http_client
from activities.credit_link import CreditLinkActivities
from activities.deliveries.setup import delivery_dispatcher
from activities.documents.issuing import DocumentIssuer
from activities.events import EventStoreActivities
from activities.eventstore import EventStore
from activities.health import ProcessHealth
from activities.logging import configure_logging
from activities.metrics import DubanMetrics
from activities.notifications import NotificationActivities, OutboxDispatcher
from activities.reports import ReportActivities
from activities.rules import RulesActivities, policy_for_warnings
from activities.settings import Settings
from activities.temporal_setup import ensure_audit_schedule, ensure_report_schedules
from activities.tracing import configure_tracing
from workflows.audit import AuditMaintenanceWorkflow
from workflows.case import SupervisedCaseWorkflow
from workflows.credit import EnterpriseCreditWorkflow
from workflows.public_report import PublicReportWorkflow
from workflows.reports import ReportRunWorkflow, ReportWorkflow

log = structlog.get_logger(__name__)

# Synchronous (psycopg2) activities run on this many threads; each may hold a connection.
ACTIVITY_THREADS = 16
# Besides them: the read-model sampler, a readiness probe, the notification dispatcher and the
# audit job's history export (both via asyncio.to_thread) may each hold one at the same time,
# and the document issuer two (its position lock and its reads and appends).
OTHER_DATABASE_USERS = 6
WORKER_POOL_SIZE = ACTIVITY_THREADS + OTHER_DATABASE_USERS

WORKFLOWS = [
    SupervisedCaseWorkflow,
    EnterpriseCreditWorkflow,
    ReportRunWorkflow,
    ReportWorkflow,
    AuditMaintenanceWorkflow,
    PublicReportWorkflow,
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
    client: Client,
    settings: Settings,
    store: EventStore,
    task_queue: str | None = None,
    *,
    metrics: DubanMetrics | None = None,
) -> WorkerParts:
    queue = task_queue or settings.task_queue
    events = EventStoreActivities(store)
    rules = RulesActivities(settings)
    notifications = NotificationActivities(store.engine)
    credit = CreditLinkActivities(client, queue)
    reports = ReportActivities(store, settings)
    audit = AuditActivities(store, settings, client, metrics)
    # Database activities are synchronous (psycopg2): they run on this pool, not the event loop.
    executor = ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix="duban-activity")
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
        max_concurrent_activities=ACTIVITY_THREADS,
        workflow_runner=workflow_runner(),
    )
    return WorkerParts(worker, executor)


async def supervise(
    parts: Mapping[str, asyncio.Task[Any]], stop: asyncio.Event, health: ProcessHealth
) -> str | None:
    """Wait for a requested stop or for one of ``parts`` to end, whichever comes first.

    A part that ends on its own has died (the Temporal worker's run, the notification
    dispatcher): it is logged, ``health`` turns failed (``/healthz`` answers 503) and its name
    is returned, so that the process can exit non-zero and be restarted. None: a stop was
    requested.
    """
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {stopping, *parts.values()}, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopping.cancel()
    if stop.is_set():  # parts that watch the same event may end first: they stopped as asked
        return None
    for name, task in parts.items():
        if task not in done:
            continue
        error: BaseException | None = (
            asyncio.CancelledError() if task.cancelled() else task.exception()
        )
        reason = f"{name} stopped: {error!r}" if error else f"{name} returned unexpectedly"
        log.error("worker.part_died", part=name, reason=reason, exc_info=error)
        health.fail(reason)
        return name
    return None


def document_issuer(settings: Settings, store: EventStore) -> DocumentIssuer:
    """The follower that issues the cases' documents, over the configured blob store, document
    rules and policies."""
    from activities.blobs import open_blob_store
    from activities.documents import load_document_rules
    from activities.documents.policies import PolicyBook

    return DocumentIssuer(
        store,
        open_blob_store(settings),
        load_document_rules(),
        PolicyBook.from_settings(settings),
        public_url=settings.public_url,
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; then finish in-flight tasks and stop.

    Alongside the worker: /healthz, /readyz and /metrics on ``worker_metrics_port`` (duban's
    metrics, the append timings of this process's store), the Temporal SDK's metrics on
    ``temporal_metrics_port``, and a sampler of the read-model gauges.
    """
    from activities.audit.keys import SigningKeyUnavailable, signing_key
    from activities.calendar_watch import (
        CalendarSource,
        CalendarWatch,
        register_calendar_metrics,
    )
    from activities.database import create_app_engine, resolve_database_url
    from activities.health import MetricsServer, readiness, temporal_check_on_loop
    from activities.metrics import MeasuredEventStore, ReadModelSampler
    from activities.temporal_client import connect_temporal, sdk_runtime, temporal_address

    configure_logging(settings.log_level, settings.log_format)
    tracing = configure_tracing(settings, "duban-worker")
    if settings.checkpoint_key_path is not None:
        # A configured key (a mounted Secret) must be there: better not to start than to run
        # an hourly job that cannot sign, or to sign with a key nobody published.
        try:
            signing_key(settings)
        except SigningKeyUnavailable as exc:
            log.error("worker.checkpoint_key_unavailable", error=str(exc))
            raise SystemExit(2) from exc
    # Sized to the worker's concurrency: every activity thread may hold a connection at once.
    engine = create_app_engine(
        resolve_database_url(settings),
        settings.database_app_role or None,
        pool_size=WORKER_POOL_SIZE,
        app_url=settings.database_app_url,
    )
    metrics = DubanMetrics()
    health = ProcessHealth()
    store = MeasuredEventStore(engine, metrics, max_event_bytes=settings.max_event_bytes)
    client = await connect_temporal(settings, runtime=sdk_runtime(settings))
    parts = build_worker(client, settings, store, metrics=metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sampler = ReadModelSampler(engine, metrics, settings.metrics_refresh_seconds)
    sampler.start()
    # The administrator's calendar: its gauges, its /readyz entry and the warning notice.
    calendar, policy = CalendarSource(settings), policy_for_warnings(settings)
    register_calendar_metrics(metrics.registry, calendar, policy)
    calendar_watch = CalendarWatch(calendar, policy, engine)
    calendar_watch.start()
    server: MetricsServer | None = None
    if settings.worker_metrics_port:
        temporal_check = temporal_check_on_loop(client, loop)
        server = MetricsServer(
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            ready=lambda: readiness(
                settings,
                engine=engine,
                temporal=temporal_check,
                calendar=lambda: calendar.status(policy),
            ),
            metrics=metrics,
            healthy=health.check,
        )
        server.start()
    # The schedules (reports, hourly audit) are created or updated idempotently by every
    # worker that starts: a fresh cluster needs no separate step, a paused one stays paused.
    await ensure_report_schedules(client, settings, settings.task_queue)
    await ensure_audit_schedule(client, settings, settings.task_queue)
    tasks = {"temporal worker": asyncio.create_task(parts.worker.run())}
    # The documents (公文) the cases' events give rise to are issued by a follower of the event
    # store on a thread of its own (activities/documents/issuing.py says why not the workflow).
    issuer_stop = threading.Event()
    if settings.public_url:
        issuer = document_issuer(settings, store)
        tasks["document issuer"] = asyncio.create_task(asyncio.to_thread(issuer.run, issuer_stop))
    else:
        # A document is never issued twice, and its QR code carries this address for good:
        # without the address people open duban at, no document is issued (the case goes on).
        log.warning("documents.not_issued", reason="DUBAN_PUBLIC_URL is not set")
    if settings.webhook_url:
        dispatcher = OutboxDispatcher(
            engine, settings.webhook_url, timeout=settings.webhook_timeout_seconds
        )
        tasks["notification dispatcher"] = asyncio.create_task(dispatcher.run(stop))
    delivery_http = http_client(settings)
    if settings.deliveries_enabled:
        deliveries = delivery_dispatcher(settings, engine, delivery_http, policy.time_zone)
        tasks["notification deliveries"] = asyncio.create_task(deliveries.run(stop))
    log.info(
        "worker.started",
        task_queue=settings.task_queue,
        temporal=temporal_address(settings),
        identity=client.identity,
        health_port=server.port if server else None,
        database_pool=WORKER_POOL_SIZE,
    )
    died = await supervise(tasks, stop, health)
    stop.set()
    issuer_stop.set()
    with contextlib.suppress(Exception):  # a worker that died may refuse to shut down
        await parts.worker.shutdown()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    await delivery_http.aclose()
    if server is not None:
        server.stop()
    sampler.stop()
    calendar_watch.stop()
    parts.executor.shutdown(wait=True)
    store.close()
    engine.dispose()
    if tracing is not None:
        tracing.shutdown()
    if died is not None:
        log.error("worker.exiting", reason=f"{died} died", exit_code=1)
        raise SystemExit(1)
    log.info("worker.stopped")
