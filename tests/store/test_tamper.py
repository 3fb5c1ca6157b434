"""Every kind of tampering a superuser could do is caught, at the right position.

The tamperer here disables the triggers (``session_replication_role = replica``) the way a
database superuser could; verification must still find the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from activities.database import create_app_engine, create_owner_engine
from activities.eventstore import Checkpoint, CheckpointInvalid, EventStore, verify_store
from activities.eventstore.chain import canonical_event_bytes, link_hash
from activities.eventstore.checkpoint import (
    load_public_key,
    public_key_bytes,
    sign_checkpoint,
)
from activities.eventstore.verify import verify_stream
from tests.conftest import APP_ROLE
from tests.store.helpers import new_event

STREAMS = ("case-A", "case-B", "case-C")


@dataclass
class Scene:
    store: EventStore
    app: Engine
    owner: Engine

    def tamper(self, *statements: str) -> None:
        with self.owner.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for statement in statements:
                conn.exec_driver_sql(statement)

    def stream_at(self, position: int) -> str:
        with self.owner.connect() as conn:
            return conn.exec_driver_sql(
                f"SELECT stream_id FROM events WHERE position = {position}"
            ).scalar_one()

    def checkpoint(self) -> Checkpoint:
        head = self.store.head()
        return sign_checkpoint(KEY, head.position, head.hash, datetime.now(UTC))


KEY = Ed25519PrivateKey.generate()


@pytest.fixture()
def scene(fresh_database_url: str) -> Iterator[Scene]:
    app = create_app_engine(fresh_database_url, APP_ROLE)
    owner = create_owner_engine(fresh_database_url)
    store = EventStore(app)
    for round_ in range(4):  # 12 events, streams interleaved: A B C A B C ...
        for stream in STREAMS:
            store.append(stream, round_, [new_event(data={"round": round_, "stream": stream})])
    assert verify_store(app).ok
    yield Scene(store, app, owner)
    store.close()
    app.dispose()
    owner.dispose()


def assert_broken_at(report, position: int, stream: str | None, reason: str) -> None:
    assert not report.ok, "tampering went unnoticed"
    assert report.first_break.position == position
    assert report.first_break.stream_id == stream
    assert reason in report.first_break.reason


def test_an_untouched_store_verifies_from_genesis(scene: Scene):
    report = verify_store(scene.app)
    assert report.ok
    assert report.checked_events == 12
    assert report.streams == 3
    assert report.last_hash == scene.store.head().hash


def test_modified_data_is_caught_at_its_position(scene: Scene):
    scene.tamper("""UPDATE events SET data = '{"round":1,"stream":"case-B","fine":0}'
                    WHERE position = 5""")
    assert_broken_at(verify_store(scene.app), 5, "case-B", "content does not match")
    assert verify_stream(scene.app, "case-B").first_break.position == 5
    assert verify_stream(scene.app, "case-A").ok


def test_data_rewritten_with_the_same_meaning_but_other_bytes_is_still_caught(scene: Scene):
    # jsonb would normalise these; the chain is over the exact stored bytes.
    scene.tamper("""UPDATE events SET data = '{"stream":"case-B","round":1}' WHERE position = 5""")
    assert_broken_at(verify_store(scene.app), 5, "case-B", "content does not match")


def test_modified_metadata_is_caught_at_its_position(scene: Scene):
    scene.tamper(
        """UPDATE events SET metadata = '{"actor_id":"someone-else","actor_role":"admin"}'
           WHERE position = 8"""
    )
    assert_broken_at(verify_store(scene.app), 8, "case-B", "content does not match")


def test_a_modified_business_time_is_caught(scene: Scene):
    scene.tamper(
        "UPDATE events SET occurred_at = occurred_at - interval '1 day' WHERE position = 3"
    )
    assert_broken_at(verify_store(scene.app), 3, "case-C", "content does not match")


def test_a_deleted_row_is_caught_where_it_is_missing_without_blaming_another_stream(
    scene: Scene,
):
    scene.tamper("DELETE FROM events WHERE position = 6")  # case-C's second event
    report = verify_store(scene.app)
    assert_broken_at(report, 6, None, "position 6 is missing (its stream is unknown")
    assert "the chain jumps to position 7, version 3 of stream case-A" in report.first_break.reason
    assert str(report.first_break).startswith("position 6: event at position 6 is missing")
    assert not verify_stream(scene.app, "case-C").ok


def test_two_swapped_rows_are_caught_at_the_first_of_them(scene: Scene):
    scene.tamper(
        "UPDATE events SET position = 1004 WHERE position = 4",
        "UPDATE events SET position = 4 WHERE position = 7",
        "UPDATE events SET position = 7 WHERE position = 1004",
    )
    assert (scene.stream_at(4), scene.stream_at(7)) == ("case-A", "case-A")
    # Position 4 now holds the row signed as position 7: it links to the original 6, not 3.
    assert_broken_at(verify_store(scene.app), 4, "case-A", "prev_hash does not continue the chain")


def test_two_rows_of_different_streams_swapped_are_caught_at_the_first_of_them(scene: Scene):
    assert (scene.stream_at(4), scene.stream_at(5)) == ("case-A", "case-B")
    scene.tamper(
        "UPDATE events SET position = 1004 WHERE position = 4",
        "UPDATE events SET position = 4 WHERE position = 5",
        "UPDATE events SET position = 5 WHERE position = 1004",
    )
    report = verify_store(scene.app)
    assert_broken_at(report, 4, "case-B", "prev_hash does not continue the chain")
    assert not verify_stream(scene.app, "case-A").ok
    assert not verify_stream(scene.app, "case-B").ok


def test_a_forged_row_inserted_in_the_middle_is_caught(scene: Scene):
    scene.tamper(
        "UPDATE events SET position = position + 1000 WHERE position >= 9",
        "UPDATE events SET position = position - 999 WHERE position >= 1000",
        """INSERT INTO events SELECT 9, 'case-A', 99, gen_random_uuid(), 'HazardDelisted', 1,
               '{"forged":true}', metadata, occurred_at, recorded_at, hash, hash
           FROM events WHERE position = 8""",
    )
    assert_broken_at(verify_store(scene.app), 9, "case-A", "content does not match")


def test_a_forged_row_appended_at_the_tail_is_caught(scene: Scene):
    scene.tamper(
        """INSERT INTO events SELECT 13, 'case-A', 5, gen_random_uuid(), 'CaseClosed', 1,
               '{}', metadata, occurred_at, recorded_at, hash, sha256('forged')
           FROM events WHERE position = 12"""
    )
    assert_broken_at(verify_store(scene.app), 13, "case-A", "content does not match")


def test_a_truncated_tail_is_caught_only_against_a_checkpoint(scene: Scene):
    checkpoint = scene.checkpoint()
    scene.tamper("DELETE FROM events WHERE position > 10")
    assert verify_store(scene.app).ok, "without a checkpoint a shorter chain is self-consistent"
    report = verify_store(scene.app, [checkpoint])
    assert_broken_at(report, 11, None, "covers position 12")


def test_a_chain_rewritten_with_recomputed_hashes_is_caught_by_the_checkpoint(scene: Scene):
    checkpoint = scene.checkpoint()
    rewrite_from(scene, 5, {"round": 1, "stream": "case-B", "rectified": True})
    assert verify_store(scene.app).ok, "a full rewrite is self-consistent by construction"
    report = verify_store(scene.app, [checkpoint])
    assert_broken_at(report, 12, "case-C", "differs from the checkpoint")


def test_a_checkpoint_with_a_bad_signature_or_another_key_is_refused(scene: Scene):
    checkpoint = scene.checkpoint()
    checkpoint.verify_signature()
    forged = Checkpoint(
        checkpoint.position + 1,
        checkpoint.hash,
        checkpoint.signed_at,
        checkpoint.public_key,
        checkpoint.signature,
    )
    with pytest.raises(CheckpointInvalid, match="signature"):
        forged.verify_signature()
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    with pytest.raises(CheckpointInvalid, match="different key"):
        checkpoint.verify_signature(other)
    assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint


def rewrite_from(scene: Scene, position: int, new_data: dict) -> None:
    """What a capable attacker does: change one event and recompute every hash after it."""
    with scene.owner.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql(
            "UPDATE events SET data = %(d)s WHERE position = %(p)s",
            {"d": json.dumps(new_data, separators=(",", ":"), sort_keys=True), "p": position},
        )
        rows = conn.exec_driver_sql(
            "SELECT position, stream_id, stream_version, event_id::text, event_type,"
            " schema_version, to_char(occurred_at AT TIME ZONE 'UTC',"
            " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), to_char(recorded_at AT TIME ZONE 'UTC',"
            ' \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\'), data::text, metadata::text, prev_hash'
            " FROM events WHERE position >= %(p)s ORDER BY position",
            {"p": position},
        ).all()
        prev = bytes(rows[0][10])
        for row in rows:
            content = canonical_event_bytes(
                position=row[0],
                stream_id=row[1],
                stream_version=row[2],
                event_id=row[3],
                event_type=row[4],
                schema_version=row[5],
                occurred_at=row[6],
                recorded_at=row[7],
                data_text=row[8],
                metadata_text=row[9],
            )
            digest = link_hash(prev, content)
            conn.exec_driver_sql(
                "UPDATE events SET prev_hash = %(prev)s, hash = %(h)s WHERE position = %(p)s",
                {"prev": prev, "h": digest, "p": row[0]},
            )
            prev = digest
    assert hashlib.sha256(b"").digest() != prev


def test_verification_trusts_only_checkpoints_signed_by_the_trusted_key(scene: Scene):
    trusted = public_key_bytes(KEY)
    checkpoint = scene.checkpoint()
    report = verify_store(scene.app, [checkpoint], trusted_public_key=trusted)
    assert report.ok and report.checkpoints_checked == [12]
    # An attacker who rewrote the chain signs a checkpoint of it with a key of their own.
    rewrite_from(scene, 5, {"round": 1, "stream": "case-B", "rectified": True})
    impostor_key = Ed25519PrivateKey.generate()
    head = scene.store.head()
    impostor = sign_checkpoint(impostor_key, head.position, head.hash, datetime.now(UTC))
    assert verify_store(scene.app, [impostor]).ok, "without pinning the impostor passes"
    with pytest.raises(CheckpointInvalid, match="position 12 is signed by a different key"):
        verify_store(scene.app, [impostor], trusted_public_key=trusted)
    with pytest.raises(CheckpointInvalid, match="different key"):
        verify_store(scene.app, [checkpoint, impostor], trusted_public_key=trusted)


def test_verification_refuses_a_checkpoint_whose_signature_does_not_verify(scene: Scene):
    checkpoint = scene.checkpoint()
    moved = Checkpoint(
        checkpoint.position - 1,
        checkpoint.hash,
        checkpoint.signed_at,
        checkpoint.public_key,
        checkpoint.signature,
    )
    with pytest.raises(CheckpointInvalid, match="position 11: signature does not verify"):
        verify_store(scene.app, [moved])


def test_an_unusable_pinned_key_file_is_refused_naming_it(tmp_path):
    missing = tmp_path / "missing.pem"
    with pytest.raises(CheckpointInvalid, match=r"missing\.pem"):
        load_public_key(missing)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(CheckpointInvalid, match=r"garbage\.pem: not a PEM key"):
        load_public_key(garbage)
    hex_key = tmp_path / "key.hex"
    hex_key.write_text(public_key_bytes(KEY).hex())
    assert load_public_key(hex_key) == public_key_bytes(KEY)


def test_two_signed_checkpoints_of_one_position_that_disagree_are_a_break(scene: Scene):
    """Each checkpoint alone may match what the store holds now; two of them with different
    hashes for one position prove the chain was rewritten between the two signatures."""
    before = scene.checkpoint()
    rewrite_from(scene, 5, {"round": 1, "stream": "case-B", "rectified": True})
    after = scene.checkpoint()
    assert before.position == after.position and before.hash != after.hash
    assert verify_store(scene.app, [after]).ok, "the rewritten chain agrees with its own head"
    report = verify_store(scene.app, [before, after])
    assert_broken_at(report, 12, None, "two checkpoints of position 12 disagree")
    assert before.hash.hex() in report.first_break.reason
