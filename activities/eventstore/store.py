"""duban's system of record: an append-only, hash-chained event store on PostgreSQL.

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
"""

from __future__ import annotations

import contextlib
import gc
import select
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson
import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
import structlog
from sqlalchemy.engine import Engine

from activities.eventstore.chain import (
    GENESIS_HASH,
    NotCanonicalisable,
    canonical_event_bytes,
    canonical_instant,
    canonical_json,
    link_hash,
)
from activities.eventstore.errors import EventIdReused, InvalidAppend, WrongExpectedVersion

log = structlog.get_logger(__name__)

APPEND_LOCK_KEY = 0x64756261_6E  # "duban": one advisory lock serialises every append
NOTIFY_CHANNEL = "duban_events"
MAX_STREAM_ID_LENGTH = 200
MAX_EVENT_TYPE_LENGTH = 200
MAX_BATCH_SIZE = 1000
POLL_FALLBACK_SECONDS = 1.0

_INSERT_PREFIX = (
    b"INSERT INTO events (position, stream_id, stream_version, event_id, event_type,"
    b" schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash) VALUES "
)
_ROW_TEMPLATE = "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
_PREPARE_HEAD = (
    "PREPARE duban_append_head(text) AS"
    " SELECT stream.version, head.position, head.hash, clock_timestamp()"
    " FROM (SELECT coalesce(max(stream_version), 0) AS version FROM events"
    "       WHERE stream_id = $1) AS stream"
    " LEFT JOIN LATERAL (SELECT position, hash FROM events ORDER BY position DESC LIMIT 1)"
    "   AS head ON true"
)
_PREPARE_INSERT_ONE = (
    "PREPARE duban_append_one(bigint, text, integer, uuid, text, integer, json, json,"
    " timestamptz, timestamptz, bytea, bytea) AS"
    " INSERT INTO events (position, stream_id, stream_version, event_id, event_type,"
    " schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
_COLUMNS = (
    "position, stream_id, stream_version, event_id::text, event_type, schema_version, "
    "data::text, metadata::text, "
    "occurred_at::text, recorded_at::text, prev_hash, hash"
)


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """Who caused an event and in which flow: kept with the event forever."""

    actor_id: str
    actor_role: str
    correlation_id: str | None = None
    causation_id: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"actor_id": self.actor_id, "actor_role": self.actor_role}
        for name in ("correlation_id", "causation_id", "workflow_id", "run_id"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.extra:
            data["extra"] = dict(self.extra)
        return data


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. Its id is chosen by the caller so that a retry can be recognised."""

    event_id: UUID
    event_type: str
    data: Mapping[str, Any]
    metadata: EventMetadata
    occurred_at: datetime
    schema_version: int = 1


class RecordedEvent(NamedTuple):
    """An event as stored. A named tuple rather than a frozen dataclass: a case's whole
    stream is rebuilt on every replay, and a frozen dataclass costs ~3 µs per event to build."""

    position: int
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    positions: tuple[int, ...]
    stream_version: int
    already_stored: bool = False


@dataclass(frozen=True, slots=True)
class Head:
    position: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class _Prepared:
    event_id: UUID
    event_type: str
    schema_version: int
    data_text: str
    metadata_text: str
    occurred_at: datetime
    occurred_at_text: str


@contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    """Building thousands of small dicts triggers the cyclic garbage collector over and over
    (a fifth of a 1,000-event read); none of them can form a cycle, so pause it meanwhile."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class EventStore:
    """Append and read events. Thread-safe: every call takes its own pooled connection."""

    def __init__(self, engine: Engine, *, max_event_bytes: int = 256 * 1024) -> None:
        self._engine = engine
        self._max_event_bytes = max_event_bytes

    @property
    def engine(self) -> Engine:
        return self._engine

    # ------------------------------------------------------------------ append

    def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` atomically.

        ``expected_version`` is the stream's version the caller decided on (0: the stream must
        be new); ``None`` appends whatever the version. A mismatch raises
        ``WrongExpectedVersion`` and writes nothing. Appending events whose ids are already
        stored with the same content returns their stored positions and writes nothing.
        """
        prepared = self._validate(stream_id, expected_version, events)
        raw = self._engine.raw_connection()
        connection: Any = raw.driver_connection
        # Autocommit mode with explicit BEGIN/COMMIT lets one round trip take the lock and read
        # the head, and a second insert and commit: half the round trips of the driver's own
        # transaction handling, which matters because appends are serialised.
        connection.autocommit = True
        cursor = connection.cursor()
        in_transaction = False
        try:
            self._prepare_statements(raw.info, cursor)
            cursor.execute(
                "BEGIN; SELECT pg_advisory_xact_lock(%(lock)s); EXECUTE duban_append_head(%(s)s)",
                {"lock": APPEND_LOCK_KEY, "s": stream_id},
            )
            in_transaction = True
            current_version, head_position, head_hash, now = cursor.fetchone()
            if expected_version is not None and expected_version != current_version:
                cursor.execute("ROLLBACK")
                in_transaction = False
                stored = self._already_stored(stream_id, prepared)
                if stored is not None:
                    return stored
                raise WrongExpectedVersion(stream_id, expected_version, current_version)
            rows = self._chain(
                stream_id,
                current_version,
                head_position or 0,
                bytes(head_hash) if head_hash is not None else GENESIS_HASH,
                now,
                prepared,
            )
            if len(rows) == 1:
                insert = b"EXECUTE duban_append_one" + cursor.mogrify(_ROW_TEMPLATE, rows[0])
            else:
                insert = _INSERT_PREFIX + b",".join(cursor.mogrify(_ROW_TEMPLATE, r) for r in rows)
            try:
                cursor.execute(insert + b";COMMIT")
                in_transaction = False
            except psycopg2.errors.UniqueViolation as exc:
                cursor.execute("ROLLBACK")
                in_transaction = False
                if exc.diag.constraint_name != "events_event_id_key":
                    raise
                stored = self._already_stored(stream_id, prepared)
                if stored is not None:
                    return stored
                raise
        finally:
            if in_transaction and not connection.closed:
                cursor.execute("ROLLBACK")
            cursor.close()
            if not connection.closed:
                connection.autocommit = False
            raw.close()
        positions = tuple(row[0] for row in rows)
        log.debug("events.appended", stream_id=stream_id, positions=positions)
        return AppendResult(stream_id, positions, rows[-1][2])

    @staticmethod
    def _prepare_statements(info: dict[Any, Any], cursor: Any) -> None:
        """Prepare the hot statements once per connection: planning them on every append
        would cost more than the work itself."""
        if info.get("duban_append_prepared"):
            return
        cursor.execute(_PREPARE_HEAD + ";" + _PREPARE_INSERT_ONE)
        info["duban_append_prepared"] = True

    def _validate(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> list[_Prepared]:
        if not isinstance(stream_id, str) or not stream_id.strip():
            raise InvalidAppend("stream_id", "must be a non-empty string")
        if len(stream_id) > MAX_STREAM_ID_LENGTH:
            raise InvalidAppend("stream_id", f"must be at most {MAX_STREAM_ID_LENGTH} characters")
        if any(ord(ch) < 32 for ch in stream_id):
            raise InvalidAppend("stream_id", "must not contain control characters")
        if expected_version is not None and (
            not isinstance(expected_version, int)
            or isinstance(expected_version, bool)
            or expected_version < 0
        ):
            raise InvalidAppend("expected_version", "must be an integer >= 0 (or None for any)")
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
            if not event.event_type or len(event.event_type) > MAX_EVENT_TYPE_LENGTH:
                raise InvalidAppend(
                    f"{where}.event_type", f"must be 1..{MAX_EVENT_TYPE_LENGTH} characters"
                )
            if (
                not isinstance(event.schema_version, int)
                or isinstance(event.schema_version, bool)
                or event.schema_version < 1
            ):
                raise InvalidAppend(f"{where}.schema_version", "must be an integer >= 1")
            if not isinstance(event.data, Mapping):
                raise InvalidAppend(f"{where}.data", "must be a JSON object")
            if not isinstance(event.metadata, EventMetadata):
                raise InvalidAppend(f"{where}.metadata", "must be an EventMetadata")
            if not event.metadata.actor_id or not event.metadata.actor_role:
                raise InvalidAppend(f"{where}.metadata", "must name the actor and the role")
            if not isinstance(event.occurred_at, datetime) or event.occurred_at.tzinfo is None:
                raise InvalidAppend(f"{where}.occurred_at", "must be a datetime with a time zone")
            try:
                data_text = canonical_json(dict(event.data))
            except NotCanonicalisable as exc:
                raise InvalidAppend(f"{where}.data", f"is not serialisable as JSON: {exc}") from exc
            try:
                metadata_text = canonical_json(event.metadata.to_data())
            except NotCanonicalisable as exc:
                raise InvalidAppend(
                    f"{where}.metadata", f"is not serialisable as JSON: {exc}"
                ) from exc
            size = len(data_text.encode()) + len(metadata_text.encode())
            if size > self._max_event_bytes:
                raise InvalidAppend(
                    f"{where}.data",
                    f"is {size} bytes with its metadata; the limit is {self._max_event_bytes}",
                )
            prepared.append(
                _Prepared(
                    event.event_id,
                    event.event_type,
                    event.schema_version,
                    data_text,
                    metadata_text,
                    event.occurred_at.astimezone(UTC),
                    canonical_instant(event.occurred_at),
                )
            )
        return prepared

    @staticmethod
    def _chain(
        stream_id: str,
        current_version: int,
        head_position: int,
        head_hash: bytes,
        now: datetime,
        prepared: Sequence[_Prepared],
    ) -> list[tuple[Any, ...]]:
        recorded_at = now.astimezone(UTC)
        recorded_at_text = canonical_instant(recorded_at)
        rows: list[tuple[Any, ...]] = []
        prev_hash = head_hash
        for offset, event in enumerate(prepared, start=1):
            position = head_position + offset
            version = current_version + offset
            content = canonical_event_bytes(
                position=position,
                stream_id=stream_id,
                stream_version=version,
                event_id=str(event.event_id),
                event_type=event.event_type,
                schema_version=event.schema_version,
                occurred_at=event.occurred_at_text,
                recorded_at=recorded_at_text,
                data_text=event.data_text,
                metadata_text=event.metadata_text,
            )
            digest = link_hash(prev_hash, content)
            rows.append(
                (
                    position,
                    stream_id,
                    version,
                    str(event.event_id),
                    event.event_type,
                    event.schema_version,
                    event.data_text,
                    event.metadata_text,
                    event.occurred_at,
                    recorded_at,
                    psycopg2.Binary(prev_hash),
                    psycopg2.Binary(digest),
                )
            )
            prev_hash = digest
        return rows

    def _already_stored(self, stream_id: str, prepared: Sequence[_Prepared]) -> AppendResult | None:
        """A retried append: every id stored with identical content → the stored result.

        None when none of the ids is stored (a genuine conflict); ``EventIdReused`` when some
        are stored or the content differs.
        """
        ids = [str(event.event_id) for event in prepared]
        with self._engine.connect() as conn:
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
                raise EventIdReused(
                    UUID(rows[0][0]), "part of this batch was stored by another append"
                )
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

    # ------------------------------------------------------------------ read

    def read_stream(
        self, stream_id: str, from_version: int = 1, to_version: int | None = None
    ) -> list[RecordedEvent]:
        """The stream's events with ``from_version <= stream_version [<= to_version]``."""
        if from_version < 1:
            raise InvalidAppend("from_version", "must be >= 1")
        sql = f"SELECT {_COLUMNS} FROM events WHERE stream_id = %(s)s AND stream_version >= %(v)s"
        params: dict[str, Any] = {"s": stream_id, "v": from_version}
        if to_version is not None:
            sql += " AND stream_version <= %(t)s"
            params["t"] = to_version
        sql += " ORDER BY stream_version"
        return self._fetch(sql, params)

    def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events with position > ``after`` in global (commit) order, at most ``limit``."""
        if after < 0:
            raise InvalidAppend("after", "must be >= 0")
        if not 1 <= limit <= 100_000:
            raise InvalidAppend("limit", "must be between 1 and 100000")
        return self._fetch(
            f"SELECT {_COLUMNS} FROM events WHERE position > %(a)s ORDER BY position LIMIT %(l)s",
            {"a": after, "l": limit},
        )

    def iter_all(self, after: int = 0, batch_size: int = 5000) -> Iterator[RecordedEvent]:
        while True:
            batch = self.read_all(after, batch_size)
            if not batch:
                return
            yield from batch
            after = batch[-1].position

    def stream_version(self, stream_id: str) -> int:
        with self._engine.connect() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = %(s)s",
                    {"s": stream_id},
                ).scalar_one()
            )

    def head(self) -> Head:
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
            ).first()
        if row is None:
            return Head(0, GENESIS_HASH)
        return Head(row[0], bytes(row[1]))

    def _fetch(self, sql: str, params: Mapping[str, Any]) -> list[RecordedEvent]:
        # A plain DB-API cursor and orjson: a case's whole stream is read on every replay and
        # every audit, so the per-row cost is worth keeping small.
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(sql, dict(params))
            rows = cursor.fetchall()
            cursor.close()
            raw.rollback()
        finally:
            raw.close()
        with _collector_paused(len(rows) > 256):
            return self._materialise(rows)

    @staticmethod
    def _materialise(rows: Sequence[Any]) -> list[RecordedEvent]:
        loads = orjson.loads
        # The app engine's sessions run in UTC, so "2026-11-02 09:30:00.5+00" parses to UTC.
        parse_instant = datetime.fromisoformat
        return [
            RecordedEvent(
                position,
                stream,
                version,
                UUID(event_id),
                event_type,
                schema,
                loads(data),
                loads(meta),
                parse_instant(occurred),
                parse_instant(recorded),
                bytes(prev_hash),
                bytes(digest),
            )
            for (
                position,
                stream,
                version,
                event_id,
                event_type,
                schema,
                data,
                meta,
                occurred,
                recorded,
                prev_hash,
                digest,
            ) in rows
        ]

    # ------------------------------------------------------------------ follow

    def wait_for_events(self, after: int, timeout: float) -> bool:
        """Block until an event with position > ``after`` exists or ``timeout`` seconds pass.

        Listens on the channel the insert trigger notifies at commit; if the listening
        connection fails it falls back to polling the head every second.
        """
        deadline = time.monotonic() + timeout
        listener = self._listener()
        while True:
            # Check *after* LISTEN is in place, so a commit between the check and the wait
            # still wakes us.
            if self.head().position > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait = min(remaining, POLL_FALLBACK_SECONDS)
            if listener is None:
                time.sleep(wait)
                continue
            try:
                select.select([listener], [], [], wait)
                listener.poll()
                listener.notifies.clear()
            except (psycopg2.Error, OSError, ValueError) as exc:
                log.warning("events.listen_failed", error=str(exc))
                self._close_listener()
                listener = None

    _listen_connection: psycopg2.extensions.connection | None = None

    def _listener(self) -> psycopg2.extensions.connection | None:
        if self._listen_connection is not None and not self._listen_connection.closed:
            return self._listen_connection
        try:
            params = self._engine.url.translate_connect_args(username="user", database="dbname")
            params.update(self._engine.url.query)
            connection = psycopg2.connect(**params)
            connection.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except psycopg2.Error as exc:
            log.warning("events.listen_unavailable", error=str(exc))
            return None
        self._listen_connection = connection
        return connection

    def _close_listener(self) -> None:
        if self._listen_connection is not None:
            with contextlib.suppress(psycopg2.Error):
                self._listen_connection.close()
        self._listen_connection = None

    def close(self) -> None:
        self._close_listener()
