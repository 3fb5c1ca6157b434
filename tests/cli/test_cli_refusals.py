"""Every CLI refusal — a bad option value, text that cannot be stored, an instant out of
range, a setting or file duban cannot use, Temporal or the database unreachable — is one line
on stderr and exit code 2, never a traceback; and the CLI shows instants in the policy's time
zone, to the second."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.api.conftest import ApiHarness
from tests.api.matrix import register
from tests.cli.helpers import assert_one_line_refusal

runner = CliRunner()
# An instant as the CLI shows it: local time of Asia/Shanghai (the shipped policies' zone), to
# the second.
SHOWN_INSTANT = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00\b")
RAW_INSTANT = re.compile(r"\d\d:\d\d:\d\d\.\d+|\+00:00")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def duban(env: dict[str, str], *args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200", **env})


@pytest.fixture()
def auditor_token(cli_env: dict[str, str]) -> str:
    issued = duban(cli_env, "token", "create", "--role", "auditor", "--json")
    assert issued.exit_code == 0, issued.output
    return str(json.loads(issued.stdout)["token"])


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("hazard", "list", "--token", "dbn_x", "--limit", "0"), ("--limit", "hazard list --help")),
        (("projections", "rebuild", "--batch-size", "0"), ("--batch-size",)),
        (("token", "create"), ("Missing option '--role'",)),
        (("hazard", "shw", "H-1"), ("No such command 'shw'",)),
        (("--verbose",), ("No such option: --verbose",)),
        (("audit", "replay", "H-1", "--as-of", "0001-01-01T00:00:00+14:00"), ("--as-of", "1900")),
        (("audit", "replay", "H-1", "--as-of", "9999-12-31T23:59:59-14:00"), ("--as-of",)),
        (("audit", "replay", "H-1", "--as-of", "yesterday"), ("--as-of",)),
        (("audit", "verify-dossier", "no-such.zip"), ("no-such.zip is not a file",)),
        (("hazard", "list", "--token", "dbn_x", "--enterprise", "91\x00"), ("--enterprise", "NUL")),
        (("hazard", "list", "--token", "dbn_x", "--enterprise=\udcff"), ("--enterprise", "UTF-8")),
        (("audit", "history", "H-\udcff"), ("argument 3", "not valid UTF-8")),
    ],
)
def test_a_bad_option_value_is_refused_in_one_line(
    cli_env: dict[str, str], args: tuple[str, ...], fragments: tuple[str, ...]
):
    assert_one_line_refusal(duban(cli_env, *args), *fragments)


def test_an_unusable_setting_or_an_unreachable_database_is_one_line(
    cli_env: dict[str, str], auditor_token: str, tmp_path: Path
):
    assert_one_line_refusal(
        duban({**cli_env, "DUBAN_TIME_ZONE": "Mars/Base"}, "token", "list"),
        "DUBAN_TIME_ZONE: unknown IANA time zone 'Mars/Base'",
    )
    assert_one_line_refusal(
        duban({**cli_env, "DUBAN_DATABASE_URL": "mysql://db/duban"}, "token", "list"),
        "DUBAN_DATABASE_URL",
        "psycopg2",
    )
    unreachable = f"postgresql://postgres@127.0.0.1:{closed_port()}/duban"
    for command in (("token", "list"), ("audit", "history", "H-1"), ("migrate",)):
        assert_one_line_refusal(
            duban({**cli_env, "DUBAN_DATABASE_URL": unreachable}, *command),
            "the database is unreachable",
            "DUBAN_DATABASE_URL",
        )
    missing = tmp_path / "no-policy.toml"
    assert_one_line_refusal(
        duban(
            {**cli_env, "DUBAN_POLICY_FILE": str(missing)},
            *("hazard", "show", "H-1", "--token", auditor_token),
        ),
        f"DUBAN_POLICY_FILE: cannot read {missing}",
    )


def test_temporal_unreachable_is_one_line_naming_the_address(
    cli_env: dict[str, str], auditor_token: str
):
    address = f"127.0.0.1:{closed_port()}"
    env = {**cli_env, "DUBAN_TEMPORAL_ADDRESS": address}
    for command in (("hazard", "show", "H-1", "--token", auditor_token), ("audit", "reconcile")):
        assert_one_line_refusal(
            duban(env, *command), f"Temporal at {address} is unreachable", "DUBAN_TEMPORAL_ADDRESS"
        )


async def test_the_cli_shows_instants_in_the_policys_time_zone_to_the_second(
    cli_env: dict[str, str], isolated_api: ApiHarness
):
    api, grid = isolated_api, isolated_api.grid
    hazard_id = await register(api)
    api.project()
    env = {
        **cli_env,
        "DUBAN_TEMPORAL_ADDRESS": api.env.client.service_client.config.target_host,
        "DUBAN_TASK_QUEUE": api.services.task_queue,
    }
    auditor = ("--token", grid.tokens["auditor"])
    shown = {
        "hazard show": ("hazard", "show", hazard_id, *auditor),
        "hazard list": ("hazard", "list", *auditor),
        "token list": ("token", "list"),
        "audit history": ("audit", "history", hazard_id),
        "audit replay": ("audit", "replay", hazard_id, "--as-of", "2100-01-01T00:00:00Z"),
    }
    for name, command in shown.items():
        result = await asyncio.to_thread(duban, env, *command)
        assert result.exit_code == 0, (name, result.output)
        assert SHOWN_INSTANT.search(result.stdout), (name, result.stdout)
        assert not RAW_INSTANT.search(result.stdout), (name, result.stdout)
    replayed = await asyncio.to_thread(duban, env, *shown["audit replay"])
    assert "as of 2100-01-01 08:00:00+08:00" in replayed.stdout
    # DUBAN_TIME_ZONE overrides the policy's zone, for deadlines and for what is shown.
    berlin = await asyncio.to_thread(
        duban, {**env, "DUBAN_TIME_ZONE": "Europe/Berlin"}, "audit", "history", hazard_id
    )
    assert re.search(r"\d\d:\d\d:\d\d\+01:00", berlin.stdout), berlin.stdout


async def test_refusals_name_the_role_with_its_article(
    cli_env: dict[str, str], isolated_api: ApiHarness
):
    api, grid = isolated_api, isolated_api.grid
    scoped = duban(cli_env, "token", "create", "--role", "auditor", "--scope", grid.county)
    assert_one_line_refusal(scoped, "an auditor token has no scope")
    hazard_id = await register(api)
    verified = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/verification",
        json={"passed": True, "comments": "x"},
        headers=grid.headers("auditor"),
    )
    assert verified.status_code == 403, verified.text
    assert verified.json()["error"]["message"].startswith("an auditor may not do this")


async def test_bad_input_to_a_case_command_is_one_line(
    cli_env: dict[str, str], isolated_api: ApiHarness, tmp_path: Path
):
    api, grid = isolated_api, isolated_api.grid
    env = {
        **cli_env,
        "DUBAN_TEMPORAL_ADDRESS": api.env.client.service_client.config.target_host,
        "DUBAN_TASK_QUEUE": api.services.task_queue,
        "DUBAN_TOKEN": grid.tokens["inspector_a"],
    }
    register = ("hazard", "register", "--credit-code", grid.enterprise_a)
    register += ("--description", "消防通道堵塞", "--location", "二号仓库")
    register += ("--measures", "清理通道", "--responsible-person", "李四")
    for option, value, field in (
        ("--found-at", "0001-01-01T00:00:00+14:00", "found_at"),
        ("--deadline", "9999-12-31T23:59:59-14:00", "deadline"),
        ("--deadline", "next week", "deadline"),
        ("--evidence", "s3://photo.jpg", "evidence"),
    ):
        result = await asyncio.to_thread(duban, env, *register, option, value)
        assert_one_line_refusal(result, field)
    registered = [e for e in api.store.read_all() if e.event_type == "HazardRegistered"]
    assert registered == [], "nothing was registered"
    assert_one_line_refusal(
        await asyncio.to_thread(duban, env, "audit", "checkpoint", "--dir", "/proc/duban"),
        "--dir: cannot write",
    )
