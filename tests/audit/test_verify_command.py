"""`duban audit verify` checks the chain against every checkpoint kept in the checkpoint
directory by default, pinned to the configured signing key; per stream too, where a stream's
truncated tail shows. `duban audit checkpoint` refuses to sign a broken chain."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from activities.eventstore import EventMetadata, NewEvent
from activities.eventstore.checkpoint import sign_checkpoint, write_checkpoint_file
from api.cli import app
from tests.audit.conftest import AuditScene, LoggingSafeCliRunner

runner = LoggingSafeCliRunner()


def append(scene: AuditScene, stream: str, version: int, n: int = 1) -> None:
    scene.store.append(
        stream,
        version,
        [
            NewEvent(
                uuid.uuid4(),
                "Noted",
                {"n": version + i},
                EventMetadata("auditor-test", "system"),
                datetime.now(UTC),
            )
            for i in range(n)
        ],
    )


def invoke(scene: AuditScene, *args: str) -> tuple[int, dict | None, str]:
    result = runner.invoke(app, ["audit", *args], env=scene.cli_env())
    lines = result.output.strip().splitlines()
    unwrapped = result.output.replace("\n", "")  # the console wraps long messages
    data = (
        json.loads(lines[-1]) if "--json" in args and lines and lines[-1].startswith("{") else None
    )
    return result.exit_code, data, unwrapped


def interleaved(scene: AuditScene) -> tuple[str, str]:
    a, b = f"note-a-{uuid.uuid4().hex[:6]}", f"note-b-{uuid.uuid4().hex[:6]}"
    for version in range(3):  # a b a b a b
        append(scene, a, version)
        append(scene, b, version)
    return a, b


async def test_verify_reads_the_kept_checkpoints_by_default_and_catches_a_truncated_tail(
    audit_scene: AuditScene,
):
    interleaved(audit_scene)
    signed = audit_scene.sign_head()
    code, data, _ = invoke(audit_scene, "verify", "--json")
    assert code == 0 and data is not None
    assert data["checkpoints_checked"] == [signed.position] and data["pinned"] is True
    audit_scene.tamper(f"DELETE FROM events WHERE position > {signed.position - 2}")
    code, data, _ = invoke(audit_scene, "verify", "--json")
    assert code == 1 and data is not None
    assert data["first_break"]["position"] == signed.position - 1
    assert "removed from the tail" in data["first_break"]["reason"]
    code, data, _ = invoke(audit_scene, "verify", "--json", "--no-checkpoints")
    assert code == 0, "self-consistent without the checkpoints"


async def test_verify_of_one_stream_finds_its_tail_removed_before_a_checkpoint(
    audit_scene: AuditScene,
):
    a, b = interleaved(audit_scene)
    audit_scene.sign_head()
    last_of_a = audit_scene.store.read_stream(a)[-1].position  # the next-to-last event
    audit_scene.tamper(f"DELETE FROM events WHERE position = {last_of_a}")
    code, data, _ = invoke(audit_scene, "verify", "--json", "--stream", a)
    assert code == 1 and data is not None
    assert data["first_break"]["position"] == last_of_a
    assert "missing" in data["first_break"]["reason"]
    code, data, _ = invoke(audit_scene, "verify", "--json", "--stream", a, "--no-checkpoints")
    assert code == 0, "a's own versions run 1..2 without a gap: only the checkpoint tells"
    # b's last event follows the removed one: its link names the same position.
    code, data, _ = invoke(audit_scene, "verify", "--json", "--stream", b)
    assert code == 1 and data is not None and data["first_break"]["position"] == last_of_a


async def test_verify_of_an_intact_stream_passes_through_the_kept_checkpoints(
    audit_scene: AuditScene,
):
    a, b = interleaved(audit_scene)
    first = audit_scene.sign_head()
    append(audit_scene, b, 3)
    second = audit_scene.sign_head()
    code, data, _ = invoke(audit_scene, "verify", "--json", "--stream", a)
    assert code == 0 and data is not None
    assert data["checkpoints_checked"] == [first.position, second.position]


async def test_verify_refuses_a_kept_checkpoint_signed_by_another_key(audit_scene: AuditScene):
    interleaved(audit_scene)
    head = audit_scene.store.head()
    stranger = sign_checkpoint(
        Ed25519PrivateKey.generate(), head.position, head.hash, datetime.now(UTC)
    )
    path = write_checkpoint_file(stranger, audit_scene.checkpoint_dir)
    code, _, output = invoke(audit_scene, "verify")
    assert code == 2 and str(path.name) in output and "different key" in output
    code, _, output = invoke(audit_scene, "verify", "--unpinned")
    assert code == 0 and "UNPINNED" in output


async def test_the_checkpoint_command_verifies_the_chain_before_signing_and_refuses_a_break(
    audit_scene: AuditScene,
):
    a, _ = interleaved(audit_scene)
    code, data, _ = invoke(audit_scene, "checkpoint", "--json")
    assert code == 0 and data is not None and data["verified_events"] == 6
    append(audit_scene, a, 3)
    audit_scene.tamper("UPDATE events SET data = '{\"n\":99}' WHERE position = 2")
    code, _, output = invoke(audit_scene, "checkpoint")
    assert code == 1 and "nothing was signed" in output and "position 2" in output
    assert len(list(audit_scene.checkpoint_dir.glob("checkpoint-*.json"))) == 1
