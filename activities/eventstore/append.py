"""Appending to the event store: validation, one round trip under the append lock, and the
recognition of a retried append (idempotency by event id).

Why the global position is contiguous and in commit order (a follower never skips an event):

1. Every append takes the same transaction-scoped advisory lock before it reads the head, and
   holds it until its transaction ends. Appends are therefore serialised: position n+1 is
   computed by a transaction that could only read the head after the transaction that wrote
   position n had finished.
2. PostgreSQL makes a transaction's rows visible (ProcArrayEndTransaction) before it releases
   the transaction's locks. So when the next appender gets the lock, position n is already
   committed and visible; position n+1 cannot be visible before position n.
3. Positions are computed as head + 1 inside the lock, not drawn from a sequence: a sequence
   hands out numbers in the order transactions *ask*, leaves gaps on rollback, and a reader
   could see 11 committed while 10 is still in flight, then move past 10 forever.

Hence any snapshot sees a gap-free prefix 1..n of the log, and ``read_all(after=p)`` always
returns the very next events after p. The cost is one appender at a time, which the hash
chain needs anyway (each hash covers the previous one). Readers never take the lock.

We use ``pg_advisory_xact_lock`` rather than ``LOCK TABLE events IN EXCLUSIVE MODE`` (the
eventsourcing library's choice) because EXCLUSIVE mode requires UPDATE/DELETE privileges, and
the application role must have only INSERT and SELECT on the event table.

The steps above run in the database in one round trip (see ``_PREPARE_APPEND``), at READ
COMMITTED: step 2 needs the statement after the lock to take a fresh snapshot, which REPEATABLE
READ or SERIALIZABLE (a server's possible default) would not. Appends are serialised, so the
round trips and the work under the lock are what bound the append rate. Even if the lock were
skipped the order could not break, only appends fail: a stale head gives a position that is
already taken, which the primary key refuses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg2
import psycopg2.errors
import structlog
from sqlalchemy.engine import Engine

from activities.eventstore.chain import NotCanonicalisable, canonical_json
from activities.eventstore.errors import EventIdReused, InvalidAppend, WrongExpectedVersion
from activities.eventstore.records import AppendResult, EventMetadata, NewEvent

log = structlog.get_logger(__name__)

# "duban": one advisory lock serialises every append. duban_append (migration 0005) takes it.
APPEND_LOCK_KEY = 0x64756261_6E
# Every append notifies this channel at commit; a follower listens on it
# (``activities.eventstore.listen``).
NOTIFY_CHANNEL = "duban_events"
MAX_STREAM_ID_LENGTH = 200
MAX_EVENT_TYPE_LENGTH = 200
MAX_BATCH_SIZE = 1000
MAX_SQL_INTEGER = 2**31 - 1

# Both forms are sent in one message with SET TRANSACTION, so that they form one implicit
# transaction, committed when the message is done: one round trip, at READ COMMITTED whatever
# the server's default. A batch is one call of duban_append (migration 0005), which takes the
# lock itself. A single event, the common case, skips PL/pgSQL's per-call costs: the lock is
# the message's first statement, and the second reads the head in a snapshot taken after it.
_PREPARE_APPEND = (
    f"PREPARE duban_append_lock AS SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY});"
    "PREPARE duban_append_one(text, integer, uuid, text, integer, text, text, timestamptz) AS"
    " WITH stream AS ("
    "   SELECT coalesce(max(e.stream_version), 0) AS version FROM events e"
    "   WHERE e.stream_id = $1),"
    " head AS (SELECT e.position, e.hash FROM events e ORDER BY e.position DESC LIMIT 1),"
    " next AS ("
    "   SELECT coalesce(head.position, 0) + 1 AS position, stream.version + 1 AS version,"
    "          coalesce(head.hash, decode(repeat('00', 32), 'hex')) AS prev_hash,"
    "          clock_timestamp() AS recorded_at"
    "   FROM stream LEFT JOIN head ON true WHERE $2 IS NULL OR $2 = stream.version),"
    " appended AS ("
    "   INSERT INTO events (position, stream_id, stream_version, event_id, event_type,"
    "     schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)"
    "   SELECT n.position, $1, n.version, $3, $4, $5, $6::json, $7::json, $8, n.recorded_at,"
    "     n.prev_hash, sha256(n.prev_hash || duban_event_content(n.position, $1, n.version,"
    "       $3, $4, $5, $8, n.recorded_at, $6, $7))"
    "   FROM next n"
    f"   RETURNING position, stream_version, pg_notify('{NOTIFY_CHANNEL}', position::text))"
    " SELECT CASE WHEN a.position IS NULL THEN 'conflict' ELSE 'appended' END,"
    "   coalesce(a.stream_version, (SELECT version FROM stream)), a.position"
    " FROM (SELECT) AS one LEFT JOIN appended a ON true;"
    "PREPARE duban_append_batch(text, integer, uuid[], text[], integer[], text[], text[],"
    " timestamptz[]) AS SELECT outcome, current_version, last_position"
    " FROM duban_append($1, $2, $3, $4, $5, $6, $7, $8)"
)
_APPEND_ONE = (
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; EXECUTE duban_append_lock;"
    " EXECUTE duban_append_one(%s, %s, %s, %s, %s, %s, %s, %s)"
)
_APPEND_BATCH = (
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED;"
    " EXECUTE duban_append_batch(%s, %s, %s::uuid[], %s::text[], %s::integer[], %s::text[],"
    " %s::text[], %s::timestamptz[])"
)


@dataclass(frozen=True, slots=True)
class _Prepared:
    event_id: UUID
    event_type: str
    schema_version: int
    data_text: str
    metadata_text: str
    occurred_at: datetime


_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def _check_name(field_name: str, value: object, max_length: int) -> None:
    """Stream ids and event types: printable text, as PostgreSQL and the hash header keep it."""
    if not isinstance(value, str):
        raise InvalidAppend(field_name, f"must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidAppend(field_name, "must be a non-empty string")
    if len(value) > max_length:
        raise InvalidAppend(field_name, f"must be at most {max_length} characters")
    if _CONTROL_CHARACTER.search(value):
        raise InvalidAppend(field_name, "must not contain control characters (NUL included)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidAppend(
            field_name, "must be valid Unicode text (it contains a lone surrogate)"
        ) from exc


def _canonical(value: dict[str, Any], field_name: str) -> str:
    try:
        return canonical_json(value)
    except NotCanonicalisable as exc:
        raise InvalidAppend(
            field_name + exc.path, f"is not serialisable as JSON: {exc.reason}"
        ) from exc


def append_events(
    engine: Engine,
    stream_id: str,
    expected_version: int | None,
    events: Sequence[NewEvent],
    *,
    max_event_bytes: int,
) -> AppendResult:
    """Append ``events`` to ``stream_id`` atomically (``EventStore.append`` says what the
    arguments and the outcomes mean)."""
    prepared = validate(stream_id, expected_version, events, max_event_bytes)
    if len(prepared) == 1:
        (one,) = prepared
        statement = _APPEND_ONE
        params: tuple[Any, ...] = (
            stream_id,
            expected_version,
            str(one.event_id),
            one.event_type,
            one.schema_version,
            one.data_text,
            one.metadata_text,
            one.occurred_at,
        )
    else:
        statement = _APPEND_BATCH
        params = (
            stream_id,
            expected_version,
            [str(event.event_id) for event in prepared],
            [event.event_type for event in prepared],
            [event.schema_version for event in prepared],
            [event.data_text for event in prepared],
            [event.metadata_text for event in prepared],
            [event.occurred_at for event in prepared],
        )
    duplicate: psycopg2.errors.UniqueViolation | None = None
    raw = engine.raw_connection()
    connection: Any = raw.driver_connection
    # Autocommit, so that the driver sends no BEGIN of its own: the call is the whole
    # transaction, and a failed call leaves nothing behind to roll back.
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            if not raw.info.get("duban_append_prepared"):
                # Planned once per connection: planning on every append would cost as
                # much as the append's own work.
                cursor.execute(_PREPARE_APPEND)
                raw.info["duban_append_prepared"] = True
            try:
                cursor.execute(statement, params)
                outcome, current_version, last_position = cursor.fetchone()
            except psycopg2.errors.UniqueViolation as exc:
                if exc.diag.constraint_name != "events_event_id_key":
                    raise
                duplicate = exc
    finally:
        if not connection.closed:
            connection.autocommit = False
        raw.close()
    if duplicate is not None or outcome == "conflict":
        stored = _already_stored(engine, stream_id, prepared)
        if stored is not None:
            return stored
        if duplicate is not None:
            raise duplicate
        assert expected_version is not None  # only an expected version can conflict
        raise WrongExpectedVersion(stream_id, expected_version, current_version)
    positions = tuple(range(last_position - len(prepared) + 1, last_position + 1))
    log.debug("events.appended", stream_id=stream_id, positions=positions)
    return AppendResult(stream_id, positions, current_version)


def validate(
    stream_id: str,
    expected_version: int | None,
    events: Sequence[NewEvent],
    max_event_bytes: int,
) -> list[_Prepared]:
    """Every event checked and serialised before anything is sent: a refusal names the field
    and the rule (``InvalidAppend``) and writes nothing."""
    _check_name("stream_id", stream_id, MAX_STREAM_ID_LENGTH)
    if expected_version is not None and (
        not isinstance(expected_version, int)
        or isinstance(expected_version, bool)
        or not 0 <= expected_version <= MAX_SQL_INTEGER
    ):
        raise InvalidAppend(
            "expected_version",
            f"must be an integer from 0 to {MAX_SQL_INTEGER} (or None for any)",
        )
    if not events:
        raise InvalidAppend("events", "must contain at least one event")
    if len(events) > MAX_BATCH_SIZE:
        raise InvalidAppend("events", f"at most {MAX_BATCH_SIZE} events in one append")
    prepared: list[_Prepared] = []
    seen: set[UUID] = set()
    for index, event in enumerate(events):
        where = f"events[{index}]"
        if not isinstance(event.event_id, UUID):
            raise InvalidAppend(f"{where}.event_id", "must be a UUID")
        if event.event_id in seen:
            raise InvalidAppend(f"{where}.event_id", "appears twice in one append")
        seen.add(event.event_id)
        _check_name(f"{where}.event_type", event.event_type, MAX_EVENT_TYPE_LENGTH)
        if (
            not isinstance(event.schema_version, int)
            or isinstance(event.schema_version, bool)
            or not 1 <= event.schema_version <= MAX_SQL_INTEGER
        ):
            raise InvalidAppend(
                f"{where}.schema_version", f"must be an integer from 1 to {MAX_SQL_INTEGER}"
            )
        if not isinstance(event.data, Mapping):
            raise InvalidAppend(f"{where}.data", "must be a JSON object")
        if not isinstance(event.metadata, EventMetadata):
            raise InvalidAppend(f"{where}.metadata", "must be an EventMetadata")
        if not event.metadata.actor_id or not event.metadata.actor_role:
            raise InvalidAppend(f"{where}.metadata", "must name the actor and the role")
        if not isinstance(event.occurred_at, datetime) or event.occurred_at.tzinfo is None:
            raise InvalidAppend(f"{where}.occurred_at", "must be a datetime with a time zone")
        try:
            occurred_at = event.occurred_at.astimezone(UTC)
        except OverflowError as exc:
            raise InvalidAppend(
                f"{where}.occurred_at", "must fall within the years 1..9999 in UTC"
            ) from exc
        data_text = _canonical(dict(event.data), f"{where}.data")
        metadata_text = _canonical(event.metadata.to_data(), f"{where}.metadata")
        size = len(data_text.encode()) + len(metadata_text.encode())
        if size > max_event_bytes:
            raise InvalidAppend(
                f"{where}.data",
                f"is {size} bytes with its metadata; the limit is {max_event_bytes}",
            )
        prepared.append(
            _Prepared(
                event.event_id,
                event.event_type,
                event.schema_version,
                data_text,
                metadata_text,
                occurred_at,
            )
        )
    return prepared


def _already_stored(
    engine: Engine, stream_id: str, prepared: Sequence[_Prepared]
) -> AppendResult | None:
    """A retried append: every id stored with identical content → the stored result.

    None when none of the ids is stored (a genuine conflict); ``EventIdReused`` when some
    are stored or the content differs.
    """
    ids = [str(event.event_id) for event in prepared]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT event_id::text, position, stream_id, stream_version, event_type,"
            " schema_version, data::text, metadata::text, occurred_at"
            " FROM events WHERE event_id = ANY(%(ids)s::uuid[])",
            {"ids": ids},
        ).all()
    if not rows:
        return None
    by_id = {row[0]: row for row in rows}
    positions: list[int] = []
    versions: list[int] = []
    for event in prepared:
        row = by_id.get(str(event.event_id))
        if row is None:
            raise EventIdReused(UUID(rows[0][0]), "part of this batch was stored by another append")
        _, position, stored_stream, version, event_type, schema, data, meta, occurred = row
        differences = [
            name
            for name, same in (
                ("stream_id", stored_stream == stream_id),
                ("event_type", event_type == event.event_type),
                ("schema_version", schema == event.schema_version),
                ("data", data == event.data_text),
                ("metadata", meta == event.metadata_text),
                ("occurred_at", occurred == event.occurred_at),
            )
            if not same
        ]
        if differences:
            raise EventIdReused(event.event_id, "differs in " + ", ".join(differences))
        positions.append(position)
        versions.append(version)
    return AppendResult(stream_id, tuple(positions), max(versions), already_stored=True)
