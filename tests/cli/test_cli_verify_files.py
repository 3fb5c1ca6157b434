"""``duban audit verify-files`` over the events: every file an event names is read and checked
against its recorded hash and size; each missing or altered one is named with the events that
record it, and the command exits 1."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from activities.blobs import DirectoryBlobStore
from api.cli import app
from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import hazard
from tests.blobs import samples
from tests.blobs.conftest import tamper

runner = CliRunner()


async def _case_with_files(api: ApiHarness) -> tuple[str, dict[str, dict[str, object]]]:
    refs = {}
    for name, data in (
        ("现场照片.jpg", samples.jpeg(90, 60)),
        ("整改报告.pdf", samples.pdf()),
        ("治理台账.xlsx", samples.xlsx()),
    ):
        answer = await api.client.post(
            "/api/v1/files",
            files={"file": (name, data)},
            headers=api.grid.headers("inspector_a"),
        )
        assert answer.status_code == 201, answer.text
        refs[name] = answer.json()
    body = hazard(
        api.grid,
        evidence=[{"sha256": r["sha256"], "name": r["name"]} for r in refs.values()],
    )
    created = await api.client.post(
        "/api/v1/hazards", json=body, headers=api.grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    return created.json()["hazard_id"], refs


async def test_a_tampered_and_a_deleted_file_are_each_named_and_the_intact_one_is_not(
    isolated_api: ApiHarness, cli_env: dict[str, str]
):
    api = isolated_api
    hazard_id, refs = await _case_with_files(api)
    env = {**cli_env, "DUBAN_DATA_DIR": str(api.settings.data_dir)}
    intact = runner.invoke(app, ["audit", "verify-files"], env=env)
    assert intact.exit_code == 0, intact.output
    assert "3 checked, 3 intact" in intact.output

    store = api.services.blobs
    assert isinstance(store, DirectoryBlobStore)
    photo, report, ledger = (str(refs[n]["sha256"]) for n in refs)
    tamper(store, photo, b"a different photo")
    tamper(store, report, None)

    result = runner.invoke(app, ["audit", "verify-files", "--case", hazard_id], env=env)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"altered {photo}" in text and "现场照片.jpg" in text
    assert f"missing {report}" in text and "整改报告.pdf" in text
    assert "HazardRegistered" in text
    assert ledger not in text
    assert "3 checked, 1 intact" in text

    as_json = runner.invoke(app, ["audit", "verify-files", "--json"], env=env)
    assert as_json.exit_code == 1
    problems = json.loads(as_json.output)["events"]["problems"]
    assert {(p["sha256"], p["status"]) for p in problems} == {
        (photo, "altered"),
        (report, "missing"),
    }


async def test_the_cli_registers_a_hazard_with_files_uploaded_from_disk(
    isolated_api: ApiHarness, cli_env: dict[str, str], tmp_path
):
    import asyncio

    from tests.cli.test_cli_hazards import stack_env
    from workflows.ids import case_stream_id

    api = isolated_api
    photo = tmp_path / "现场.jpg"
    photo.write_bytes(samples.jpeg(40, 30))
    fake = tmp_path / "报告.pdf"
    fake.write_bytes(b"MZ" + b"\x00" * 100)  # an executable whatever its name says
    env = {
        **stack_env(cli_env, api),
        "DUBAN_DATA_DIR": str(api.settings.data_dir),
        "DUBAN_TOKEN": api.grid.tokens["inspector_a"],
    }
    base = [
        "hazard",
        "register",
        "--credit-code",
        api.grid.enterprise_a,
        "--description",
        "配电箱门未关闭",
        "--location",
        "一号车间",
        "--measures",
        "更换配电箱",
        "--responsible-person",
        "张三",
        "--json",
    ]
    refused = await asyncio.to_thread(
        runner.invoke, app, [*base, "--file", str(photo), "--file", str(fake)], env=env
    )
    assert refused.exit_code == 2, refused.output
    assert "evidence.type_not_allowed" in refused.output and "file.1" in refused.output
    registered = await asyncio.to_thread(runner.invoke, app, [*base, "--file", str(photo)], env=env)
    assert registered.exit_code == 0, registered.output
    hazard_id = json.loads(registered.stdout)["hazard_id"]
    (evidence,) = api.store.read_stream(case_stream_id(hazard_id))[0].data["evidence"]
    assert evidence["name"] == "现场.jpg" and evidence["media_type"] == "image/jpeg"
