"""``duban calendar show|check|load`` as an administrator runs them (no stack needed: ``load``
says so and the cases re-read at their next retry; waking them is in
tests/api/test_api_registration_calendar.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from domain.calendar import PACKAGE_YEARS
from tests.fixtures.calendar_data import complete_calendar_text

runner = CliRunner()
NEXT = PACKAGE_YEARS[-1] + 1


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An operator's environment with no calendar setting (the data directory's file) and no
    stack to reach."""
    for name in ("DUBAN_CALENDAR_FILE", "DUBAN_DATABASE_URL", "DUBAN_DATABASE_APP_URL"):
        monkeypatch.delenv(name, raising=False)
    return {
        "DUBAN_DATA_DIR": str(tmp_path / "data"),
        "DUBAN_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }


def duban(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_show_lists_the_package_years_the_files_years_and_the_first_missing(
    env: dict[str, str], tmp_path: Path
):
    shown = duban(env, "calendar", "show", "--json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    assert report["file_in_use"] is False and report["first_missing_year"] == NEXT
    assert report["years"][-1] == {"year": PACKAGE_YEARS[-1], "source": "chinese-calendar 1.11.0"}
    good = write(tmp_path, "good.toml", complete_calendar_text(range(NEXT, NEXT + 2)))
    assert duban(env, "calendar", "load", str(good), "--no-wake").exit_code == 0
    report = json.loads(duban(env, "calendar", "show", "--json").stdout)
    installed = str(tmp_path / "data" / "calendar.toml")
    assert report["calendar_file"] == installed and report["file_in_use"] is True
    assert {"year": NEXT, "source": installed, "notice": f"TEST DATA {NEXT}"} in report["years"]
    assert report["first_missing_year"] == NEXT + 2
    people = duban(env, "calendar", "show")
    assert str(NEXT) in people.stdout and "chinese-calendar 1.11.0" in people.stdout


def test_check_prints_each_error_with_its_line_and_key(env: dict[str, str], tmp_path: Path):
    good = write(tmp_path, "good.toml", complete_calendar_text(range(NEXT, NEXT + 1)))
    checked = duban(env, "calendar", "check", str(good))
    assert checked.exit_code == 0 and "ok" in checked.stdout
    bad = write(
        tmp_path,
        "bad.toml",
        f'[{NEXT}]\nholidays = [\n  {NEXT}-01-01T00:00:00,\n  "{NEXT}-02-30",\n]\n',
    )
    checked = duban(env, "calendar", "check", str(bad))
    assert checked.exit_code == 1
    lines = checked.stdout.strip().splitlines()
    assert lines[0].startswith(f"{bad}:3: {NEXT}.holidays[0]: ") and "date-time" in lines[0]
    assert lines[1].startswith(f"{bad}:4: {NEXT}.holidays[1]: ")
    plain = write(tmp_path, "plain.toml", f'[{NEXT}]\nholidays = ["{NEXT}-01-01"]\n')
    checked = duban(env, "calendar", "check", str(plain), "--json")
    assert checked.exit_code == 1
    (problem,) = json.loads(checked.stdout)["problems"]
    assert (problem["line"], problem["key"], problem["rule"]) == (
        2,
        f"{NEXT}.holidays",
        "calendar.periods_required",
    )
    missing = duban(env, "calendar", "check", str(tmp_path / "nowhere.toml"))
    assert missing.exit_code == 2 and len(missing.output.strip().splitlines()) == 1


def test_load_installs_a_valid_file_and_nothing_from_a_file_with_an_error(
    env: dict[str, str], tmp_path: Path
):
    target = tmp_path / "data" / "calendar.toml"
    bad = write(tmp_path, "bad.toml", f"[{NEXT}]\nholidays = [{NEXT}-01-01T00:00:00]\n")
    refused = duban(env, "calendar", "load", str(bad))
    assert refused.exit_code == 2 and "nothing was loaded" in refused.output
    assert not target.exists()

    good = write(tmp_path, "good.toml", complete_calendar_text(range(NEXT, NEXT + 2)))
    loaded = duban(env, "calendar", "load", str(good), "--json")
    assert loaded.exit_code == 0, loaded.output
    result = json.loads(loaded.stdout)
    assert result["changed"] is True and result["years"] == [NEXT, NEXT + 1]
    assert result["woken_cases"] is None and "no database" in result["wake_error"]
    assert target.read_text() == good.read_text()
    again = json.loads(duban(env, "calendar", "load", str(good), "--json").stdout)
    assert again["changed"] is False  # already there (a mounted file updated elsewhere)

    fewer = write(tmp_path, "fewer.toml", complete_calendar_text(range(NEXT + 1, NEXT + 2)))
    refused = duban(env, "calendar", "load", str(fewer))
    assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1
    assert str(NEXT) in refused.output and target.read_text() == good.read_text()
    allowed = duban(env, "calendar", "load", str(fewer), "--allow-dropping-years", "--no-wake")
    assert allowed.exit_code == 0 and target.read_text() == fewer.read_text()


def test_load_where_nothing_can_be_written_is_refused_in_one_line(
    env: dict[str, str], tmp_path: Path
):
    not_a_directory = write(tmp_path, "file", "")  # as a read-only mount refuses a write
    good = write(tmp_path, "good.toml", complete_calendar_text(range(NEXT, NEXT + 1)))
    target = {**env, "DUBAN_CALENDAR_FILE": str(not_a_directory / "calendar.toml")}
    refused = duban(target, "calendar", "load", str(good))
    assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1
    assert "cannot write" in refused.output and "ConfigMap" in refused.output
