"""Signed checkpoints as an auditor uses them: every checkpoint the hourly job kept, pinned to
the bureau's key, and the checks that need them.

- ``load_checkpoint_directory``: every ``checkpoint-*.json`` in the directory, each signature
  checked against the pinned key (a file signed by another key is refused, naming the file).
- ``verify_since``: the chain from a trusted checkpoint to the head (the hourly job runs it
  before it signs the next head, so it never signs over a broken link).
- ``verify_stream_against_checkpoints``: one stream's events, then the links from its last
  event to the newest checkpoint, so that an event removed from the stream's tail — which
  leaves the stream's own versions contiguous — is found at its position.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.engine import Engine

from activities.eventstore import (
    GENESIS_HASH,
    ChainBreak,
    Checkpoint,
    CheckpointInvalid,
    VerificationReport,
    verify_stream,
)
from activities.eventstore.chain import canonical_event_bytes, link_hash
from activities.eventstore.verify import conflicting_checkpoints

log = structlog.get_logger(__name__)

CHECKPOINT_GLOB = "checkpoint-*.json"
_UTC_TEXT = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_EVENT_COLUMNS = (
    "position, stream_id, stream_version, event_id::text, event_type, schema_version, "
    f"{_UTC_TEXT.format('occurred_at')}, {_UTC_TEXT.format('recorded_at')}, "
    "data::text, metadata::text, prev_hash, hash"
)


def load_checkpoint_directory(
    directory: Path, pinned_public_key: bytes | None
) -> list[tuple[Path, Checkpoint]]:
    """Every checkpoint file in ``directory`` (``latest.json`` is a copy of the newest and is
    skipped), signatures verified, sorted by position. A missing directory holds none.

    Raises ``CheckpointInvalid`` naming the first file that is malformed, badly signed, or
    signed by a key other than ``pinned_public_key``.
    """
    if not directory.is_dir():
        return []
    found: list[tuple[Path, Checkpoint]] = []
    for path in sorted(directory.glob(CHECKPOINT_GLOB)):
        try:
            checkpoint = Checkpoint.load(path)
            checkpoint.verify_signature(pinned_public_key)
        except CheckpointInvalid as exc:
            raise CheckpointInvalid(f"{path}: {exc}") from exc
        found.append((path, checkpoint))
    found.sort(key=lambda item: (item[1].position, item[1].signed_at))
    return found


def covering_checkpoint(checkpoints: Sequence[Checkpoint], position: int) -> Checkpoint | None:
    """The earliest checkpoint at or after ``position`` (the shortest chain that proves it)."""
    covering = [cp for cp in checkpoints if cp.position >= position]
    return min(covering, key=lambda cp: cp.position) if covering else None


def iter_links(
    engine: Engine, first: int, last: int, *, batch_size: int = 20_000
) -> Iterator[tuple[int, str, bytes, bytes]]:
    """(position, stream_id, prev_hash, hash) for ``first <= position <= last`` in order,
    streamed from one snapshot with a server-side cursor (never all in memory)."""
    raw = engine.raw_connection()
    try:
        raw.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cursor: Any = raw.cursor(name="duban_links")
        cursor.itersize = batch_size
        cursor.execute(
            "SELECT position, stream_id, prev_hash, hash FROM events"
            " WHERE position BETWEEN %s AND %s ORDER BY position",
            (first, last),
        )
        for position, stream_id, prev_hash, digest in cursor:
            yield position, stream_id, bytes(prev_hash), bytes(digest)
        cursor.close()
    finally:
        raw.rollback()
        raw.set_session(isolation_level="DEFAULT", readonly="DEFAULT")
        raw.close()


def _head_position(engine: Engine) -> int:
    with engine.connect() as conn:
        head = conn.exec_driver_sql("SELECT max(position) FROM events").scalar()
    return int(head or 0)


def _beyond_head(report: VerificationReport, checkpoints: Sequence[Checkpoint], head: int) -> bool:
    beyond = [cp for cp in checkpoints if cp.position > head]
    if not beyond:
        return False
    checkpoint = max(beyond, key=lambda cp: cp.position)
    report.first_break = ChainBreak(
        head + 1,
        None,
        f"the store ends at position {head} but the checkpoint signed at "
        f"{checkpoint.signed_at} covers position {checkpoint.position}: events were removed "
        "from the tail",
    )
    return True


def _walk_links(
    engine: Engine,
    report: VerificationReport,
    first: int,
    checkpoints: Sequence[Checkpoint],
) -> None:
    """Follow the links from ``first`` to the newest of ``checkpoints``: positions contiguous,
    each ``prev_hash`` the previous hash, and the hash at every checkpoint the signed one."""
    expected_at = {cp.position: cp for cp in checkpoints}
    last = max(expected_at)
    expected_position = first
    previous_hash: bytes | None = None
    for position, stream_id, prev_hash, digest in iter_links(engine, first, last):
        if position != expected_position:
            report.first_break = ChainBreak(
                expected_position,
                None,
                f"event at position {expected_position} is missing: the chain jumps to "
                f"{position} (an event was deleted, e.g. from a stream's tail)",
            )
            return
        if previous_hash is not None and prev_hash != previous_hash:
            report.first_break = ChainBreak(
                position,
                stream_id,
                "prev_hash does not continue the chain from the previous event",
            )
            return
        checkpoint = expected_at.get(position)
        if checkpoint is not None:
            if checkpoint.hash != digest:
                report.first_break = ChainBreak(
                    position,
                    stream_id,
                    f"hash differs from the checkpoint signed at {checkpoint.signed_at} "
                    "(the chain was rewritten at or before this position)",
                )
                return
            report.checkpoints_checked.append(position)
        previous_hash = digest
        expected_position = position + 1
    if expected_position <= last:
        report.first_break = ChainBreak(
            expected_position,
            None,
            f"the store ends at position {expected_position - 1} but a checkpoint covers "
            f"position {last}: events were removed from the tail",
        )


def verify_stream_against_checkpoints(
    engine: Engine, stream_id: str, checkpoints: Sequence[Checkpoint]
) -> VerificationReport:
    """``verify_stream``, then the links from the stream's last event to the newest
    checkpoint at or after it (a stream's truncated tail shows as a missing position)."""
    report = verify_stream(engine, stream_id)
    if not report.ok or not checkpoints:
        return report
    report.first_break = conflicting_checkpoints(checkpoints)
    if report.first_break is not None:
        return report
    head = _head_position(engine)
    if _beyond_head(report, checkpoints, head):
        return report
    start = report.last_position or 1
    relevant = [cp for cp in checkpoints if cp.position >= start]
    if relevant:
        _walk_links(engine, report, start, relevant)
    return report


def verify_since(engine: Engine, checkpoint: Checkpoint | None) -> VerificationReport:
    """Recompute every link after ``checkpoint`` (from genesis when None) and check that the
    chain passes through it. Cheaper than a whole-store verification: it trusts the part of
    the chain the checkpoint already covers, as the signature entitles it to. Stream versions
    are not re-checked here (the unique (stream, version) constraint holds them; ``duban audit
    verify`` checks them over the whole store)."""
    report = VerificationReport(scope="since checkpoint" if checkpoint else "store")
    start = checkpoint.position if checkpoint else 0
    running_hash = GENESIS_HASH
    raw = engine.raw_connection()
    try:
        raw.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cursor: Any = raw.cursor()
        if start > 0:
            cursor.execute("SELECT hash FROM events WHERE position = %s", (start,))
            row = cursor.fetchone()
            if row is None:
                cursor.execute("SELECT coalesce(max(position), 0) FROM events")
                (last,) = cursor.fetchone()
                report.first_break = ChainBreak(
                    int(last) + 1,
                    None,
                    f"the store ends at position {last} but the checkpoint signed at "
                    f"{checkpoint.signed_at if checkpoint else '-'} covers position {start}: "
                    "events were removed from the tail",
                )
                return report
            running_hash = bytes(row[0])
            assert checkpoint is not None
            if running_hash != checkpoint.hash:
                report.first_break = ChainBreak(
                    start,
                    None,
                    f"hash differs from the checkpoint signed at {checkpoint.signed_at} "
                    "(the chain was rewritten at or before this position)",
                )
                return report
            report.checkpoints_checked.append(start)
        report.last_position = start
        report.last_hash = running_hash
        events: Any = raw.cursor(name="duban_verify_since")
        events.itersize = 20_000
        events.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > %s ORDER BY position",
            (start,),
        )
        expected_position = start + 1
        streams: set[str] = set()
        for row in events:
            position, stream, version, event_id, event_type, schema = row[:6]
            occurred_at, recorded_at, data_text, metadata_text, prev_hash, stored = row[6:]
            if position != expected_position:
                report.first_break = ChainBreak(
                    expected_position,
                    stream,
                    f"event at position {expected_position} is missing: the chain jumps to "
                    f"{position}",
                )
                break
            if bytes(prev_hash) != running_hash:
                report.first_break = ChainBreak(
                    position, stream, "prev_hash does not continue the chain"
                )
                break
            running_hash = link_hash(
                running_hash,
                canonical_event_bytes(
                    position=position,
                    stream_id=stream,
                    stream_version=version,
                    event_id=event_id,
                    event_type=event_type,
                    schema_version=schema,
                    occurred_at=occurred_at,
                    recorded_at=recorded_at,
                    data_text=data_text,
                    metadata_text=metadata_text,
                ),
            )
            if running_hash != bytes(stored):
                report.first_break = ChainBreak(
                    position, stream, "content does not match its hash (altered)"
                )
                break
            streams.add(stream)
            report.checked_events += 1
            report.last_position = position
            report.last_hash = running_hash
            expected_position = position + 1
        events.close()
        report.streams = len(streams)
    finally:
        raw.rollback()
        raw.set_session(isolation_level="DEFAULT", readonly="DEFAULT")
        raw.close()
    return report
