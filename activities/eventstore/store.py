"""duban's system of record: an append-only, hash-chained event store on PostgreSQL.

``EventStore`` is its one entry point. Appending lives in ``append`` (with the argument for why
the global order is gap-free and equals commit order), following in ``listen``, the event
types in ``records``, the hash chain in ``chain``, its verification in ``verify``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from opentelemetry import trace
from sqlalchemy.engine import Engine

from activities.eventstore.append import append_events
from activities.eventstore.chain import GENESIS_HASH
from activities.eventstore.errors import InvalidAppend
from activities.eventstore.listen import POLL_FALLBACK_SECONDS, NewEventsWaiter
from activities.eventstore.records import AppendResult, Head, NewEvent, RecordedEvent

_COLUMNS = (
    "position, stream_id, stream_version, event_id::text, event_type, schema_version, "
    "data::text, metadata::text, "
    "occurred_at::text, recorded_at::text, prev_hash, hash"
)


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
        self._waiter = NewEventsWaiter(
            engine, lambda: self.head().position, poll_interval=poll_interval, listen=listen
        )

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
            result = append_events(
                self._engine,
                stream_id,
                expected_version,
                events,
                max_event_bytes=self._max_event_bytes,
            )
            if span.is_recording():
                span.set_attribute("duban.stream_version", result.stream_version)
                span.set_attribute("duban.already_stored", result.already_stored)
                if result.positions:
                    span.set_attribute("duban.last_position", result.positions[-1])
            return result

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

        Listens on the channel every append notifies at commit, so a commit wakes the waiter
        at once; the head is re-read at least every ``poll_interval`` seconds too, and only
        that polling remains when the listening connection is unavailable
        (``activities.eventstore.listen``).
        """
        return self._waiter.wait(after, timeout)

    def close(self) -> None:
        self._waiter.close()
