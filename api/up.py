"""``duban up``: everything duban needs on one machine — the database (embedded unless
DUBAN_DATABASE_URL), the Temporal dev server (unless DUBAN_TEMPORAL_ADDRESS), migrations, the
worker, the projector, the notification dispatcher and the API — until Ctrl-C.

It records where its parts listen in ``<data_dir>/running.json`` (``api/stack.py``) for every
other command to find them, and removes the record when it stops. It is the only command
that starts the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
import uvicorn
from rich.console import Console

from activities.calendar_watch import calendar_warning_lines
from activities.channels import http_client
from activities.database import database_url_for_display
from activities.deliveries import DeliveryDispatcher
from activities.deliveries.setup import delivery_dispatcher
from activities.health import ProcessHealth
from activities.metrics import MeasuredEventStore
from activities.notifications import OutboxDispatcher
from activities.projections import Projector
from activities.reference_data import ReferenceData
from activities.settings import Settings
from activities.tracing import configure_tracing
from api.app import create_app
from api.console.demo import demo_accounts
from api.http_server import uvicorn_config
from api.runtime import Runtime
from api.serve import ApiTelemetry, build_services
from api.stack import (
    RUNNING,
    SHARED_SETTINGS,
    STARTING,
    StackRecord,
    remove_record,
    stack_status,
    write_record,
)
from api.up_banner import LOUD, BannerFacts, PolicyInForce, banner_lines
from api.up_parts import (
    ApiServer,
    DevServer,
    EmbeddedPostgres,
    UpError,
    admin_token,
    bind_api_socket,
    connect_when_ready,
    earlier_data_dir_problem,
    follow_event_store,
    serve_http,
    start_dev_server,
)

if TYPE_CHECKING:
    from activities.documents.issuing import DocumentIssuer
    from worker import WorkerParts

__all__ = ["UpError", "run_everything"]

log = structlog.get_logger(__name__)
console = Console()

DEMO_DIR = Path(__file__).resolve().parent.parent / "deploy" / "demo"
DEV_SERVER_PORT = 7233
DEV_UI_PORT = 8233
# How long a part may take to stop after being asked before it is cancelled.
PART_STOP_SECONDS = 30.0
EXIT_INTERRUPTED = 130


@dataclass
class _Running:
    """What `duban up` started, for the banner, its record and the supervision."""

    parts: WorkerParts
    projector: Projector
    stop_projector: threading.Event
    server: uvicorn.Server
    sock: socket.socket
    dispatcher: OutboxDispatcher | None
    deliveries: DeliveryDispatcher | None
    dev_server: DevServer | None
    banner: list[str]
    record: StackRecord
    issuer: DocumentIssuer | None = None  # issues the cases' documents (公文)


def _new_record(settings: Settings, state: str) -> StackRecord:
    return StackRecord(
        pid=os.getpid(),
        host=socket.gethostname(),
        state=state,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        data_dir=str(settings.data_dir.resolve()),
    )


def _shared_settings(settings: Settings, database_url: str) -> dict[str, str]:
    """What every other command needs to reach this stack: the resolved database URL and
    Temporal address, and the shared settings `duban up` was given (paths made absolute:
    a command may run in another directory)."""
    shared: dict[str, str] = {}
    for name in (name for group in SHARED_SETTINGS for name in group):
        value = getattr(settings, name)
        if name in settings.model_fields_set and value is not None:
            shared[name] = str(value.resolve()) if isinstance(value, Path) else str(value)
    shared["database_url"] = database_url
    shared["temporal_address"] = str(settings.temporal_address)
    return shared


def _check_data_dir(settings: Settings) -> None:
    """Refuse to start over the data of an earlier duban left in the current directory, or
    beside another `duban up` on the same data directory; say so when the last one was
    killed (its record is stale)."""
    problem = earlier_data_dir_problem(settings, Path.cwd())
    if problem is not None:
        raise UpError(problem)
    status = stack_status(settings.data_dir)
    if status.state in (RUNNING, STARTING) and status.record is not None:
        raise UpError(
            f"another duban up (pid {status.record.pid}, {status.record.state}"
            f"{', API ' + status.record.api_url if status.record.api_url else ''}) uses the "
            f"data directory {settings.data_dir}: stop it first, or give this one another "
            "DUBAN_DATA_DIR"
        )
    if status.state == "stale":
        console.print(
            f"the last duban up did not stop cleanly ({status.reason}); starting afresh",
            markup=False,
            soft_wrap=True,
        )


async def run_everything(
    settings: Settings,
    api_host: str,
    api_port: int,
    *,
    temporal_port: int = DEV_SERVER_PORT,
    temporal_ui_port: int = DEV_UI_PORT,
) -> int:
    """Everything duban needs on one machine, until Ctrl-C (SIGINT) or SIGTERM.

    Returns the exit code: 0 after a requested stop, 1 when a part (the Temporal worker, the
    projector, the API, the notification dispatcher, the dev server) died, 130 when
    interrupted while starting. Raises ``UpError`` (or what failed) when it cannot start. In
    every case each thing it started is stopped again, in the reverse order, and its record
    in the data directory is removed.
    """
    if not settings.database_url and settings.database_app_url:
        raise UpError(
            "DUBAN_DATABASE_APP_URL is set without DUBAN_DATABASE_URL: duban up migrates the "
            "database, which needs the owner's URL (set it, or unset both for the embedded "
            "PostgreSQL)"
        )
    _check_data_dir(settings)
    policy = PolicyInForce.of(settings)
    data_dir = settings.data_dir
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    starting = True

    def request_stop() -> None:
        if stop.is_set():
            return
        stop.set()
        if starting and main is not None:
            main.cancel()  # start-up waits on the dev server, Temporal, the database

    embedded: EmbeddedPostgres | None = None
    if not settings.database_url:
        pgdata = data_dir.resolve() / "postgres"
        embedded = EmbeddedPostgres(pgdata, started_here=not EmbeddedPostgres.running(pgdata))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    write_record(data_dir, _new_record(settings, STARTING))
    try:
        async with contextlib.AsyncExitStack() as stack:
            try:
                running = await _start(
                    stack,
                    settings,
                    policy,
                    embedded,
                    api_host,
                    api_port,
                    temporal_port,
                    temporal_ui_port,
                )
            except asyncio.CancelledError:
                if not stop.is_set() or main is None:
                    raise
                main.uncancel()
                console.print("interrupted while starting; stopping what had started …")
                code = EXIT_INTERRUPTED
            else:
                starting = False
                code = await _supervise(running, stop, data_dir)
    finally:
        # First: a command run from now on is told nothing runs, not sent to a stopping stack.
        remove_record(data_dir, os.getpid())
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if embedded is not None and embedded.started_here:
        if not embedded.left_running:
            console.print("stopped the embedded PostgreSQL.")
        else:
            console.print(
                "the embedded PostgreSQL keeps running (another duban process uses it); "
                f"stop it with: {embedded.stop_command()}",
                markup=False,
                soft_wrap=True,
            )
    console.print("stopped." if code == 0 else f"stopped (exit code {code}).")
    return code


async def _start(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    policy: PolicyInForce,
    embedded: EmbeddedPostgres | None,
    api_host: str,
    api_port: int,
    temporal_port: int,
    temporal_ui_port: int,
) -> _Running:
    """Start everything but the long-running parts, each with its undoing on ``stack``.
    ``embedded``: the embedded PostgreSQL to use (None: DUBAN_DATABASE_URL's)."""
    from activities.database import create_app_engine
    from activities.temporal_setup import (
        ensure_audit_schedule,
        ensure_report_schedules,
        register_search_attributes,
    )
    from worker import WORKER_POOL_SIZE, build_worker, document_issuer

    sock = bind_api_socket(api_host, api_port)
    stack.callback(sock.close)
    tracing = configure_tracing(settings, "duban")
    if tracing is not None:
        stack.callback(tracing.shutdown)  # last: after the worker and the API have stopped
    data_dir = settings.data_dir

    runtime = Runtime(settings, start_embedded_database=embedded is not None)
    if embedded is None:
        database = "DUBAN_DATABASE_URL (not started or stopped here)"
    else:
        stack.callback(embedded.stop)
        if embedded.started_here:
            database = f"embedded in {embedded.pgdata} (Ctrl-C stops it)"
        else:
            database = (
                f"embedded in {embedded.pgdata}, already running: it keeps running after "
                f"Ctrl-C (stop it with: {embedded.stop_command()})"
            )
    stack.callback(runtime.close)
    runtime.migrate()

    dev_server: DevServer | None = None
    if not settings.temporal_address:
        dev_server = await start_dev_server(data_dir, temporal_port, temporal_ui_port)
        stack.callback(dev_server.stop)
        settings = settings.model_copy(update={"temporal_address": dev_server.address})
    client = await connect_when_ready(settings, dev_server)
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
    token, reused = admin_token(runtime.engine, reference, data_dir)
    people = demo_accounts(runtime.engine, reference, data_dir)

    telemetry = ApiTelemetry()  # the process's metrics: the API's /metrics serves them
    stack.callback(telemetry.stop)
    # The worker's activity threads get a pool of their own, sized to them; the API and the
    # projector keep the runtime's.
    worker_engine = create_app_engine(
        runtime.database_url,
        settings.database_app_role or None,
        pool_size=WORKER_POOL_SIZE,
        app_url=settings.database_app_url,
    )
    stack.callback(worker_engine.dispose)
    worker_store = MeasuredEventStore(
        worker_engine, telemetry.metrics, max_event_bytes=settings.max_event_bytes
    )
    stack.callback(worker_store.close)
    parts = build_worker(client, settings, worker_store, metrics=telemetry.metrics)
    stack.callback(parts.executor.shutdown, wait=True)
    await ensure_report_schedules(client, settings, settings.task_queue)
    await ensure_audit_schedule(client, settings, settings.task_queue)
    services = await build_services(settings, runtime, telemetry=telemetry, temporal=client)
    stack.callback(services.store.close)
    server = ApiServer(uvicorn_config(create_app(settings, services=services), api_host, api_port))
    dispatcher = None
    if settings.webhook_url:
        dispatcher = OutboxDispatcher(
            worker_engine, settings.webhook_url, timeout=settings.webhook_timeout_seconds
        )
    deliveries = None
    if settings.deliveries_enabled:
        delivery_http = http_client(settings)
        stack.push_async_callback(delivery_http.aclose)
        deliveries = delivery_dispatcher(settings, worker_engine, delivery_http, policy.time_zone)

    host, port = sock.getsockname()[:2]
    # Listening on every interface: show the address that works on this machine.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    ui_url = f"http://127.0.0.1:{dev_server.ui_port}" if dev_server is not None else None
    facts = BannerFacts(
        database=database,
        api_base=base,
        temporal_ui_url=ui_url,
        temporal_address=str(settings.temporal_address),
        webhook=dispatcher is not None,
        tracing=tracing is not None,
        policy=policy,
        data_dir=data_dir,
        token=token,
        token_reused=reused,
        calendar_warnings=calendar_warning_lines(settings),
        console_accounts=people,
    )
    record = replace(
        _new_record(settings, RUNNING),
        api_url=base,
        temporal_address=settings.temporal_address,
        temporal_ui_url=ui_url,
        database=database_url_for_display(runtime.database_url),
        policy=policy.describe(),
        settings=_shared_settings(settings, runtime.database_url),
    )
    return _Running(
        parts=parts,
        projector=Projector(runtime.store),
        stop_projector=threading.Event(),
        # On one machine the QR codes of the documents lead to this `duban up` unless
        # DUBAN_PUBLIC_URL names the address people open it at.
        issuer=document_issuer(
            settings.model_copy(update={"public_url": settings.public_url or base}), worker_store
        ),
        server=server,
        sock=sock,
        dispatcher=dispatcher,
        deliveries=deliveries,
        dev_server=dev_server,
        banner=banner_lines(facts),
        record=record,
    )


async def _supervise(running: _Running, stop: asyncio.Event, data_dir: Path) -> int:
    """Run the parts until a stop is requested or one of them dies; then stop them all."""
    from worker import supervise

    tasks: dict[str, asyncio.Task[Any]] = {
        "Temporal worker": asyncio.create_task(running.parts.worker.run()),
        "projector": asyncio.create_task(
            follow_event_store(running.projector, running.stop_projector)
        ),
        "API": asyncio.create_task(serve_http(running.server, running.sock)),
    }
    if running.issuer is not None:  # stopped with the projector
        tasks["document issuer"] = asyncio.create_task(
            asyncio.to_thread(running.issuer.run, running.stop_projector)
        )
    if running.dispatcher is not None:
        tasks["notification dispatcher"] = asyncio.create_task(running.dispatcher.run(stop))
    if running.deliveries is not None:
        tasks["notification deliveries"] = asyncio.create_task(running.deliveries.run(stop))
    if running.dev_server is not None:
        tasks["Temporal dev server"] = asyncio.create_task(running.dev_server.watch())
    died: str | None = None
    try:
        # The record and the banner once the API answers, so that its URLs work when they are
        # read (a part that dies meanwhile is supervise's to report).
        while not running.server.started and not stop.is_set():
            done, _ = await asyncio.wait(tasks.values(), timeout=0.05)
            if done:
                break
        if running.server.started and not stop.is_set():
            write_record(data_dir, running.record)
            for line in running.banner:
                loud = line.startswith(LOUD)
                console.print(
                    line,
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                    style="bold red" if loud else None,
                )
        died = await supervise(tasks, stop, ProcessHealth())
    finally:
        remove_record(data_dir, os.getpid())
        if died is not None:
            console.print(f"the {died} stopped unexpectedly; stopping everything", markup=False)
        else:
            console.print("stopping …")
        await _stop_parts(running, tasks, stop)
    return 0 if died is None else 1


async def _stop_parts(
    running: _Running, tasks: dict[str, asyncio.Task[Any]], stop: asyncio.Event
) -> None:
    """The API first (no new requests), then the worker (in-flight tasks finish), the
    projector and the dispatcher; a part that does not stop in time is cancelled."""
    stop.set()
    watcher = tasks.get("Temporal dev server")
    if watcher is not None:
        watcher.cancel()
    running.server.should_exit = True
    running.stop_projector.set()
    with contextlib.suppress(Exception):  # a worker that died may refuse to shut down
        await asyncio.wait_for(running.parts.worker.shutdown(), PART_STOP_SECONDS)
    _, pending = await asyncio.wait(tasks.values(), timeout=PART_STOP_SECONDS)
    for name, task in tasks.items():
        if task in pending:
            log.error("up.part_did_not_stop", part=name, waited_seconds=PART_STOP_SECONDS)
            task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
