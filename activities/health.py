"""Health of duban's processes (健康检查): the liveness and readiness checks and the small HTTP
server that answers the probes and serves the metrics.

- ``/healthz``: the process is up and serving (a liveness probe: restart it if not).
- ``/readyz``: the process can do its work: Temporal answers and the database is reachable
  (a readiness probe: send it no work if not). JSON body, 200 or 503.
- ``/metrics``: duban's own metrics in Prometheus text format (``activities.metrics``).

Nothing is created at import time. The API reuses ``readiness`` and the reachability checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.calendar_watch import CalendarStatus
from activities.metrics import DubanMetrics, render_metrics
from activities.settings import Settings

CHECK_TIMEOUT_SECONDS = 3.0


def database_reachable(engine: Engine) -> tuple[bool, str]:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()
            conn.rollback()
    except sa.exc.SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return False, (str(cause).strip().splitlines() or [type(exc).__name__])[0]
    return True, "ok"


async def temporal_reachable(client: Client) -> tuple[bool, str]:
    try:
        healthy = await client.service_client.check_health(
            timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS)
        )
    except Exception as exc:  # any RPC or transport failure means "not ready"
        return False, str(exc) or type(exc).__name__
    return (True, "ok") if healthy else (False, "frontend reports NOT_SERVING")


TemporalCheck = Callable[[], tuple[bool, str]]


def temporal_check_on_loop(client: Client, loop: asyncio.AbstractEventLoop) -> TemporalCheck:
    """A Temporal health check callable from any thread, run on the loop that owns ``client``
    (the worker's): the probe server's threads must not touch the client directly."""

    def check() -> tuple[bool, str]:
        future = asyncio.run_coroutine_threadsafe(temporal_reachable(client), loop)
        try:
            return future.result(timeout=CHECK_TIMEOUT_SECONDS + 1)
        except FutureTimeout:
            future.cancel()
            return False, "no answer in time"

    return check


def _temporal_check_by_connecting(settings: Settings) -> tuple[bool, str]:
    from activities.temporal_client import connect_temporal

    async def probe() -> tuple[bool, str]:
        try:
            client = await asyncio.wait_for(connect_temporal(settings), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # unreachable, refused TLS, bad key: all mean "not ready"
            return False, str(exc) or type(exc).__name__
        return await temporal_reachable(client)

    return asyncio.run(probe())


def readiness(
    settings: Settings,
    *,
    engine: Engine | None = None,
    temporal: TemporalCheck | None = None,
    calendar: Callable[[], CalendarStatus] | None = None,
) -> dict[str, Any]:
    """``{"ready": bool, "checks": {"database": {...}, "temporal": {...}}}``, and with
    ``calendar`` its ``"calendar"`` entry (a missing year's warning; never unready).

    Pass the process's own ``engine`` and a ``temporal`` check (``temporal_check_on_loop``)
    to test the connections it really uses; without them a short-lived connection is made
    from ``settings``. Blocking: call it from a thread, not on an event loop (in FastAPI, a
    plain ``def`` endpoint or ``run_in_threadpool``).
    """
    checks: dict[str, dict[str, Any]] = {}
    if engine is not None:
        ok, detail = database_reachable(engine)
    else:
        ok, detail = database_check(settings)
    checks["database"] = {"ok": ok, "detail": detail}
    ok, detail = temporal() if temporal is not None else _temporal_check_by_connecting(settings)
    checks["temporal"] = {"ok": ok, "detail": detail}
    ready = all(c["ok"] for c in checks.values())
    if calendar is not None:  # reported, never failing readiness (see CalendarStatus)
        checks["calendar"] = calendar().readiness()
    return {"ready": ready, "checks": checks}


def database_check(settings: Settings) -> tuple[bool, str]:
    """Connect once (no pool) as the process does, as the app role, and run ``SELECT 1``."""
    from activities.database import app_database_url

    configured = settings.database_url or settings.database_app_url
    if not configured:
        return False, "database_url is not set"
    engine = sa.create_engine(
        app_database_url(configured, settings.database_app_role or None, settings.database_app_url),
        poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": int(CHECK_TIMEOUT_SECONDS)},
    )
    try:
        return database_reachable(engine)
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- the HTTP server


class ProcessHealth:
    """Whether the process still does its work. Once a part it cannot live without has died
    (the Temporal worker, the notification dispatcher) it stays failed: ``/healthz`` answers
    503 so that the orchestrator restarts the process even if it has not exited yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failure: str | None = None

    def fail(self, reason: str) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = reason

    def check(self) -> tuple[bool, str]:
        with self._lock:
            failure = self._failure
        return (False, failure) if failure is not None else (True, "ok")


class MetricsServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on a small threaded stdlib HTTP server.

    ``ready`` is called per ``/readyz`` request (from a server thread); ``healthy`` (default:
    always) per ``/healthz``. Port 0 binds a free port (see ``port``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ready: Callable[[], dict[str, Any]],
        metrics: DubanMetrics | None = None,
        healthy: Callable[[], tuple[bool, str]] | None = None,
    ) -> None:
        render = functools.partial(render_metrics, metrics)
        self._server = ThreadingHTTPServer(
            (host, port), _handler(ready, render, healthy or (lambda: (True, "ok")))
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="duban-health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def _handler(
    ready: Callable[[], dict[str, Any]],
    render: Callable[[], bytes],
    healthy: Callable[[], tuple[bool, str]],
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                ok, reason = healthy()
                if ok:
                    self._send(200, b'{"status":"ok"}', "application/json")
                else:
                    failing = {"status": "failing", "reason": reason}
                    self._send(503, json.dumps(failing).encode(), "application/json")
            elif path == "/readyz":
                try:
                    report = ready()
                except Exception as exc:  # a failing check must answer 503, not hang up
                    report = {"ready": False, "error": str(exc)}
                body = json.dumps(report, ensure_ascii=False).encode()
                self._send(200 if report.get("ready") else 503, body, "application/json")
            elif path == "/metrics":
                self._send(200, render(), CONTENT_TYPE_LATEST)
            else:
                self._send(404, b'{"error":"not found"}', "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Probes arrive every few seconds: keep them out of the logs."""

    return Handler
