"""The API server process (``duban api``) and the services an API is built on.

``duban up`` (everything on one machine) is in ``api/up.py``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial

import structlog
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.runtime import Runtime as TemporalRuntime

from activities.blobs import open_blob_store
from activities.calendar_watch import (
    CalendarSource,
    CalendarWatch,
    register_calendar_metrics,
)
from activities.eventstore import EventStore
from activities.metrics import (
    DubanMetrics,
    MeasuredEventStore,
    ReadModelSampler,
    default_metrics,
)
from activities.reference_data import ReferenceData
from activities.rules import RulesActivities
from activities.settings import Settings
from activities.temporal_client import connect_temporal, sdk_runtime
from activities.tracing import configure_tracing
from api.app import create_app
from api.http_server import uvicorn_config
from api.runtime import Runtime
from api.services import Services
from domain.policy import Policy

log = structlog.get_logger(__name__)


@dataclass
class ApiTelemetry:
    """What an API server process exports besides its answers: the append timings of its
    store and the read-model gauges (on ``/metrics``, from the process's ``default_metrics``),
    and the Temporal SDK's metrics of its client on ``temporal_metrics_port``.

    Only ``duban api`` makes one; CLI commands that build services do not (they must not
    start samplers or bind ports)."""

    metrics: DubanMetrics = field(default_factory=default_metrics)
    sampler: ReadModelSampler | None = None
    sdk_metrics_bound: bool = False
    calendar_watch: CalendarWatch | None = None

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
            self.sampler = None
        if self.calendar_watch is not None:
            self.calendar_watch.stop()
            self.calendar_watch = None


def api_sdk_runtime(settings: Settings) -> TemporalRuntime | None:
    """The SDK runtime exporting the API client's metrics, or None when its port is 0 or
    taken (a worker on the same host may hold it): the API serves without them, and says so."""
    try:
        return sdk_runtime(settings)
    except ValueError as exc:
        log.warning(
            "api.sdk_metrics_unavailable", port=settings.temporal_metrics_port, error=str(exc)
        )
        return None


async def build_services(
    settings: Settings,
    runtime: Runtime | None = None,
    *,
    telemetry: ApiTelemetry | None = None,
    temporal: Client | None = None,
) -> Services:
    """The API's services. ``temporal``: a client the process already has (``duban up``
    shares its worker's); without it one is connected, exporting the SDK's metrics when
    ``telemetry`` is given."""
    runtime = runtime or Runtime(settings)
    snapshot = RulesActivities(settings).snapshot()
    policy = Policy.from_data(snapshot.policy)
    calendar = CalendarSource(settings)  # re-read when `duban calendar load` changes it
    store: EventStore = runtime.store
    if telemetry is not None:
        store = MeasuredEventStore(
            runtime.engine, telemetry.metrics, max_event_bytes=settings.max_event_bytes
        )
        telemetry.sampler = ReadModelSampler(
            runtime.engine, telemetry.metrics, settings.metrics_refresh_seconds
        )
        telemetry.sampler.start()
        register_calendar_metrics(telemetry.metrics.registry, calendar, policy)
        if telemetry.calendar_watch is None:  # the administrators' notice, once a year
            telemetry.calendar_watch = CalendarWatch(calendar, policy, runtime.engine)
            telemetry.calendar_watch.start()
    if temporal is None:
        sdk = api_sdk_runtime(settings) if telemetry is not None else None
        if telemetry is not None:
            telemetry.sdk_metrics_bound = sdk is not None
        temporal = await connect_temporal(settings, runtime=sdk)
    return Services(
        engine=runtime.engine,
        store=store,
        reference=ReferenceData(runtime.engine, store),
        temporal=temporal,
        task_queue=settings.task_queue,
        policy=policy,
        calendar=calendar.calendar(),
        calendar_source=calendar,
        blobs=open_blob_store(settings),
    )


def create_api_app(settings: Settings, telemetry: ApiTelemetry) -> FastAPI:
    """The app ``duban api`` serves: services built at startup, with ``telemetry``."""
    return create_app(settings, build_services=partial(build_services, telemetry=telemetry))


def serve_api(settings: Settings, host: str, port: int) -> None:
    """``duban api``: the HTTP API until SIGINT/SIGTERM.

    The services are built before the server starts, in its event loop (the Temporal client
    belongs to the loop that connected it): an unreachable Temporal or database, or a policy
    file duban cannot use, is raised here for the command to say in one line, rather than
    logged by the server as a failed start-up."""
    telemetry = ApiTelemetry()
    tracing = configure_tracing(settings, "duban-api")

    async def serve() -> None:
        services = await build_services(settings, telemetry=telemetry)
        try:
            # settings: the console's (issue 16)
            config = uvicorn_config(create_app(settings, services=services), host, port)
            await uvicorn.Server(config).serve()
        finally:
            services.store.close()

    try:
        asyncio.run(serve())
    finally:
        telemetry.stop()
        if tracing is not None:
            tracing.shutdown()
