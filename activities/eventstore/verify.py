"""Verification of the hash chain: from genesis, per stream, and against signed checkpoints.

It reads the rows as stored and recomputes every link; it never trusts a stored hash except
to compare it. The first broken link is reported with its position and stream, because an
auditor needs to know *where* the record stops being trustworthy, not just *that* it does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from activities.eventstore.chain import GENESIS_HASH, canonical_event_bytes, link_hash
from activities.eventstore.checkpoint import Checkpoint

_UTC_TEXT = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_VERIFY_COLUMNS = (
    "position, stream_id, stream_version, event_id::text, event_type, schema_version, "
    f"{_UTC_TEXT.format('occurred_at')}, {_UTC_TEXT.format('recorded_at')}, "
    "data::text, metadata::text, prev_hash, hash"
)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    position: int
    stream_id: str | None
    reason: str

    def __str__(self) -> str:
        stream = f" (stream {self.stream_id})" if self.stream_id else ""
        return f"position {self.position}{stream}: {self.reason}"


@dataclass(slots=True)
class VerificationReport:
    scope: str
    checked_events: int = 0
    streams: int = 0
    last_position: int = 0
    last_hash: bytes = GENESIS_HASH
    checkpoints_checked: list[int] = field(default_factory=list)
    first_break: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def conflicting_checkpoints(checkpoints: Sequence[Checkpoint]) -> ChainBreak | None:
    """Two validly signed checkpoints of one position with different hashes: the chain had
    one head at that position when the first was signed and another when the second was, so
    it was rewritten in between (at or before that position) — whatever the store says now.
    Grouped by position, so that neither is silently ignored."""
    by_position: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_position.setdefault(checkpoint.position, []).append(checkpoint)
    for position in sorted(by_position):
        signed = by_position[position]
        hashes = {cp.hash for cp in signed}
        if len(hashes) > 1:
            first = min(signed, key=lambda cp: cp.signed_at)
            other = next(cp for cp in signed if cp.hash != first.hash)
            return ChainBreak(
                position,
                None,
                f"two checkpoints of position {position} disagree: hash {first.hash.hex()} "
                f"signed at {first.signed_at}, hash {other.hash.hex()} signed at "
                f"{other.signed_at} (the chain was rewritten at or before this position "
                "between the two signatures)",
            )
    return None


def verify_store(
    engine: Engine,
    checkpoints: Sequence[Checkpoint] = (),
    *,
    trusted_public_key: bytes | None = None,
    batch_size: int = 20_000,
    on_progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Walk the whole chain from genesis in one snapshot; stop at the first broken link.

    Checks, for each event: its position follows the previous one; its ``prev_hash`` is the
    previous event's hash; its hash matches its content; its stream version follows the
    stream's previous one. Then: the chain passes through every checkpoint's (position, hash),
    and does not end before any checkpoint's position. Two checkpoints of one position
    with different hashes are a break by themselves (``conflicting_checkpoints``).

    Every checkpoint's signature is checked first; with ``trusted_public_key`` (the public half
    of the configured signing key, or an auditor's pinned copy) it must also be that key's,
    since anyone can sign a checkpoint of a rewritten chain with a key of their own.
    ``CheckpointInvalid`` otherwise, before anything is read.
    """
    for given in checkpoints:
        given.verify_signature(trusted_public_key)
    report = VerificationReport(scope="store")
    report.first_break = conflicting_checkpoints(checkpoints)
    if report.first_break is not None:
        return report
    # Grouped above: every checkpoint of a position has the same hash, so one stands for all.
    expected_at = {cp.position: cp for cp in checkpoints}
    stream_versions: dict[str, int] = {}
    running_hash = GENESIS_HASH
    expected_position = 1
    raw = engine.raw_connection()
    try:
        # One consistent snapshot; the pooled connection gets its defaults back below.
        raw.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cursor: Any = raw.cursor(name="duban_verify")  # psycopg2 named (server-side) cursor
        cursor.itersize = batch_size
        cursor.execute(f"SELECT {_VERIFY_COLUMNS} FROM events ORDER BY position")
        for (
            position,
            stream_id,
            stream_version,
            event_id,
            event_type,
            schema_version,
            occurred_at,
            recorded_at,
            data_text,
            metadata_text,
            prev_hash,
            stored_hash,
        ) in cursor:
            if position != expected_position:
                # The missing row's stream is unknowable from what remains: name the row found
                # instead as what it is, not as the stream of the gap.
                report.first_break = ChainBreak(
                    expected_position,
                    None,
                    f"event at position {expected_position} is missing (its stream is unknown: "
                    f"the row is gone); the chain jumps to position {position}, version "
                    f"{stream_version} of stream {stream_id} (an event was deleted or renumbered)",
                )
                break
            if bytes(prev_hash) != running_hash:
                report.first_break = ChainBreak(
                    position,
                    stream_id,
                    "prev_hash does not continue the chain from the previous event "
                    "(events reordered, inserted or removed before this point)",
                )
                break
            content = canonical_event_bytes(
                position=position,
                stream_id=stream_id,
                stream_version=stream_version,
                event_id=event_id,
                event_type=event_type,
                schema_version=schema_version,
                occurred_at=occurred_at,
                recorded_at=recorded_at,
                data_text=data_text,
                metadata_text=metadata_text,
            )
            running_hash = link_hash(running_hash, content)
            if running_hash != bytes(stored_hash):
                report.first_break = ChainBreak(
                    position,
                    stream_id,
                    "content does not match its hash (data, metadata or header were altered)",
                )
                break
            previous_version = stream_versions.get(stream_id, 0)
            if stream_version != previous_version + 1:
                report.first_break = ChainBreak(
                    position,
                    stream_id,
                    f"stream version jumps from {previous_version} to {stream_version}",
                )
                break
            stream_versions[stream_id] = stream_version
            checkpoint = expected_at.get(position)
            if checkpoint is not None:
                if checkpoint.hash != running_hash:
                    report.first_break = ChainBreak(
                        position,
                        stream_id,
                        f"hash differs from the checkpoint signed at {checkpoint.signed_at} "
                        "(the chain was rewritten at or before this position)",
                    )
                    break
                report.checkpoints_checked.append(position)
            report.checked_events += 1
            report.last_position = position
            report.last_hash = running_hash
            expected_position = position + 1
            if on_progress is not None and report.checked_events % batch_size == 0:
                on_progress(report.checked_events)
        cursor.close()
        raw.rollback()
    finally:
        raw.rollback()
        raw.set_session(isolation_level="DEFAULT", readonly="DEFAULT")
        raw.close()
    report.streams = len(stream_versions)
    if report.first_break is None:
        _check_checkpoints_beyond_head(report, checkpoints)
    if on_progress is not None:
        on_progress(report.checked_events)
    return report


