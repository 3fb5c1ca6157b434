"""`duban up` as an operator runs it, as a process: it starts the Temporal dev server itself
(on ports of the test's choosing), runs migrations, loads the demo county, prints the URLs and
the admin token, serves the API; Ctrl-C (SIGINT) stops everything and leaves no dev server;
the next `duban up` on the same data directory resumes the open cases with their timers,
loads nothing twice and prints the same token. A part that dies (the dev server, killed)
stops `duban up` with exit code 1; a failing projector is reported on the console."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from activities.database import create_app_engine, create_owner_engine
from activities.eventstore import EventStore
from activities.reference_data import ReferenceData
from api.auth import create_token
from domain.calendar import WorkingCalendar
from tests.conftest import APP_ROLE, DatabaseFactory
from tests.fixtures.calendar_data import write_test_calendar
from workflows.ids import case_stream_id, case_workflow_id

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
DRILL = Path(__file__).resolve().parents[2] / "domain" / "policies" / "drill.toml"
PHOTO = {"uri": "s3://evidence/before.jpg", "sha256": "d" * 64}
START_SECONDS = 90.0
STOP_SECONDS = 40.0


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together while chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def processes_mentioning(fragment: str) -> list[int]:
    """Pids of live processes whose command line contains ``fragment``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if fragment in cmdline:
            found.append(int(entry.name))
    return found


