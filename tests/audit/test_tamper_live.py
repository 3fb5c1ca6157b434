"""Tampering with a running system's record is caught by `duban audit verify`, at the exact
position and stream: cases run on the time-skipping server with the real activities writing
the store, the hourly audit job keeps a signed checkpoint, then a superuser switches the
triggers off and modifies, deletes, swaps, inserts, truncates or rewrites events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from api.cli import app
from tests.audit.conftest import AuditScene, LoggingSafeCliRunner
from tests.store.test_tamper import rewrite_from
from tests.workflows.case_helpers import report, start_case, verify, wait_for_version
from workflows.case import SupervisedCaseWorkflow

runner = LoggingSafeCliRunner()


@dataclass(frozen=True)
class Stored:
    position: int
    stream_id: str


def stored_rows(scene: AuditScene) -> list[Stored]:
    with scene.owner.connect() as conn:
        rows = conn.exec_driver_sql("SELECT position, stream_id FROM events ORDER BY position")
        return [Stored(p, s) for p, s in rows]


def verify_command(scene: AuditScene, *options: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["audit", "verify", "--json", *options], env=scene.cli_env())
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output.splitlines()[-1])


async def run_cases(scene: AuditScene) -> list[str]:
    """Three cases interleaved, as on a live system: one closed, one escalated, one reported."""
    ids = [f"H-live-{n}-{uuid.uuid4().hex[:6]}" for n in range(3)]
    handles = [(await start_case(scene.worker, hazard_id))[0] for hazard_id in ids]
    await handles[0].execute_update(SupervisedCaseWorkflow.report_rectification, report())
    await handles[2].execute_update(SupervisedCaseWorkflow.report_rectification, report())
    await handles[0].execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
    await scene.worker.env.sleep(timedelta(days=16))  # the second one misses its deadline
    await wait_for_version(handles[1], 4)
    return ids


async def test_every_kind_of_tampering_on_a_running_system_is_caught_where_it_happened(
    audit_scene: AuditScene,
):
    scene = audit_scene
    await run_cases(scene)
    job = await scene.run_audit_job()
    rows = stored_rows(scene)
    # The job signed the head, then again after recording the closed case's history export.
    assert (job.checkpoint_position, rows[-1].position) == (rows[-2].position, rows[-1].position)
    assert len(rows) >= 12
    assert verify_command(scene)[0] == 0
    backup = f"events_backup_{uuid.uuid4().hex[:8]}"
    with scene.owner.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {backup} AS SELECT * FROM events")

    def restore() -> None:
        scene.tamper("DELETE FROM events", f"INSERT INTO events SELECT * FROM {backup}")

    middle = rows[len(rows) // 2]
    before = rows[len(rows) // 2 - 1]
    head = rows[-1]

    def modify() -> None:
        scene.tamper(
            'UPDATE events SET data = \'{"summary":"已整改"}\''
            f" WHERE position = {middle.position}"
        )

    def delete() -> None:
        scene.tamper(f"DELETE FROM events WHERE position = {middle.position}")

    def swap() -> None:
        scene.tamper(
            f"UPDATE events SET position = 1000000 WHERE position = {before.position}",
            f"UPDATE events SET position = {before.position} WHERE position = {middle.position}",
            f"UPDATE events SET position = {middle.position} WHERE position = 1000000",
        )

    def insert() -> None:
        scene.tamper(
            f"UPDATE events SET position = position + 1000000 WHERE position >= {middle.position}",
            "UPDATE events SET position = position - 999999 WHERE position >= 1000000",
            f"""INSERT INTO events SELECT {middle.position}, stream_id, 99, gen_random_uuid(),
                    'CaseClosed', 1, '{{"forged":true}}', metadata, occurred_at, recorded_at,
                    hash, hash FROM events WHERE position = {before.position}""",
        )

    def truncate_tail() -> None:
        scene.tamper(f"DELETE FROM events WHERE position >= {head.position - 1}")

    def rewrite() -> None:
        rewrite_from(scene, middle.position, {"summary": "forged, hashes recomputed"})

    # kind, tampering, expected (position, stream or None, words of the reason)
    cases: list[tuple[str, Callable[[], None], int, str | None, str]] = [
        ("modify", modify, middle.position, middle.stream_id, "content does not match"),
        ("delete", delete, middle.position, None, f"position {middle.position} is missing"),
        ("swap", swap, before.position, middle.stream_id, "prev_hash does not continue"),
        ("insert", insert, middle.position, before.stream_id, "content does not match"),
        ("truncate", truncate_tail, head.position - 1, None, "removed from the tail"),
        ("rewrite", rewrite, rows[-2].position, rows[-2].stream_id, "differs from the checkpoint"),
    ]
    try:
        for kind, tamper, position, stream, reason in cases:
            tamper()
            code, result = verify_command(scene)
            assert code == 1, (kind, result)
            broken = result["first_break"]
            assert (broken["position"], broken["stream_id"]) == (position, stream), (kind, broken)
            assert reason in broken["reason"], (kind, broken)
            if kind == "delete":  # the row is gone; the one found in its place is named
                assert f"stream {rows[rows.index(middle) + 1].stream_id}" in broken["reason"]
            if kind in ("truncate", "rewrite"):
                # Self-consistent without the kept checkpoints: only they reveal it.
                assert verify_command(scene, "--no-checkpoints")[0] == 0, kind
            restore()
            assert verify_command(scene)[0] == 0, f"restored after {kind}"
    finally:
        with scene.owner.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {backup}")
