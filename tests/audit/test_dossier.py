"""The case dossier (一案一档) verifies offline with the standard library only, and fails,
naming the file, after any one byte of it is changed."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from activities.audit.dossier import export_dossier
from api.cli import app
from tests.workflows.case_helpers import report, start_case, verify
from tests.workflows.conftest import RunningWorker
from workflows.case import SupervisedCaseWorkflow

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "verify_dossier.py"


def offline_check(archive: Path) -> subprocess.CompletedProcess[str]:
    """The system's Python in isolated mode: no duban, no venv, no cryptography."""
    return subprocess.run(
        [
            "/usr/bin/env",
            "-i",
            "PATH=/usr/bin:/bin",
            sys.executable,
            "-I",
            "-S",
            str(SCRIPT),
            str(archive),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def close_a_case(case_worker: RunningWorker, unique_hazard_id: str) -> str:
    handle, _ = await start_case(case_worker, unique_hazard_id)
    await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
    await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    return unique_hazard_id


async def test_an_exported_dossier_verifies_offline(
    case_worker: RunningWorker, unique_hazard_id: str, tmp_path: Path
):
    closed_case = await close_a_case(case_worker, unique_hazard_id)
    archive = tmp_path / "dossier.zip"
    result = export_dossier(case_worker.store, closed_case, archive, Ed25519PrivateKey.generate())
    assert result["events"] == 5
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        timeline = zipped.read("timeline.html").decode()
    assert {
        "events.jsonl",
        "chain.jsonl",
        "checkpoint.json",
        "timeline.html",
        "MANIFEST.json",
        "MANIFEST.sig",
    } <= names
    assert "验收合格" in timeline and "销号" in timeline
    checked = offline_check(archive)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "5 events recompute to their hashes" in checked.stdout
    assert "OK: the dossier is intact" in checked.stdout


async def test_a_dossier_with_any_one_byte_changed_fails_naming_the_file(
    case_worker: RunningWorker, unique_hazard_id: str, tmp_path: Path
):
    closed_case = await close_a_case(case_worker, unique_hazard_id)
    archive = tmp_path / "dossier.zip"
    export_dossier(case_worker.store, closed_case, archive, Ed25519PrivateKey.generate())
    with zipfile.ZipFile(archive) as zipped:
        members = {name: zipped.read(name) for name in zipped.namelist()}
    for name, content in members.items():
        index = len(content) // 2
        altered = bytearray(content)
        altered[index] = (altered[index] + 1) % 256 if altered[index] != ord("\n") else ord(" ")
        copy = tmp_path / f"altered-{name}.zip"
        with zipfile.ZipFile(copy, "w") as zipped:
            for other, data in members.items():
                zipped.writestr(other, bytes(altered) if other == name else data)
        checked = offline_check(copy)
        assert checked.returncode == 1, (name, checked.stdout)
        expected = "MANIFEST.json" if name == "MANIFEST.sig" else name
        assert expected in checked.stdout, (name, checked.stdout)
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    assert offline_check(damaged).returncode == 1


async def test_the_export_and_verify_dossier_commands(
    case_worker: RunningWorker, unique_hazard_id: str, database_url: str, tmp_path: Path
):
    closed_case = await close_a_case(case_worker, unique_hazard_id)
    runner = CliRunner()
    env = {
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_DATA_DIR": str(tmp_path),
        "DUBAN_LOG_LEVEL": "WARNING",
    }
    out = tmp_path / "case.zip"
    exported = runner.invoke(
        app, ["audit", "export", closed_case, "--out", str(out), "--json"], env=env
    )
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["events"] == 5
    checked = runner.invoke(app, ["audit", "verify-dossier", str(out)], env=env)
    assert checked.exit_code == 0 and "intact" in checked.output