def _check_checkpoints_beyond_head(
    report: VerificationReport, checkpoints: Sequence[Checkpoint]
) -> None:
    for checkpoint in sorted(checkpoints, key=lambda cp: cp.position):
        if checkpoint.position == 0:
            if checkpoint.hash != GENESIS_HASH:
                report.first_break = ChainBreak(0, None, "checkpoint at 0 is not the genesis")
                return
            report.checkpoints_checked.append(0)
        elif checkpoint.position > report.last_position:
            report.first_break = ChainBreak(
                report.last_position + 1,
                None,
                f"the store ends at position {report.last_position} but the checkpoint signed "
                f"at {checkpoint.signed_at} covers position {checkpoint.position}: events "
                "were removed from the tail",
            )
            return


def verify_stream(engine: Engine, stream_id: str) -> VerificationReport:
    """Verify one stream's events and their links to their global predecessors.

    Cheaper than the whole store for a single case; a full ``verify_store`` is still what
    proves that nothing was inserted or removed *between* this stream's events.
    """
    report = VerificationReport(scope=f"stream {stream_id}", streams=1)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            f"SELECT {_VERIFY_COLUMNS}"
            ", (SELECT p.hash FROM events p WHERE p.position = e.position - 1)"
            " FROM events e WHERE e.stream_id = %(s)s ORDER BY e.stream_version",
            {"s": stream_id},
        )
        rows = cursor.fetchall()
        raw.rollback()
    finally:
        raw.close()
    expected_version = 1
    for (
        position,
        stream,
        stream_version,
        event_id,
        event_type,
        schema_version,
        occurred_at,
        recorded_at,
        data_text,
        metadata_text,
        prev_hash,
        stored_hash,
        predecessor_hash,
    ) in rows:
        if stream_version != expected_version:
            report.first_break = ChainBreak(
                position, stream, f"stream version {expected_version} is missing"
            )
            break
        expected_prev = GENESIS_HASH if position == 1 else predecessor_hash
        if expected_prev is None:
            report.first_break = ChainBreak(
                position - 1, stream, "the event before this one in the chain is missing"
            )
            break
        if bytes(prev_hash) != bytes(expected_prev):
            report.first_break = ChainBreak(
                position, stream, "prev_hash does not match the previous event's hash"
            )
            break
        content = canonical_event_bytes(
            position=position,
            stream_id=stream,
            stream_version=stream_version,
            event_id=event_id,
            event_type=event_type,
            schema_version=schema_version,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            data_text=data_text,
            metadata_text=metadata_text,
        )
        if link_hash(bytes(prev_hash), content) != bytes(stored_hash):
            report.first_break = ChainBreak(
                position, stream, "content does not match its hash (altered)"
            )
            break
        report.checked_events += 1
        report.last_position = position
        report.last_hash = bytes(stored_hash)
        expected_version += 1
    return report
