"""A worker process whose Temporal worker or notification dispatcher dies says so: the death is
logged, /healthz answers 503, and the process exits 1 so that Kubernetes restarts it — instead
of looking healthy while doing nothing."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.database import create_app_engine
from activities.eventstore import EventStore
from activities.health import MetricsServer, ProcessHealth
from activities.metrics import DubanMetrics
from activities.notifications import NotificationActivities, OutboxDispatcher
from activities.settings import Settings
from tests.conftest import APP_ROLE
from tests.e2e.conftest import dev_server
from worker import build_worker, supervise
from workflows.contracts import EnqueueNotificationsInput, NotificationToQueue

__all__ = ["dev_server"]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthz(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_a_temporal_worker_that_dies_turns_the_health_check_failing(
    dev_server: WorkflowEnvironment, fresh_database_url: str, tmp_path: Path
):
    # A namespace the server does not have: the worker's run() fails its validation.
    client = await Client.connect(
        dev_server.client.service_client.config.target_host, namespace="no-such-namespace"
    )
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    store = EventStore(engine)
    parts = build_worker(client, Settings(data_dir=tmp_path), store, f"dead-{uuid.uuid4().hex}")
    health = ProcessHealth()
    server = MetricsServer(
        "127.0.0.1", 0, ready=lambda: {"ready": True}, metrics=DubanMetrics(), healthy=health.check
    )
    server.start()
    try:
        assert (await asyncio.to_thread(healthz, server.port))[0] == 200
        parts_running = {"temporal worker": asyncio.create_task(parts.worker.run())}
        died = await asyncio.wait_for(supervise(parts_running, asyncio.Event(), health), 60)
        assert died == "temporal worker"
        status, body = await asyncio.to_thread(healthz, server.port)
        assert status == 503 and body["status"] == "failing"
        assert "temporal worker stopped" in body["reason"]
        assert "no-such-namespace" in body["reason"]
    finally:
        server.stop()
        parts.executor.shutdown(wait=False)
        store.close()
        engine.dispose()


async def test_a_requested_stop_is_not_a_death():
    health = ProcessHealth()
    stop = asyncio.Event()
    forever = asyncio.create_task(asyncio.Event().wait())
    stop.set()
    assert await supervise({"temporal worker": forever}, stop, health) is None
    assert health.check() == (True, "ok")
    forever.cancel()


async def test_a_dispatcher_that_dies_is_reported(fresh_database_url: str):
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    try:
        queue_one(engine)
        # Not a delivery failure but an error the dispatcher has no answer for: it dies.
        dispatcher = OutboxDispatcher(engine, "http://[::1", timeout=2)
        stop = asyncio.Event()
        health = ProcessHealth()
        parts = {"notification dispatcher": asyncio.create_task(dispatcher.run(stop))}
        assert await asyncio.wait_for(supervise(parts, stop, health), 30) == (
            "notification dispatcher"
        )
        ok, reason = health.check()
        assert not ok and "notification dispatcher stopped" in reason
    finally:
        engine.dispose()


def queue_one(engine) -> None:  # type: ignore[no-untyped-def]
    case_id = f"H-{uuid.uuid4().hex[:8]}"
    NotificationActivities(engine).enqueue_notifications(
        EnqueueNotificationsInput(
            case_id=case_id,
            workflow_id=f"case-{case_id}",
            notifications=[
                NotificationToQueue(
                    f"{case_id}:1:CaseEscalated:enterprise:e1",
                    "enterprise",
                    "91370782MA3C123451",
                    "case_escalated",
                    "CaseEscalated",
                    {},
                )
            ],
        )
    )


async def test_a_worker_process_whose_dispatcher_dies_exits_1(
    dev_server: WorkflowEnvironment, fresh_database_url: str, tmp_path: Path
):
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    try:
        queue_one(engine)
    finally:
        engine.dispose()
    env = {
        **os.environ,
        "DUBAN_DATABASE_URL": fresh_database_url,
        "DUBAN_TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "DUBAN_TASK_QUEUE": f"dies-{uuid.uuid4().hex[:8]}",
        "DUBAN_DATA_DIR": str(tmp_path),
        "DUBAN_WEBHOOK_URL": "http://[::1",
        "DUBAN_WORKER_METRICS_HOST": "127.0.0.1",
        "DUBAN_WORKER_METRICS_PORT": str(free_port()),
        "DUBAN_TEMPORAL_METRICS_PORT": str(free_port()),
        "DUBAN_LOG_LEVEL": "WARNING",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "duban"), "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "worker.part_died" in output and "notification dispatcher" in output
    assert "worker.exiting" in output


async def test_a_part_that_ends_because_the_stop_was_asked_has_not_died() -> None:
    """The delivery dispatcher watches the same stop event and may end a moment before the
    supervisor notices the stop: that is a clean stop (exit 0), not a part that died."""
    import asyncio

    from activities.health import ProcessHealth
    from worker import supervise

    stop = asyncio.Event()

    async def stops_with_the_event() -> None:
        await stop.wait()

    part = asyncio.create_task(stops_with_the_event())
    await asyncio.sleep(0)
    stop.set()
    await part  # the part has ended before the supervisor looks
    health = ProcessHealth()
    assert await supervise({"notification deliveries": part}, stop, health) is None
