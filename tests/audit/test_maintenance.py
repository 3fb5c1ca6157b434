"""The hourly audit job: a signed checkpoint outside the database (never over a broken chain,
never with a key of its own), and each closed case's workflow history exported with its hash
in the event store — a lost file reported and exported again, a bad case skipped."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import TextClause, text
from sqlalchemy.engine import Engine
from temporalio.client import ScheduleIntervalSpec, WorkflowFailureError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.audit import history_exports, maintenance
from activities.audit.keys import SigningKeyUnavailable, signing_key
from activities.audit.maintenance import AuditActivities
from activities.eventstore import Checkpoint, EventMetadata, NewEvent, verify_store
from activities.metrics import render_metrics
from activities.settings import Settings
from activities.temporal_setup import AUDIT_SCHEDULE_ID, ensure_audit_schedule
from tests.audit.conftest import AuditScene
from tests.e2e.conftest import dev_server
from tests.workflows.case_helpers import start_case

__all__ = ["dev_server"]
BIN = Path(sys.executable).parent


async def close_case(scene: AuditScene, hazard_id: str) -> None:
    await scene.close_case(hazard_id)


def metric(scene: AuditScene, name: str) -> float:
    for line in render_metrics(scene.metrics).decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


async def test_the_audit_job_signs_a_checkpoint_and_exports_closed_histories_once(
    audit_scene: AuditScene,
):
    closed = f"H-aud-closed-{uuid.uuid4().hex[:6]}"
    await close_case(audit_scene, closed)
    await start_case(audit_scene.worker, f"H-aud-open-{uuid.uuid4().hex[:6]}")

    first = await audit_scene.run_audit_job()
    assert first.histories_exported == [closed]
    checkpoint = Checkpoint.load(audit_scene.checkpoint_dir / "latest.json")
    checkpoint.verify_signature(audit_scene.key.public_key().public_bytes_raw())
    assert verify_store(audit_scene.store.engine, [checkpoint]).ok
    exported = (audit_scene.history_dir / f"{closed}.json").read_bytes()
    assert json.loads(exported)["events"][0]["eventType"]
    (record,) = audit_scene.store.read_stream(f"history-case-{closed}")
    assert record.data["sha256"] == hashlib.sha256(exported).hexdigest()
    assert record.data["bytes"] == len(exported)
    assert metric(audit_scene, "duban_audit_checkpoint_position") == checkpoint.position

    second = await audit_scene.run_audit_job()
    assert second.histories_exported == []
    assert len(audit_scene.store.read_stream(f"history-case-{closed}")) == 1
    # Two the first time (the head, then the head with the export recorded), one the second.
    assert len(list(audit_scene.checkpoint_dir.glob("checkpoint-*.json"))) == 3


async def test_a_lost_history_file_is_reported_and_exported_again_while_temporal_has_it(
    audit_scene: AuditScene,
):
    closed = f"H-lost-{uuid.uuid4().hex[:6]}"
    await close_case(audit_scene, closed)
    await audit_scene.run_audit_job()
    path = audit_scene.history_dir / f"{closed}.json"
    original = path.read_bytes()
    path.unlink()

    activities = AuditActivities(
        audit_scene.store, audit_scene.settings, audit_scene.worker.client, audit_scene.metrics
    )
    result = await ActivityEnvironment().run(activities.export_closed_case_histories)
    assert result.restored == [closed] and result.missing == []
    assert path.read_bytes() == original, "the same history gives the same bytes"
    assert len(audit_scene.store.read_stream(f"history-case-{closed}")) == 1

    # A damaged file is as good as lost: restored too.
    path.write_bytes(original[:-10])
    result = await ActivityEnvironment().run(activities.export_closed_case_histories)
    assert result.restored == [closed]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(original).hexdigest()


async def test_a_lost_history_temporal_no_longer_has_is_reported_loudly_in_the_metrics(
    audit_scene: AuditScene,
):
    closed = f"H-gone-{uuid.uuid4().hex[:6]}"
    await close_case(audit_scene, closed)
    await audit_scene.run_audit_job()
    (audit_scene.history_dir / f"{closed}.json").unlink()
    # Another Temporal server: the case's workflow and its history are not there (as after
    # the namespace's retention).
    elsewhere = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    try:
        activities = AuditActivities(
            audit_scene.store, audit_scene.settings, elsewhere.client, audit_scene.metrics
        )
        result = await ActivityEnvironment().run(activities.export_closed_case_histories)
    finally:
        await elsewhere.shutdown()
    assert result.missing == [closed] and result.restored == []
    assert metric(audit_scene, "duban_history_exports_missing") == 1.0
    assert not (audit_scene.history_dir / f"{closed}.json").exists()


async def test_a_case_that_cannot_be_exported_is_skipped_and_does_not_use_up_the_run(
    audit_scene: AuditScene, monkeypatch: pytest.MonkeyPatch
):
    # A closed case in the record whose workflow Temporal does not know, closed first.
    ghost = f"H-ghost-{uuid.uuid4().hex[:6]}"
    audit_scene.store.append(
        f"case-{ghost}",
        0,
        [
            NewEvent(
                uuid.uuid4(),
                "CaseClosed",
                {"hazard_id": ghost},
                EventMetadata("system", "system"),
                datetime.now(UTC),
            )
        ],
    )
    real = f"H-real-{uuid.uuid4().hex[:6]}"
    await close_case(audit_scene, real)
    monkeypatch.setattr(maintenance, "MAX_EXPORTS_PER_RUN", 1)
    activities = AuditActivities(
        audit_scene.store, audit_scene.settings, audit_scene.worker.client, audit_scene.metrics
    )
    result = await ActivityEnvironment().run(activities.export_closed_case_histories)
    assert result.failed == [ghost]
    assert result.exported == [real], "the failure did not count against the run's limit"
    assert metric(audit_scene, "duban_history_exports_failed") == 1.0
    assert audit_scene.store.read_stream(f"history-case-{ghost}") == []
    # The case that failed holds the cursor: the next run tries it again.
    assert not (audit_scene.history_dir / history_exports.EXPORT_CURSOR_FILE).exists()
    again = await ActivityEnvironment().run(activities.export_closed_case_histories)
    assert again.failed == [ghost] and again.exported == []


async def test_the_export_cursor_moves_past_exported_closings_only(audit_scene: AuditScene):
    first, second = (f"H-cur-{n}-{uuid.uuid4().hex[:6]}" for n in (1, 2))
    await close_case(audit_scene, first)
    await close_case(audit_scene, second)
    activities = AuditActivities(
        audit_scene.store, audit_scene.settings, audit_scene.worker.client, audit_scene.metrics
    )
    result = await ActivityEnvironment().run(activities.export_closed_case_histories)
    assert result.exported == [first, second]
    closing = {
        event.stream_id: event.position
        for event in audit_scene.store.read_all(0, 10_000)
        if event.event_type == "CaseClosed"
    }
    cursor = json.loads((audit_scene.history_dir / history_exports.EXPORT_CURSOR_FILE).read_text())
    assert cursor == {"closings_exported_to": closing[f"case-{second}"]}
    # A closing the cursor has passed is not looked for again (the scan starts at the cursor).
    assert activities.closed_cases_without_history(cursor["closings_exported_to"]) == []


async def test_each_run_checks_the_next_slice_of_recorded_files_and_wraps_round(
    audit_scene: AuditScene, monkeypatch: pytest.MonkeyPatch
):
    hazards = sorted(f"H-slice-{n}-{uuid.uuid4().hex[:6]}" for n in range(3))
    for hazard_id in hazards:
        await close_case(audit_scene, hazard_id)
    activities = AuditActivities(
        audit_scene.store, audit_scene.settings, audit_scene.worker.client, audit_scene.metrics
    )
    await ActivityEnvironment().run(activities.export_closed_case_histories)
    for hazard_id in hazards:
        (audit_scene.history_dir / f"{hazard_id}.json").unlink()
    monkeypatch.setattr(maintenance, "RESTORE_CHECKS_PER_RUN", 2)
    monkeypatch.setattr(maintenance, "RECORDED_PAGE", 1)
    beats: list[str] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details[0])

    first = await env.run(activities.export_closed_case_histories)
    assert first.restored == hazards[:2]
    assert beats == hazards[:2], "a heartbeat for every file checked"
    second = await env.run(activities.export_closed_case_histories)
    assert second.restored == hazards[2:], "the next run goes on where the last one stopped"
    for hazard_id in hazards:
        (audit_scene.history_dir / f"{hazard_id}.json").unlink()
    third = await env.run(activities.export_closed_case_histories)
    assert third.restored == hazards[:2], "past the last export, the check starts over"


@pytest.mark.parametrize(
    ("query", "parameters", "index"),
    [
        (maintenance.CLOSINGS_WITHOUT_HISTORY, {"after": 0, "n": 200}, "events_case_endings"),
        (maintenance.RECORDED_EXPORTS, {"after": "", "n": 1000}, "events_history_streams"),
    ],
)
def test_the_hourly_scans_are_served_by_their_partial_indexes(
    owner_engine: Engine, query: TextClause, parameters: dict[str, object], index: str
):
    with owner_engine.begin() as conn:
        # With sequential scans priced out, a plan that cannot use the index still scans.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {query}"), parameters))
    assert index in plan, plan


async def test_the_hourly_job_refuses_to_sign_a_broken_chain(audit_scene: AuditScene):
    hazard_id = f"H-brk-{uuid.uuid4().hex[:6]}"
    await start_case(audit_scene.worker, hazard_id)
    await audit_scene.run_audit_job()
    signed = sorted(audit_scene.checkpoint_dir.glob("checkpoint-*.json"))
    await start_case(audit_scene.worker, f"H-brk2-{uuid.uuid4().hex[:6]}")
    head = audit_scene.store.head().position
    audit_scene.tamper(f"UPDATE events SET data = '{{\"forged\":true}}' WHERE position = {head}")
    with pytest.raises(WorkflowFailureError) as failure:
        await audit_scene.run_audit_job()
    assert "nothing was signed" in str(failure.value.cause.cause)
    assert f"position {head}" in str(failure.value.cause.cause)
    assert sorted(audit_scene.checkpoint_dir.glob("checkpoint-*.json")) == signed
    assert metric(audit_scene, "duban_audit_chain_broken") == 1.0


def test_a_configured_key_that_is_missing_is_never_created(tmp_path: Path):
    missing = tmp_path / "secret" / "checkpoint-ed25519.pem"
    settings = Settings(data_dir=tmp_path / "data", checkpoint_key_path=missing)
    with pytest.raises(SigningKeyUnavailable, match="checkpoint_key_path"):
        signing_key(settings)
    assert not missing.exists()
    # Unconfigured (one machine): made under the data directory the first time.
    local = Settings(data_dir=tmp_path / "data")
    key = signing_key(local)
    assert local.resolved_checkpoint_key_path.exists()
    assert signing_key(local).public_key().public_bytes_raw() == key.public_key().public_bytes_raw()


def test_a_worker_whose_configured_key_is_missing_refuses_to_start(tmp_path: Path):
    missing = tmp_path / "secret" / "checkpoint-ed25519.pem"
    started = subprocess.run(
        [str(BIN / "duban"), "worker"],
        env={
            "PATH": "/usr/bin:/bin",
            "DUBAN_DATA_DIR": str(tmp_path / "data"),
            "DUBAN_CHECKPOINT_KEY_PATH": str(missing),
            "DUBAN_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "DUBAN_TEMPORAL_ADDRESS": "127.0.0.1:1",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2, started.stdout + started.stderr
    assert "worker.checkpoint_key_unavailable" in started.stdout + started.stderr
    assert not missing.exists() and not (tmp_path / "data" / "keys").exists()


async def test_the_audit_schedule_runs_hourly_and_is_created_once(
    dev_server: WorkflowEnvironment, tmp_path: Path
):
    settings = Settings(data_dir=tmp_path)
    await ensure_audit_schedule(dev_server.client, settings, "audit-q")
    await ensure_audit_schedule(dev_server.client, settings, "audit-q")  # idempotent
    description = await dev_server.client.get_schedule_handle(AUDIT_SCHEDULE_ID).describe()
    (interval,) = description.schedule.spec.intervals
    assert isinstance(interval, ScheduleIntervalSpec)
    assert interval.every.total_seconds() == 3600