class UpProcess:
    """One `duban up` (``duban up ARGS``, or ``command``, e.g. `make up`), its stdout read line
    by line as it comes. ``own_process_group``: in a group of its own, as in a terminal (a
    Ctrl-C there signals the whole group)."""

    def __init__(
        self,
        env: dict[str, str],
        args: tuple[str, ...],
        log_path: Path,
        *,
        command: tuple[str, ...] | None = None,
        cwd: Path | None = None,
        own_process_group: bool = False,
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            list(command) if command is not None else [str(BIN / "duban"), "up", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=own_process_group,
        )
        self.own_process_group = own_process_group
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def explain(self, what: str) -> str:
        log = self.log_path.read_text(errors="replace")[-3000:]
        return f"{what}\nstdout:\n" + "\n".join(self.lines) + f"\nstderr (tail):\n{log}"

    def wait_for(self, prefix: str, timeout: float = START_SECONDS) -> str:
        """The first line (seen or still to come) starting with ``prefix``."""
        for line in self.lines:
            if line.startswith(prefix):
                return line
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                seen = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if seen is None:
                raise AssertionError(self.explain(f"duban up ended before {prefix!r}"))
            self.lines.append(seen)
            if seen.startswith(prefix):
                return seen
        raise AssertionError(self.explain(f"no line {prefix!r} within {timeout:g} s"))

    def exit_code(self, timeout: float = STOP_SECONDS) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(self.explain(f"still running after {timeout:g} s")) from exc
        self._reader.join(timeout=5)
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is not None:
                self.lines.append(line)
        return code

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.exit_code()

    def close(self) -> None:
        if self.process.poll() is None:
            if self.own_process_group:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
            self.process.wait(timeout=30)
        self._log.close()


class UpProcesses:
    def __init__(self) -> None:
        self.started: list[UpProcess] = []
        self.data_dirs: list[Path] = []

    def start(
        self, env: dict[str, str], args: tuple[str, ...], log_path: Path, **options: Any
    ) -> UpProcess:
        self.data_dirs.append(Path(env["DUBAN_DATA_DIR"]))
        process = UpProcess(env, args, log_path, **options)
        self.started.append(process)
        return process


@pytest.fixture()
def up_processes() -> Iterator[UpProcesses]:
    processes = UpProcesses()
    yield processes
    for process in processes.started:
        process.close()
    # A test that failed half-way must not leave a dev server behind for the next one.
    for data_dir in processes.data_dirs:
        for pid in processes_mentioning(str(data_dir / "temporal.db")):
            os.kill(pid, signal.SIGKILL)


class Webhook:
    """A local HTTP endpoint that records every notification POSTed to it."""

    def __init__(self) -> None:
        self.received: list[tuple[str | None, bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((self.headers.get("Idempotency-Key"), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/notify"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture()
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def up_environment(database_url: str, data_dir: Path) -> dict[str, str]:
    """The test's environment without any DUBAN_* setting of its own (no Temporal address:
    `duban up` must start the dev server), plus the database and the drill policy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(
        DUBAN_DATABASE_URL=database_url,
        DUBAN_DATA_DIR=str(data_dir),
        DUBAN_POLICY_FILE=str(DRILL),
        DUBAN_METRICS_REFRESH_SECONDS="1",
        DUBAN_TEMPORAL_METRICS_PORT="0",
        DUBAN_LOG_LEVEL="WARNING",
    )
    return env


def poll(fetch: Callable[[], httpx.Response], ok: Callable[[httpx.Response], bool]) -> Any:
    deadline = time.monotonic() + 60
    while True:
        answer = fetch()
        if answer.status_code == 200 and ok(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"never satisfied; last {answer.status_code} {answer.text}")
        time.sleep(0.3)


def register(http: httpx.Client, token: str, credit_code: str, deadline: datetime) -> str:
    created = http.post(
        "/api/v1/hazards",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "credit_code": credit_code,
            "category": "thing",
            "source": "grid_patrol",
            "description": "演练: 消防通道堆放杂物",
            "location": "二号仓库",
            "found_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "evidence": [PHOTO],
            "deadline": deadline.isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["hazard_id"])


async def unfired_timers(client: Client, hazard_id: str) -> set[int]:
    """Ids of the timers the case workflow started that neither fired nor were cancelled."""
    history = await client.get_workflow_handle(case_workflow_id(hazard_id)).fetch_history()
    started, ended = set(), set()
    for event in history.events:
        if event.HasField("timer_started_event_attributes"):
            started.add(event.event_id)
        elif event.HasField("timer_fired_event_attributes"):
            ended.add(event.timer_fired_event_attributes.started_event_id)
        elif event.HasField("timer_canceled_event_attributes"):
            ended.add(event.timer_canceled_event_attributes.started_event_id)
    return started - ended


async def test_duban_up_runs_the_stack_stops_on_ctrl_c_and_the_next_up_resumes_its_cases(
    databases: DatabaseFactory, tmp_path: Path, up_processes: UpProcesses
) -> None:
    database_url = databases.create("up")
    data_dir = tmp_path / "data"
    api_port, temporal_port, ui_port = free_ports(3)
    args = (
        *("--api-port", str(api_port)),
        *("--temporal-port", str(temporal_port)),
        *("--temporal-ui-port", str(ui_port)),
    )
    env = up_environment(database_url, data_dir)
    engine = create_app_engine(database_url, APP_ROLE)
    store = EventStore(engine)
    try:
        first = up_processes.start(env, args, tmp_path / "up-1.log")
        token = first.wait_for("admin token:").split()[-1]
        base = f"http://127.0.0.1:{api_port}"
        assert first.wait_for("API:") == f"API:         {base}/api/v1"
        assert first.wait_for("API docs:") == f"API docs:    {base}/docs"
        assert first.wait_for("Temporal UI:") == f"Temporal UI: http://127.0.0.1:{ui_port}"
        # No calendar file, past 1 November (or into a year the package lacks): the banner
        # says which year an administrator must load, and how.
        calendar = first.wait_for("calendar:")
        assert str(WorkingCalendar().first_missing_year(datetime.now(UTC).year)) in calendar
        assert "duban calendar load" in calendar
        assert "loaded the demo county: 16 grid units, 50 enterprises, 0 rejected" in first.lines
        assert token.startswith("dbn_")
        token_file = data_dir / "admin-token"
        assert token_file.read_text().strip() == token
        assert token_file.stat().st_mode & 0o777 == 0o600
        admin = {"Authorization": f"Bearer {token}"}

        with httpx.Client(base_url=base, timeout=30) as http:
            units = http.get("/api/v1/grid-units", headers=admin)
            assert units.status_code == 200, units.text
            levels = Counter(unit["level"] for unit in units.json()["items"])
            assert (levels["county"], levels["township"], levels["village"]) == (1, 3, 10)
            listed = poll(
                lambda: http.get("/api/v1/enterprises", headers=admin, params={"limit": 500}),
                lambda answer: answer.json()["total"] == 50,
            )
            assert len(listed.json()["items"]) == 50
            assert http.get(f"http://127.0.0.1:{ui_port}/").status_code == 200
            poll(lambda: http.get("/metrics"), lambda a: "duban_projector_lag_events 0.0" in a.text)

            township = sorted(u["code"] for u in units.json()["items"] if u["level"] == "township")[
                0
            ]
            credit_code = next(
                row["credit_code"]
                for row in listed.json()["items"]
                if (row["grid_code"] or "").startswith(township + "-")
            )
            reference = ReferenceData(engine, store)
            inspector = create_token(engine, reference, "inspector", township, "inspector-up")[1]
            far = register(http, inspector, credit_code, datetime.now(UTC) + timedelta(hours=2))
            near = register(http, inspector, credit_code, datetime.now(UTC) + timedelta(seconds=15))
            before = http.get(f"/api/v1/hazards/{far}", headers=admin).json()
            assert before["status"] == "rectifying" and before["pending_timers"]

            assert first.interrupt() == 0
        assert first.lines[-1] == "stopped."
        assert processes_mentioning(str(data_dir / "temporal.db")) == []
        near_events = [e.event_type for e in store.read_stream(case_stream_id(near))]
        assert "CaseEscalated" not in near_events  # its deadline had not passed yet

        second = up_processes.start(env, args, tmp_path / "up-2.log")
        assert second.wait_for("admin token:").split()[-1] == token
        assert "the same as last time" in second.wait_for("             (")
        assert not any(line.startswith("loaded the demo county") for line in second.lines)
        async_client = await Client.connect(f"127.0.0.1:{temporal_port}")
        with httpx.Client(base_url=base, timeout=30) as http:
            after = http.get(f"/api/v1/hazards/{far}", headers=admin)
            assert after.status_code == 200, after.text
            assert after.json()["status"] == "rectifying"
            assert after.json()["deadline"] == before["deadline"]
            assert after.json()["pending_timers"] == before["pending_timers"]
            handle = async_client.get_workflow_handle(case_workflow_id(far))
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            assert await unfired_timers(async_client, far)

            # The near case's deadline timer survived the stop and fires on the new worker.
            escalated = poll(
                lambda: http.get(f"/api/v1/hazards/{near}", headers=admin),
                lambda answer: answer.json()["escalation_index"] == 1,
            )
            assert escalated.json()["status"] == "escalated"
            units_again = http.get("/api/v1/grid-units", headers=admin).json()
            assert len(units_again["items"]) == 16
        assert second.interrupt() == 0
        assert processes_mentioning(str(data_dir / "temporal.db")) == []
    finally:
        store.close()
        engine.dispose()


async def test_a_part_that_dies_stops_duban_up_with_exit_code_1_and_projector_failures_show(
    databases: DatabaseFactory, tmp_path: Path, up_processes: UpProcesses
) -> None:
    database_url = databases.create("up-dies")
    data_dir = tmp_path / "data"
    api_port, temporal_port, ui_port = free_ports(3)
    up = up_processes.start(
        up_environment(database_url, data_dir),
        (
            *("--api-port", str(api_port)),
            *("--temporal-port", str(temporal_port)),
            *("--temporal-ui-port", str(ui_port)),
        ),
        tmp_path / "up.log",
    )
    admin = {"Authorization": f"Bearer {up.wait_for('admin token:').split()[-1]}"}
    owner = create_owner_engine(database_url)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as http:
            poll(
                lambda: http.get("/api/v1/enterprises", headers=admin),
                lambda answer: answer.json()["total"] == 50,
            )
            with owner.begin() as conn:  # every projector batch touching the grid now fails
                conn.exec_driver_sql("ALTER TABLE grid_unit_view RENAME TO grid_unit_view_away")
            added = http.post(
                "/api/v1/grid-units",
                headers=admin,
                json={
                    "code": "DEMO-37-07-82-T01-V99",
                    "name": "新区社区",
                    "level": "village",
                    "parent_code": "DEMO-37-07-82-T01",
                    "responsible_person": "网格员 李",
                },
            )
            assert added.status_code == 201, added.text
            failing = up.wait_for("projector failing:", timeout=30)
            assert "grid_unit_view" in failing and "next try in" in failing
            with owner.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE grid_unit_view_away RENAME TO grid_unit_view")
            up.wait_for("projector recovered:", timeout=30)
    finally:
        owner.dispose()

    dev_servers = processes_mentioning(str(data_dir / "temporal.db"))
    assert len(dev_servers) == 1
    os.kill(dev_servers[0], signal.SIGKILL)
    assert up.exit_code(timeout=30) == 1
    assert "the Temporal dev server stopped unexpectedly; stopping everything" in up.lines
    assert up.lines[-1] == "stopped (exit code 1)."
    assert "worker.part_died" in up.log_path.read_text()


async def test_duban_up_posts_notifications_to_the_webhook_and_keeps_running(
    databases: DatabaseFactory, tmp_path: Path, up_processes: UpProcesses, webhook: Webhook
) -> None:
    database_url = databases.create("up-webhook")
    data_dir = tmp_path / "data"
    api_port, temporal_port, ui_port = free_ports(3)
    env = {
        **up_environment(database_url, data_dir),
        "DUBAN_WEBHOOK_URL": webhook.url,
        # The years ahead loaded: no administrators' calendar warning (README, "Working-day
        # calendar") is POSTed among the case's notifications.
        "DUBAN_CALENDAR_FILE": str(write_test_calendar()),
    }
    up = up_processes.start(
        env,
        (
            *("--api-port", str(api_port)),
            *("--temporal-port", str(temporal_port)),
            *("--temporal-ui-port", str(ui_port)),
        ),
        tmp_path / "up.log",
    )
    up.wait_for("admin token:")
    assert up.wait_for("webhook:").endswith("POSTed to DUBAN_WEBHOOK_URL")
    engine = create_app_engine(database_url, APP_ROLE)
    store = EventStore(engine)
    try:
        reference = ReferenceData(engine, store)
        township = "DEMO-37-07-82-T01"
        inspector = create_token(engine, reference, "inspector", township, "inspector-hook")[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as http:
            hazard_id = register(
                http, inspector, "91370782MA0000001P", datetime.now(UTC) + timedelta(hours=2)
            )
    finally:
        store.close()
        engine.dispose()
    # The registration notifies the enterprise and the village's responsible person.
    deadline = time.monotonic() + 30
    while sum(hazard_id.encode() in body for _, body in webhook.received) < 2:
        assert up.process.poll() is None, up.explain("duban up ended")
        assert time.monotonic() < deadline, f"notifications missing: {webhook.received}"
        time.sleep(0.2)
    assert all(key and key.startswith(hazard_id) for key, _ in webhook.received)
    assert up.process.poll() is None, up.explain("duban up ended")
    assert up.interrupt() == 0
