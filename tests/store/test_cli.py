"""`duban migrate`, `duban audit checkpoint` and `duban audit verify` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.database import create_app_engine, create_owner_engine, head_revision
from activities.eventstore import EventStore
from api.cli import app
from tests.conftest import APP_ROLE
from tests.store.helpers import new_event

runner = CliRunner()


@pytest.fixture()
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    store = EventStore(engine)
    for version in range(3):
        store.append("case-CLI", version, [new_event(data={"v": version})])
    engine.dispose()
    return {
        "DUBAN_DATABASE_URL": fresh_database_url,
        "DUBAN_DATA_DIR": str(tmp_path / "data"),
        "DUBAN_LOG_LEVEL": "WARNING",
    }


def test_migrate_is_idempotent_and_reports_the_revision(env):
    result = runner.invoke(app, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    assert f"at revision {head_revision()}" in result.output


def test_verify_prints_what_it_checked_and_succeeds_on_an_intact_store(env):
    result = runner.invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "checked 3 events in 1 stream(s)" in result.output
    assert "OK" in result.output


def test_a_checkpoint_is_written_outside_the_database_and_verify_checks_it(env, tmp_path):
    made = runner.invoke(app, ["audit", "checkpoint", "--json"], env=env)
    assert made.exit_code == 0, made.output
    path = Path(json.loads(made.output)["path"])
    assert path.is_file() and (path.parent / "latest.json").is_file()
    assert (tmp_path / "data" / "keys" / "checkpoint-ed25519.pem").stat().st_mode & 0o077 == 0
    key = tmp_path / "data" / "keys" / "checkpoint-ed25519.pem"
    checked = runner.invoke(
        app, ["audit", "verify", "--checkpoint", str(path), "--public-key", str(key)], env=env
    )
    assert checked.exit_code == 0, checked.output
    assert "checkpoints passed at positions [3]" in checked.output


def test_verify_exits_non_zero_naming_position_and_stream_of_the_first_broken_link(env):
    owner = create_owner_engine(env["DUBAN_DATABASE_URL"])
    with owner.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql("""UPDATE events SET data = '{"v":9}' WHERE position = 2""")
    owner.dispose()
    result = runner.invoke(app, ["audit", "verify", "--json"], env=env)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["first_break"]["position"] == 2
    assert report["first_break"]["stream_id"] == "case-CLI"
    human = runner.invoke(app, ["audit", "verify"], env=env)
    assert human.exit_code == 1
    assert "BROKEN at position 2 (stream case-CLI)" in human.output


def test_a_tampered_checkpoint_file_is_refused(env, tmp_path):
    made = runner.invoke(app, ["audit", "checkpoint", "--json"], env=env)
    path = Path(json.loads(made.output)["path"])
    content = json.loads(path.read_text())
    content["position"] = 1
    path.write_text(json.dumps(content))
    result = runner.invoke(app, ["audit", "verify", "--checkpoint", str(path)], env=env)
    assert result.exit_code == 2
    assert "signature does not verify" in result.output
