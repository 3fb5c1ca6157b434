"""Every command other than `duban up` finds the stack `duban up` runs through the record it
keeps in its data directory (``running.json``), lets settings given explicitly win, and —
with nothing running — starts nothing, saying so in one line with exit code 2.

`duban up` writing and removing the record is tested in ``tests/e2e/test_up.py``; here a
record is written as `duban up` would, and a listening socket stands for its API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.api.conftest import ApiHarness
from tests.api.matrix import register
from tests.cli.helpers import assert_one_line_refusal

runner = CliRunner()
BIN = Path(sys.executable).parent
RECORD_FILE = "running.json"
# Settings a test's environment must not bring in: the record is to supply them.
STACK_SETTINGS = (
    "DUBAN_DATABASE_URL",
    "DUBAN_DATABASE_APP_URL",
    "DUBAN_TEMPORAL_ADDRESS",
    "DUBAN_TASK_QUEUE",
    "DUBAN_POLICY_FILE",
)


def processes_mentioning(fragment: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in cmdline:
                found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def _no_database_outlives_the_test(tmp_path: Path) -> Iterator[None]:
    """A command that starts an embedded PostgreSQL under the test's directory anyway (as
    duban did before it read the record) must not leave it running."""
    yield
    for pid in processes_mentioning(str(tmp_path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture()
def api_socket() -> Iterator[socket.socket]:
    """A listening socket standing for the API of a running `duban up`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def record(data_dir: Path, **fields: Any) -> Path:
    """Write ``running.json`` as `duban up` does (mode 0600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / RECORD_FILE
    path.touch(mode=0o600)
    written = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "state": "running",
        "started_at": "2026-12-08T09:00:00+00:00",
        "data_dir": str(data_dir),
        **fields,
    }
    path.write_text(json.dumps(written))
    return path


def without_stack_settings(**env: str | None) -> dict[str, str | None]:
    return {**dict.fromkeys(STACK_SETTINGS), "COLUMNS": "200", **env}


@pytest.mark.parametrize(
    "command",
    [
        ("token", "create", "--role", "admin"),
        ("hazard", "show", "H-20261208-0001", "--token", "dbn_x_y"),
        ("audit", "reconcile"),
    ],
)
@pytest.mark.parametrize("xdg", [False, True])
def test_with_nothing_running_a_command_run_anywhere_starts_no_database_and_says_so(
    tmp_path: Path, command: tuple[str, ...], xdg: bool
):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    data_dir = home / ".local" / "share" / "duban"
    if xdg:
        env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
        data_dir = tmp_path / "xdg" / "duban"
    done = subprocess.run(
        [str(BIN / "duban"), *command],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"no duban up has recorded itself in {data_dir}" in lines[0]
    assert "make up" in lines[0] and "DUBAN_DATA_DIR" in lines[0]
    assert not (elsewhere / ".duban").exists(), "no embedded PostgreSQL in the cwd"
    assert not data_dir.exists(), "nothing made in the data directory either"
    assert processes_mentioning(str(tmp_path)) == []


def test_a_record_left_by_a_killed_up_is_stale_and_commands_say_so(
    tmp_path: Path, api_socket: socket.socket
):
    data_dir = tmp_path / "data"
    env = without_stack_settings(DUBAN_DATA_DIR=str(data_dir))
    gone = subprocess.Popen(["true"])
    gone.wait()
    api_url = f"http://127.0.0.1:{api_socket.getsockname()[1]}"
    record(data_dir, pid=gone.pid, api_url=api_url, settings={"database_url": "postgresql://x"})
    assert_one_line_refusal(
        runner.invoke(app, ["token", "list"], env=env),
        f"the duban up recorded in {data_dir / RECORD_FILE} is not running",
        f"process {gone.pid} is gone",
        "make up",
    )
    # The pid is alive (reused by another process) but nothing answers where its API was.
    silent = f"http://127.0.0.1:{closed_port()}"
    record(data_dir, api_url=silent, settings={"database_url": "postgresql://x"})
    assert_one_line_refusal(
        runner.invoke(app, ["audit", "history", "H-1"], env=env), f"nothing answers at {silent}"
    )
    record(data_dir, state="starting")
    assert_one_line_refusal(
        runner.invoke(app, ["hazard", "list", "--token", "dbn_x"], env=env),
        f"duban up (pid {os.getpid()}) is still starting",
    )
    (data_dir / RECORD_FILE).write_text("{not json")
    assert_one_line_refusal(
        runner.invoke(app, ["token", "list"], env=env), "not a record duban wrote"
    )


async def test_commands_run_elsewhere_take_the_database_and_temporal_from_the_running_up(
    cli_env: dict[str, str],
    isolated_api: ApiHarness,
    tmp_path: Path,
    api_socket: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
):
    api, grid = isolated_api, isolated_api.grid
    hazard_id = await register(api)
    data_dir = tmp_path / "up-data"
    record(
        data_dir,
        api_url=f"http://127.0.0.1:{api_socket.getsockname()[1]}",
        settings={
            "database_url": cli_env["DUBAN_DATABASE_URL"],
            "temporal_address": api.env.client.service_client.config.target_host,
            "task_queue": api.services.task_queue,
            "calendar_file": cli_env["DUBAN_CALENDAR_FILE"],
        },
    )
    env = without_stack_settings(
        DUBAN_DATA_DIR=str(data_dir), DUBAN_CALENDAR_FILE=None, DUBAN_LOG_LEVEL="WARNING"
    )
    monkeypatch.chdir(tmp_path)  # another directory than the one `duban up` ran in

    def duban(*args: str, **more: str | None) -> Any:
        return asyncio.to_thread(runner.invoke, app, list(args), env={**env, **more})

    shown = await duban("hazard", "show", hazard_id, "--token", grid.tokens["auditor"], "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["status"] == "rectifying"
    reconciled = await duban("audit", "reconcile", "--json")
    assert reconciled.exit_code == 0, reconciled.output
    assert json.loads(reconciled.stdout)["compared"] >= 1
    issued = await duban("token", "create", "--role", "auditor", "--json")
    assert issued.exit_code == 0, issued.output

    # A setting given explicitly wins over the record's.
    elsewhere = f"127.0.0.1:{closed_port()}"
    direct = await duban(
        "hazard", "show", hazard_id, "--token", grid.tokens["auditor"],
        DUBAN_TEMPORAL_ADDRESS=elsewhere,
    )  # fmt: skip
    assert_one_line_refusal(direct, f"Temporal at {elsewhere} is unreachable", "make up")
