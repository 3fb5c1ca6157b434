"""`duban up` as the rest of duban finds it: run through `make up ARGS=…`, it records where its
parts listen in ``<data_dir>/running.json`` (0600), names the policy in force in its banner
(loudly for the drill policy), and every command run from another directory with nothing but
``DUBAN_DATA_DIR`` reaches its database and Temporal; a second `duban up` on the same data
directory is refused; after Ctrl-C the record is gone and commands say nothing runs. A
`duban up` killed with SIGKILL leaves a record that commands and the next `duban up` know to
be stale. `duban up` will not start over the data an earlier duban left in ``./.duban``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from domain.policy import parse_policy
from tests.conftest import DatabaseFactory
from tests.e2e.test_up import (
    BIN,
    DRILL,
    UpProcesses,
    free_ports,
    processes_mentioning,
    register,
    up_environment,
    up_processes,
)

__all__ = ["up_processes"]  # the fixture, shared with test_up.py
pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _nothing_outlives_the_test(tmp_path: Path) -> Iterator[None]:
    """No process started under the test's directory (a PostgreSQL a command started anyway,
    a dev server) outlives it, whatever failed."""
    yield
    for pid in processes_mentioning(str(tmp_path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def cli_environment(home: Path, data_dir: Path) -> dict[str, str]:
    """What a person has in another terminal: no DUBAN_* setting but the data directory."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), "DUBAN_DATA_DIR": str(data_dir)}


def duban(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "duban"), *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


async def test_commands_run_elsewhere_find_the_running_up_through_its_record(
    databases: DatabaseFactory, tmp_path: Path, up_processes: UpProcesses
) -> None:
    database_url = databases.create("up-record")
    data_dir, home, elsewhere = tmp_path / "data", tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    api_port, temporal_port, ui_port = free_ports(3)
    args = f"--api-port {api_port} --temporal-port {temporal_port} --temporal-ui-port {ui_port}"
    up = up_processes.start(
        up_environment(database_url, data_dir),
        (),
        tmp_path / "up.log",
        command=("make", "--no-print-directory", "up", f"ARGS={args}"),
        cwd=REPO,
        own_process_group=True,
    )
    token = up.wait_for("admin token:").split()[-1]
    policy = up.wait_for("policy:")
    drill_edition = parse_policy(DRILL.read_text(encoding="utf-8")).edition
    assert f"{DRILL} (drill, version" in policy and f"edition {drill_edition}" in policy
    assert "time zone Asia/Shanghai" in policy
    loud = up.wait_for("!!! DRILL POLICY")
    assert "never use it for real cases" in loud
    assert up.wait_for("data:").startswith(f"data:        {data_dir}")

    record_file = data_dir / "running.json"
    assert record_file.stat().st_mode & 0o777 == 0o600
    record = json.loads(record_file.read_text())
    assert record["state"] == "running" and record["pid"] != up.process.pid  # make's child
    assert record["api_url"] == f"http://127.0.0.1:{api_port}"
    assert record["temporal_address"] == f"127.0.0.1:{temporal_port}"
    assert record["temporal_ui_url"] == f"http://127.0.0.1:{ui_port}"
    assert record["settings"]["policy_file"] == str(DRILL)

    cli = cli_environment(home, data_dir)
    issued = duban(cli, elsewhere, "token", "create", "--role", "inspector", "--scope",
                   "DEMO-37-07-82-T01", "--json")  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    inspector = json.loads(issued.stdout)["token"]
    with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as http:
        hazard_id = register(
            http, inspector, "91370782MA0000001P", datetime.now(UTC) + timedelta(hours=2)
        )
    shown = duban(cli, elsewhere, "hazard", "show", hazard_id, "--token", token, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "rectifying"
    reconciled = duban(cli, elsewhere, "audit", "reconcile", "--json")
    assert reconciled.returncode == 0, reconciled.stderr
    assert json.loads(reconciled.stdout)["compared"] >= 1
    assert not (elsewhere / ".duban").exists()

    # A second `duban up` on the same data directory is refused before it starts anything.
    second_ports = free_ports(3)
    second = subprocess.run(
        [str(BIN / "duban"), "up", "--api-port", str(second_ports[0]), "--temporal-port",
         str(second_ports[1]), "--temporal-ui-port", str(second_ports[2])],
        env=up_environment(database_url, data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    refused = one_line(second)
    assert f"another duban up (pid {record['pid']}, running" in refused
    assert json.loads(record_file.read_text())["pid"] == record["pid"], "its record stays"

    os.killpg(up.process.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole group
    up.exit_code()
    assert "stopped." in up.lines
    assert not record_file.exists()
    gone = one_line(duban(cli, elsewhere, "token", "list"))
    assert f"no duban up has recorded itself in {data_dir}" in gone


async def test_a_killed_up_leaves_a_stale_record_that_commands_and_the_next_up_recognise(
    databases: DatabaseFactory, tmp_path: Path, up_processes: UpProcesses
) -> None:
    database_url = databases.create("up-killed")
    data_dir, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    ports = free_ports(3)
    args = (
        *("--api-port", str(ports[0])),
        *("--temporal-port", str(ports[1])),
        *("--temporal-ui-port", str(ports[2])),
    )
    env = up_environment(database_url, data_dir)
    first = up_processes.start(env, args, tmp_path / "up-1.log")
    first.wait_for("admin token:")
    first.process.kill()  # not reaped yet: a zombie still answers to kill(pid, 0)
    for pid in processes_mentioning(str(data_dir / "temporal.db")):  # its orphaned dev server
        os.kill(pid, signal.SIGKILL)
    stale = one_line(duban(cli_environment(home, data_dir), tmp_path, "token", "list"))
    assert f"the duban up recorded in {data_dir / 'running.json'} is not running" in stale
    assert f"process {first.process.pid} is gone" in stale
    first.process.wait(timeout=30)

    second = up_processes.start(env, args, tmp_path / "up-2.log")
    second.wait_for("admin token:")
    assert any(line.startswith("the last duban up did not stop cleanly") for line in second.lines)
    assert json.loads((data_dir / "running.json").read_text())["pid"] == second.process.pid
    assert second.interrupt() == 0
    assert not (data_dir / "running.json").exists()


def test_duban_up_will_not_start_over_the_data_an_earlier_duban_left_in_the_cwd(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    checkout, home = tmp_path / "checkout", tmp_path / "home"
    (checkout / ".duban").mkdir(parents=True)
    (checkout / ".duban" / "admin-token").write_text("dbn_kept\n")
    home.mkdir()
    env = up_environment(databases.create("up-earlier"), tmp_path / "unused")
    del env["DUBAN_DATA_DIR"]
    env["HOME"] = str(home)
    ports = free_ports(3)
    up = subprocess.Popen(
        [str(BIN / "duban"), "up", "--api-port", str(ports[0]), "--temporal-port",
         str(ports[1]), "--temporal-ui-port", str(ports[2])],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        stdout, stderr = up.communicate(timeout=60)
    finally:
        if up.poll() is None:  # it started after all
            up.kill()
            up.communicate()
    done = subprocess.CompletedProcess(up.args, up.returncode, stdout, stderr)
    line = one_line(done)
    target = home / ".local" / "share" / "duban"
    assert f"{checkout / '.duban'} holds the data of an earlier duban" in line
    assert f"mv {checkout / '.duban'} {target}" in line
    assert f"DUBAN_DATA_DIR={checkout / '.duban'}" in line
    assert not target.exists()
