"""``duban token create`` and ``duban hazard register|show|list`` as an operator runs them,
against the worker of the API harness on the time-skipping server and the test's database.

The CLI runs in a thread (it makes its own event loop, as from a shell) while the worker keeps
running on the test's loop.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from typer.testing import CliRunner

from api.cli import app
from tests.api.conftest import ApiHarness

runner = CliRunner()


async def duban(env: dict[str, str], *args: str) -> Any:
    return await asyncio.to_thread(runner.invoke, app, list(args), env=env)


def stack_env(cli_env: dict[str, str], api: ApiHarness) -> dict[str, str]:
    return {
        **cli_env,
        "COLUMNS": "160",
        "DUBAN_TEMPORAL_ADDRESS": api.env.client.service_client.config.target_host,
        "DUBAN_TASK_QUEUE": api.services.task_queue,
    }


async def test_tokens_are_issued_and_a_hazard_is_registered_shown_and_listed_from_the_cli(
    cli_env: dict[str, str], isolated_api: ApiHarness
):
    api, grid = isolated_api, isolated_api.grid
    env = stack_env(cli_env, api)
    issued = await duban(
        env, "token", "create", "--role", "supervisor", "--scope", grid.township_a, "--json"
    )
    assert issued.exit_code == 0, issued.output
    token = json.loads(issued.stdout)
    assert token["role"] == "supervisor" and token["scope"] == grid.township_a
    assert token["token"].startswith("dbn_")
    refused = await duban(env, "token", "create", "--role", "supervisor", "--scope", "NOWHERE")
    assert refused.exit_code == 2 and "token.scope.grid_unit" in refused.output

    deadline = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    registered = await duban(
        {**env, "DUBAN_TOKEN": token["token"]},
        "hazard",
        "register",
        "--credit-code",
        grid.enterprise_a.lower(),
        "--description",
        "消防通道堵塞",
        "--location",
        "二号仓库",
        "--deadline",
        deadline,
        "--measures",
        "清理通道",
        "--responsible-person",
        "李四",
        "--evidence",
        "s3://evidence/2.jpg=" + "b" * 64,
        "--json",
    )
    assert registered.exit_code == 0, registered.output
    case = json.loads(registered.stdout)
    assert case["status"] == "rectifying"
    assert datetime.fromisoformat(case["deadline"]) == datetime.fromisoformat(deadline)
    hazard_id = case["hazard_id"]
    notice = api.store.read_stream(f"case-{hazard_id}")[1]
    assert notice.data["measures"] == "清理通道" and notice.data["responsible_person"] == "李四"
    assert notice.metadata["actor_role"] == "supervisor"

    county = await duban(
        env, "token", "create", "--role", "supervisor", "--scope", grid.county, "--json"
    )
    county_token = json.loads(county.stdout)["token"]
    listing = (
        "hazard",
        "register",
        "--credit-code",
        grid.enterprise_a,
        "--description",
        "动火作业未办理审批",
        "--location",
        "焊接车间",
        "--mode",
        "listed",
        "--listing-level",
        "county",
        "--measures",
        "停止动火, 补办审批",
        "--responsible-person",
        "王五",
        "--listing-responsibility",
        "厂长",
        "--listing-measures",
        "停止动火",
        "--listing-funds",
        "自筹",
        "--listing-time-limit",
        "15 日",
        "--json",
    )
    incomplete = await duban({**env, "DUBAN_TOKEN": county_token}, *listing)
    assert incomplete.exit_code == 2, incomplete.output
    assert "listing_measures.emergency_plan" in incomplete.output
    listed = await duban(
        {**env, "DUBAN_TOKEN": county_token}, *listing, "--listing-emergency-plan", "警戒隔离"
    )
    assert listed.exit_code == 0, listed.output
    listed_case = json.loads(listed.stdout)
    assert listed_case["listed_level"] == "county", listed_case
    listed_events = api.store.read_stream(f"case-{listed_case['hazard_id']}")
    listing_event = next(e for e in listed_events if e.event_type == "HazardListed")
    assert listing_event.data["listing_measures"]["emergency_plan"] == "警戒隔离"

    bad = await duban(
        {**env, "DUBAN_TOKEN": token["token"]},
        "hazard",
        "register",
        "--credit-code",
        grid.enterprise_a,
        "--description",
        "x",
        "--location",
        "y",
        "--mode",
        "sometimes",
    )
    assert bad.exit_code == 2 and "mode" in bad.output

    shown = await duban(env, "hazard", "show", hazard_id, "--token", grid.tokens["enterprise_a"])
    assert shown.exit_code == 0, shown.output
    assert "rectifying" in shown.stdout
    shown_json = await duban(
        env, "hazard", "show", hazard_id, "--token", grid.tokens["auditor"], "--json"
    )
    assert json.loads(shown_json.stdout)["version"] == case["version"]
    outside = await duban(env, "hazard", "show", hazard_id, "--token", grid.tokens["enterprise_b"])
    # A refusal of the domain or of access is one line and exit 2, like every CLI refusal.
    assert outside.exit_code == 2 and "access.forbidden" in outside.output
    assert len(outside.output.strip().splitlines()) == 1, outside.output

    api.project()

    async def listed_ids(who: str, *filters: str) -> list[str]:
        answer = await duban(env, "hazard", "list", "--token", grid.tokens[who], "--json", *filters)
        assert answer.exit_code == 0, answer.output
        return [item["hazard_id"] for item in json.loads(answer.stdout)["items"]]

    both = sorted([hazard_id, listed_case["hazard_id"]])
    assert sorted(await listed_ids("supervisor_a")) == both
    assert await listed_ids("supervisor_b") == []
    assert sorted(await listed_ids("enterprise_a")) == both
    assert await listed_ids("auditor", "--listed") == [listed_case["hazard_id"]]
    assert await listed_ids("auditor", "--level", "county") == [listed_case["hazard_id"]]
    every_filter = (
        "--grid-unit",
        grid.village_a,
        "--status",
        "rectifying",
        "--hazard-class",
        "general",
        "--not-listed",
        "--not-overdue",
        "--enterprise",
        grid.enterprise_a,
        "--open",
        "--limit",
        "5",
    )
    assert await listed_ids("auditor", *every_filter) == [hazard_id]
    assert await listed_ids("auditor", "--status", "closed") == []
    assert await listed_ids("auditor", "--overdue") == []
    assert await listed_ids("auditor", "--limit", "1", "--offset", "2") == []
    assert len(await listed_ids("auditor", "--limit", "1", "--offset", "1")) == 1
    assert await listed_ids("auditor", "--enterprise", grid.enterprise_b) == []
    table = await duban(env, "hazard", "list", "--token", grid.tokens["supervisor_county"])
    assert table.exit_code == 0 and hazard_id in table.stdout and "2 case(s)" in table.stdout
    scoped = await duban(
        env,
        "hazard",
        "list",
        "--token",
        grid.tokens["supervisor_b"],
        "--grid-unit",
        grid.township_a,
    )
    assert scoped.exit_code == 2 and "access.forbidden" in scoped.output
    wrong = await duban(env, "hazard", "list", "--token", grid.tokens["auditor"], "--status", "x")
    assert wrong.exit_code == 2 and "status" in wrong.output
    unknown = await duban(env, "hazard", "list", "--token", "dbn_nobody_x")
    assert unknown.exit_code == 2 and "auth.invalid" in unknown.output


async def test_a_revoked_token_authenticates_nobody_from_the_next_request_on(
    cli_env: dict[str, str], isolated_api: ApiHarness
):
    api = isolated_api
    env = stack_env(cli_env, api)
    issued = await duban(
        env, "token", "create", "--role", "auditor", "--actor", "审计 孙", "--json"
    )
    token = json.loads(issued.stdout)
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert (await api.client.get("/api/v1/hazards", headers=bearer)).status_code == 200
    listed = await duban(env, "token", "list", "--json")
    assert listed.exit_code == 0, listed.output
    mine = [t for t in json.loads(listed.stdout) if t["token_id"] == token["token_id"]]
    assert mine and mine[0]["revoked_at"] is None and "token" not in mine[0]
    assert token["token"] not in listed.stdout, "the secret is never shown again"
    revoked = await duban(env, "token", "revoke", token["token"], "--json")  # the pasted secret
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout)["revoked_at"] is not None
    assert (await api.client.get("/api/v1/hazards", headers=bearer)).status_code == 401
    again = await duban(env, "token", "revoke", token["token_id"], "--json")
    assert json.loads(again.stdout)["revoked_at"] == json.loads(revoked.stdout)["revoked_at"]
    unknown = await duban(env, "token", "revoke", "000000000000")
    assert unknown.exit_code == 2 and "token.unknown" in unknown.output
