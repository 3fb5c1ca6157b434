"""The case dossier (一案一档): the events, the chain up to the checkpoint the hourly job kept,
the workflow history whose hash the store recorded, a Chinese timeline. It verifies offline
with the standard library only, pinned to the bureau's key; it fails, naming the file, after
any one byte is changed; a dossier signed with another key, or of a chain rewritten after the
checkpoint, does not pass."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from activities.audit.dossier import DossierError, export_dossier
from activities.eventstore.checkpoint import Checkpoint, sign_checkpoint
from api.cli import app
from tests.audit.conftest import AuditScene, LoggingSafeCliRunner
from tests.store.test_tamper import rewrite_from
from tests.workflows.case_helpers import start_case, wait_for_version

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "verify_dossier.py"
runner = LoggingSafeCliRunner()


def offline_check(archive: Path, *options: str) -> subprocess.CompletedProcess[str]:
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
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def public_key_file(scene: AuditScene, tmp_path: Path) -> Path:
    path = tmp_path / "bureau.pub"
    path.write_text(scene.key.public_key().public_bytes_raw().hex())
    return path


async def closed_case(scene: AuditScene) -> str:
    hazard_id = f"H-dos-{uuid.uuid4().hex[:8]}"
    await scene.close_case(hazard_id)
    return hazard_id


def kept_checkpoints(scene: AuditScene) -> list[Checkpoint]:
    return [Checkpoint.load(p) for p in sorted(scene.checkpoint_dir.glob("checkpoint-*.json"))]


def export(scene: AuditScene, hazard_id: str, out: Path, **options: object) -> dict:
    return export_dossier(
        scene.store,
        hazard_id,
        out,
        scene.key,
        checkpoints=kept_checkpoints(scene),
        history_dir=scene.history_dir,
        **options,  # type: ignore[arg-type]
    )


async def test_a_dossier_with_its_workflow_history_verifies_offline_pinned_to_the_bureaus_key(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id = await closed_case(audit_scene)
    job = await audit_scene.run_audit_job()  # hourly: checkpoint, then the history export
    assert job.histories_exported == [hazard_id]
    # Later events of other cases: the dossier stops at the kept checkpoint all the same.
    await start_case(audit_scene.worker, f"H-later-{uuid.uuid4().hex[:6]}")
    archive = tmp_path / "dossier.zip"
    result = export(audit_scene, hazard_id, archive)
    assert result["events"] == 5 and result["history_events"] == 1
    latest = Checkpoint.load(audit_scene.checkpoint_dir / "latest.json")
    assert result["checkpoint"] == latest.position > job.checkpoint_position, (
        "the export run signs a checkpoint covering the records it made"
    )
    assert result["workflow_history"]["included"] is True
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        history = zipped.read("workflow-history.json")
        chain = zipped.read("chain.jsonl").decode().splitlines()
        checkpoint = json.loads(zipped.read("checkpoint.json"))
    assert {
        "events.jsonl",
        "history-events.jsonl",
        "chain.jsonl",
        "checkpoint.json",
        "workflow-history.json",
        "timeline.html",
        "dossier.pdf",
        "MANIFEST.json",
        "MANIFEST.sig",
    } == names
    (record,) = audit_scene.store.read_stream(f"history-case-{hazard_id}")
    assert hashlib.sha256(history).hexdigest() == record.data["sha256"]
    assert json.loads(chain[-1])["position"] == latest.position
    assert checkpoint == json.loads((audit_scene.checkpoint_dir / "latest.json").read_text())

    checked = offline_check(archive, "--public-key", str(public_key_file(audit_scene, tmp_path)))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "5 events recompute to their hashes" in checked.stdout
    assert "workflow history matches the SHA-256 recorded in the event store" in checked.stdout
    assert "UNPINNED" not in checked.stdout
    assert "OK: the dossier is intact" in checked.stdout
    fingerprint = hashlib.sha256(audit_scene.key.public_key().public_bytes_raw()).hexdigest()
    assert offline_check(archive, "--fingerprint", fingerprint[:20]).returncode == 0
    unpinned = offline_check(archive)
    assert unpinned.returncode == 0 and "UNPINNED" in unpinned.stdout


async def test_a_dossier_with_any_one_byte_changed_fails_naming_the_file(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id = await closed_case(audit_scene)
    await audit_scene.run_audit_job()
    archive = tmp_path / "dossier.zip"
    export(audit_scene, hazard_id, archive)
    pinned = str(public_key_file(audit_scene, tmp_path))
    with zipfile.ZipFile(archive) as zipped:
        members = {name: zipped.read(name) for name in zipped.namelist()}
    assert "workflow-history.json" in members
    for name, content in members.items():
        index = len(content) // 2
        altered = bytearray(content)
        altered[index] = (altered[index] + 1) % 256 if altered[index] != ord("\n") else ord(" ")
        copy = tmp_path / f"altered-{name}.zip"
        with zipfile.ZipFile(copy, "w") as zipped:
            for other, data in members.items():
                zipped.writestr(other, bytes(altered) if other == name else data)
        checked = offline_check(copy, "--public-key", pinned)
        assert checked.returncode == 1, (name, checked.stdout)
        expected = "MANIFEST.json" if name == "MANIFEST.sig" else name
        assert expected in checked.stdout, (name, checked.stdout)
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    assert offline_check(damaged, "--public-key", pinned).returncode == 1


async def test_a_dossier_forged_with_another_key_fails_pinned_verification(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id = await closed_case(audit_scene)
    # The forger signs a checkpoint of the head and the dossier with a key of their own.
    forger = Ed25519PrivateKey.generate()
    head = audit_scene.store.head()
    forged_checkpoint = sign_checkpoint(forger, head.position, head.hash, datetime.now(UTC))
    archive = tmp_path / "forged.zip"
    export_dossier(
        audit_scene.store,
        hazard_id,
        archive,
        forger,
        checkpoints=[forged_checkpoint],
        history_dir=audit_scene.history_dir,
    )
    pinned = public_key_file(audit_scene, tmp_path)
    checked = offline_check(archive, "--public-key", str(pinned))
    assert checked.returncode == 1
    assert "not the pinned key" in checked.stdout
    unpinned = offline_check(archive)
    assert unpinned.returncode == 0 and "UNPINNED" in unpinned.stdout, (
        "self-consistent: only pinning tells a forgery"
    )
    # The CLI pins the configured (bureau's) key by default.
    command = runner.invoke(
        app, ["audit", "verify-dossier", str(archive)], env=audit_scene.cli_env()
    )
    assert command.exit_code == 1 and "not the pinned key" in command.output


async def test_a_chain_rewritten_after_the_checkpoint_is_refused_at_export(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id = await closed_case(audit_scene)
    checkpoint = audit_scene.sign_head()
    # A superuser changes the case's first report and recomputes every hash after it.
    (reported,) = [
        e
        for e in audit_scene.store.read_stream(f"case-{hazard_id}")
        if e.event_type == "RectificationReported"
    ]
    rewrite_from(audit_scene, reported.position, {**reported.data, "summary": "forged"})
    with pytest.raises(DossierError, match="rewritten after it was signed"):
        export(audit_scene, hazard_id, tmp_path / "rewritten.zip")
    assert not (tmp_path / "rewritten.zip").exists()
    assert checkpoint.position == audit_scene.store.head().position


async def test_an_altered_event_is_refused_at_export(audit_scene: AuditScene, tmp_path: Path):
    hazard_id = await closed_case(audit_scene)
    audit_scene.sign_head()
    (first,) = audit_scene.store.read_stream(f"case-{hazard_id}", 1, 1)
    audit_scene.tamper(
        f'UPDATE events SET metadata = \'{{"actor_id":"x","actor_role":"admin"}}\''
        f" WHERE position = {first.position}"
    )
    with pytest.raises(DossierError, match=f"position {first.position}"):
        export(audit_scene, hazard_id, tmp_path / "altered.zip")


async def test_an_export_needs_a_kept_checkpoint_that_covers_the_case(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id = await closed_case(audit_scene)
    with pytest.raises(DossierError, match="no kept checkpoint covers"):
        export(audit_scene, hazard_id, tmp_path / "early.zip")


async def test_a_recorded_history_whose_file_is_missing_stops_the_export_unless_allowed(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id = await closed_case(audit_scene)
    await audit_scene.run_audit_job()
    (audit_scene.history_dir / f"{hazard_id}.json").unlink()
    with pytest.raises(DossierError, match="recorded in the event store"):
        export(audit_scene, hazard_id, tmp_path / "refused.zip")
    archive = tmp_path / "without-history.zip"
    result = export(audit_scene, hazard_id, archive, allow_missing_history=True)
    assert result["workflow_history"]["recorded"] is True
    assert result["workflow_history"]["included"] is False
    checked = offline_check(archive, "--public-key", str(public_key_file(audit_scene, tmp_path)))
    assert checked.returncode == 0, checked.stdout
    assert "WARNING: the workflow history was recorded" in checked.stdout
    with zipfile.ZipFile(archive) as zipped:
        assert "history-events.jsonl" in zipped.namelist()
        assert "workflow-history.json" not in zipped.namelist()
        assert "已记录但缺失" in zipped.read("timeline.html").decode()


async def test_the_timeline_reads_in_chinese_with_the_policy_and_clause_in_the_rule_column(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id = f"H-tl-{uuid.uuid4().hex[:8]}"
    clause = "工贸企业重大事故隐患判定标准 第四条(二)"
    handle, _ = await start_case(audit_scene.worker, hazard_id, checklist_clause=clause)
    await audit_scene.worker.env.sleep(timedelta(days=16))  # overdue: up to the township
    view = await wait_for_version(handle, 4)
    assert view.status == "escalated"
    audit_scene.sign_head()
    archive = tmp_path / "timeline.zip"
    export(audit_scene, hazard_id, archive)
    with zipfile.ZipFile(archive) as zipped:
        timeline = zipped.read("timeline.html").decode()
    rows = [line for line in timeline.splitlines() if line.startswith("<tr><td>")]
    registered = next(row for row in rows if "登记隐患" in row)
    assert f"重大事故隐患判定标准条款：{clause}" in registered
    assert "督办策略：default" in registered and "策略版本：" in registered
    escalated = next(row for row in rows if "逐级升级督办" in row)
    assert "督办层级：乡镇（街道）级" in escalated and "督办措施：下达督办函" in escalated
    assert "<th>当前状态</th><td>逾期升级督办中</td>" in timeline
    assert re.search(r"<th>督办单位</th><td>[^<（]+（乡镇（街道）级，责任人 ", timeline)
    for code in ("rectifying", "escalated", "township", "supervision_letter", "(inspector)"):
        assert code not in timeline, code


async def cli(env: dict[str, str], *args: str) -> Any:
    """The command in a thread: it runs its own event loop (asyncio.run), as from a shell."""
    return await asyncio.to_thread(runner.invoke, app, list(args), env=env)


def temporal_env(scene: AuditScene) -> dict[str, str]:
    """The CLI's environment, pointed at the test's Temporal server."""
    target = scene.worker.client.service_client.config.target_host
    return {**scene.cli_env(), "DUBAN_TEMPORAL_ADDRESS": target}


async def test_the_export_and_verify_dossier_commands(audit_scene: AuditScene, tmp_path: Path):
    # An open case with no kept checkpoint: nothing covers it, and it has no history yet.
    open_case = f"H-open-{uuid.uuid4().hex[:8]}"
    await start_case(audit_scene.worker, open_case)
    env = temporal_env(audit_scene)
    refused = await cli(env, "audit", "export", open_case, "--json")
    assert refused.exit_code == 1 and "no kept checkpoint covers" in refused.output
    signed = await cli(env, "audit", "checkpoint", "--json")
    assert signed.exit_code == 0, signed.output
    # A case closed after that checkpoint, before the hourly job: the export exports its
    # workflow history, records it, signs a checkpoint covering it, and says so.
    hazard_id = await closed_case(audit_scene)
    out = tmp_path / "case.zip"
    exported = await cli(env, "audit", "export", hazard_id, "--out", str(out), "--json")
    assert exported.exit_code == 0, exported.output
    result = json.loads(exported.output)
    assert result["events"] == 5 and result["history_events"] == 1
    assert result["workflow_history"]["included"] is True
    assert result["workflow_history"]["exported_now"] is True
    with zipfile.ZipFile(out) as zipped:
        manifest = json.loads(zipped.read("MANIFEST.json"))
        timeline = zipped.read("timeline.html").decode()
    assert manifest["checkpoint"]["signed_by"].startswith("this export (duban audit export)")
    assert "本次导出案卷时签署" in timeline and "本次导出案卷时导出并记录" in timeline
    checked = await cli(env, "audit", "verify-dossier", str(out))
    assert checked.exit_code == 0 and "intact" in checked.output, checked.output
    assert "pinned to the configured signing key" in checked.output
    # Asked again: the history is recorded now; the kept checkpoint is used, and named so.
    again_out = str(tmp_path / "again.zip")
    again = await cli(env, "audit", "export", hazard_id, "--out", again_out, "--json")
    assert again.exit_code == 0, again.output
    assert "exported_now" not in json.loads(again.output)["workflow_history"]
    with zipfile.ZipFile(tmp_path / "again.zip") as zipped:
        manifest = json.loads(zipped.read("MANIFEST.json"))
    assert manifest["checkpoint"]["signed_by"].startswith("kept in the checkpoint directory")


async def test_the_dossier_reads_in_chinese_with_names_local_times_and_its_pdf(
    audit_scene: AuditScene, tmp_path: Path
):
    """The exported dossier of a real case: no event type, timer key or role code; the units
    by name; times in the policy's zone, named; the PDF beside the HTML, its hash in the
    manifest; the checkpoint's signer stated as what duban knows of it."""
    hazard_id = f"H-zh-{uuid.uuid4().hex[:8]}"
    handle, _ = await start_case(audit_scene.worker, hazard_id)
    await audit_scene.worker.env.sleep(timedelta(days=16))  # reminders, overdue, escalated
    await wait_for_version(handle, 4)
    audit_scene.sign_head()
    archive = tmp_path / "zh.zip"
    export(audit_scene, hazard_id, archive, time_zone="Asia/Shanghai")
    with zipfile.ZipFile(archive) as zipped:
        timeline = zipped.read("timeline.html").decode()
        pdf = zipped.read("dossier.pdf")
        manifest = json.loads(zipped.read("MANIFEST.json"))
        stored = [json.loads(line) for line in zipped.read("events.jsonl").splitlines()]
    assert manifest["files"]["dossier.pdf"] == hashlib.sha256(pdf).hexdigest()
    assert pdf.startswith(b"%PDF-")
    assert manifest["checkpoint"]["signed_by"].startswith("kept in the checkpoint directory")
    assert manifest["checkpoint"]["signer_key_fingerprint"].startswith("key ")
    text = re.sub(r"<[^>]+>", " ", timeline)
    kinds = {e["event_type"] for e in stored}
    assert {"ReminderDue", "DeadlineMissed", "CaseEscalated"} <= kinds, kinds
    for code in (*kinds, "reminder:", "deadline:", "system（", "（system", "township"):
        assert code not in text, code
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d", text), "an ISO instant left in UTC"
    assert "时限届满自动办理" in text and "整改期限到期提醒" in text
    assert "本案卷所有时间均为 Asia/Shanghai（UTC+08:00） 时间" in text
    registered = json.loads(stored[0]["data_text"])
    township = next(u for u in registered["grid_path"] if u["level"] == "township")
    escalated = next(row for row in timeline.splitlines() if "逐级升级督办" in row)
    assert f"督办单位：{township['name']}" in escalated and township["code"] not in escalated
    assert "导出前已保存的检查点" in text
