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

The steps above run in the database in one round trip (see ``_PREPARE_APPEND``), at READ
COMMITTED: step 2 needs the statement after the lock to take a fresh snapshot, which REPEATABLE
READ or SERIALIZABLE (a server's possible default) would not. Appends are serialised, so the
round trips and the work under the lock are what bound the append rate. Even if the lock were
skipped the order could not break, only appends fail: a stale head gives a position that is
already taken, which the primary key refuses.
"""

from __future__ import annotations

import contextlib
import gc
import re
import select
import threading
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
import structlog
from opentelemetry import trace
from sqlalchemy.engine import Engine

from activities.eventstore.chain import GENESIS_HASH, NotCanonicalisable, canonical_json
from activities.eventstore.errors import EventIdReused, InvalidAppend, WrongExpectedVersion

log = structlog.get_logger(__name__)

# "duban": one advisory lock serialises every append. duban_append (migration 0005) takes it.
APPEND_LOCK_KEY = 0x64756261_6E
NOTIFY_CHANNEL = "duban_events"
LISTENER_APPLICATION_NAME = "duban-listener"
MAX_STREAM_ID_LENGTH = 200
MAX_EVENT_TYPE_LENGTH = 200
MAX_BATCH_SIZE = 1000
MAX_SQL_INTEGER = 2**31 - 1
POLL_FALLBACK_SECONDS = 1.0

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


class EventStore:
    """Append and read events. Thread-safe: every call takes its own pooled connection, and
    concurrent waiters share one listening connection (see ``wait_for_events``).

    ``poll_interval``: how often a waiter re-reads the head when no notification came (the
    fallback if notifications are lost or unavailable). ``listen=False`` never LISTENs, only
    polls: for a connection pooler in transaction mode, which cannot carry LISTEN.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_event_bytes: int = 256 * 1024,
        poll_interval: float = POLL_FALLBACK_SECONDS,
        listen: bool = True,
    ) -> None:
        if not poll_interval > 0:
            raise ValueError("poll_interval: must be a positive number of seconds")
        self._engine = engine
        self._max_event_bytes = max_event_bytes
        self._poll_interval = poll_interval
        self._listen = listen
        self._listen_connection: psycopg2.extensions.connection | None = None
        self._listen_lock = threading.Lock()  # creating and closing the listening connection
        self._listen_failure_logged = False
        self._wake = threading.Condition()
        self._wakeups = 0  # bumped each time the listener saw a notification (or failed)
        self._pumping = False  # one waiter at a time reads the listening connection

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def poll_interval(self) -> float:
        return self._poll_interval

    # ------------------------------------------------------------------ append

    def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` atomically.

        ``expected_version`` is the stream's version the caller decided on (0: the stream must
        be new); ``None`` appends whatever the version. A mismatch raises
        ``WrongExpectedVersion`` and writes nothing. Appending events whose ids are already
        stored with the same content returns their stored positions and writes nothing.

        Traced as ``eventstore.append`` (a no-op span unless tracing is on): the last link of a
        command's trace, inside the activity that records it.
        """
        with trace.get_tracer(__name__).start_as_current_span(
            "eventstore.append",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "db.system.name": "postgresql",
                "duban.stream_id": stream_id,
                "duban.event_count": len(events),
                "duban.expected_version": -1 if expected_version is None else expected_version,
            },
        ) as span:
            result = self._append(stream_id, expected_version, events)
            if span.is_recording():
                span.set_attribute("duban.stream_version", result.stream_version)
                span.set_attribute("duban.already_stored", result.already_stored)
                if result.positions:
                    span.set_attribute("duban.last_position", result.positions[-1])
            return result

    def _append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        prepared = self._validate(stream_id, expected_version, events)
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
        raw = self._engine.raw_connection()
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
            stored = self._already_stored(stream_id, prepared)
            if stored is not None:
                return stored
            if duplicate is not None:
                raise duplicate
            assert expected_version is not None  # only an expected version can conflict
            raise WrongExpectedVersion(stream_id, expected_version, current_version)
        positions = tuple(range(last_position - len(prepared) + 1, last_position + 1))
        log.debug("events.appended", stream_id=stream_id, positions=positions)
        return AppendResult(stream_id, positions, current_version)

    def _validate(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> list[_Prepared]:
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
                    occurred_at,
                )
            )
        return prepared

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

        Listens on the channel the insert trigger notifies at commit, so a commit wakes the
        waiter at once; the head is re-read at least every ``poll_interval`` seconds too, and
        only that polling remains when the listening connection is unavailable. Any number of
        threads may wait at once: they share one listening connection, one of them reads it
        at a time, and every notification wakes them all.
        """
        deadline = time.monotonic() + timeout
        while True:
            listening = self._ensure_listener()
            with self._wake:
                wakeups_seen = self._wakeups
            # Check *after* LISTEN is in place and the wake-up count is noted, so a commit
            # between the check and the wait still wakes us.
            if self.head().position > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait = min(remaining, self._poll_interval)
            if listening:
                self._await_wakeup(wakeups_seen, wait)
            else:
                time.sleep(wait)

    def _await_wakeup(self, wakeups_seen: int, wait: float) -> None:
        """Return on a notification seen after ``wakeups_seen``, or after ``wait`` seconds.

        Whoever finds nobody reading the listening connection reads it; the others sleep on
        the condition. The reader bumps the count and wakes everyone on a notification, and
        wakes them as well when it stops, so that another takes over the reading.
        """
        until = time.monotonic() + wait
        with self._wake:
            while True:
                if self._wakeups != wakeups_seen:
                    return
                left = until - time.monotonic()
                if left <= 0:
                    return
                if not self._pumping:
                    self._pumping = True
                    break
                self._wake.wait(left)
        notified = False
        try:
            notified = self._read_notifications(left)
        finally:
            with self._wake:
                self._pumping = False
                if notified:
                    self._wakeups += 1
                self._wake.notify_all()

    def _read_notifications(self, wait: float) -> bool:
        """True on a notification, or when the listener failed (so that waiters re-check)."""
        connection = self._listen_connection
        if connection is None or connection.closed:
            return True
        try:
            ready, _, _ = select.select([connection], [], [], wait)
            if not ready:
                return False
            connection.poll()
            notified = bool(connection.notifies)
            connection.notifies.clear()
            return notified
        except (psycopg2.Error, OSError, ValueError) as exc:
            log.warning("events.listen_failed", error=str(exc))
            self._close_listener()
            return True

    def _ensure_listener(self) -> bool:
        """Whether a listening connection is in place, opening one if needed."""
        if not self._listen:
            return False
        with self._listen_lock:
            current = self._listen_connection
            if current is not None and not current.closed:
                return True
            self._listen_connection = None
            try:
                params: dict[str, Any] = self._engine.url.translate_connect_args(
                    username="user", database="dbname"
                )
                params.update(self._engine.url.query)
                params.setdefault("application_name", LISTENER_APPLICATION_NAME)
                connection = psycopg2.connect(**params)
            except psycopg2.Error as exc:
                if not self._listen_failure_logged:
                    log.warning("events.listen_unavailable", error=str(exc))
                    self._listen_failure_logged = True
                return False
            try:
                connection.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            except psycopg2.Error as exc:
                connection.close()
                log.warning("events.listen_unavailable", error=str(exc))
                return False
            self._listen_connection = connection
            self._listen_failure_logged = False
            return True

    def _close_listener(self) -> None:
        with self._listen_lock:
            if self._listen_connection is not None:
                with contextlib.suppress(psycopg2.Error):
                    self._listen_connection.close()
            self._listen_connection = None

    def close(self) -> None:
        self._close_listener()
