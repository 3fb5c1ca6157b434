"""The projector: follows the event store in global order and keeps the read tables.

Each batch is one transaction on one connection:

1. lock this projection's row in ``projection_positions`` (``FOR UPDATE``) and read the
   position: two projectors (a follower and a ``rebuild``, two worker replicas) serialise
   here, and each continues from what the other committed, so none applies an event twice;
2. read the next events after that position (the store guarantees a gap-free prefix);
3. load the rows those events touch with one query per table, apply the events in memory
   (``activities.projections.batch``, which hands each event to the read models it concerns);
4. write every changed row with one multi-row upsert per table, add the statistics deltas,
   move the position, commit.

The rows and the position commit together, so a crash anywhere leaves the tables exactly at
the committed position and the next projector resumes from there. The projector never writes
to ``events`` (the app role could only INSERT there anyway).

``Projector.run`` (the follower) survives database errors: it logs each failure and tries again
after a growing pause (1 s, 2 s, 4 s … at most a minute), and ``health()`` tells a caller
(a readiness probe, a metrics sampler) whether it is following, how many attempts in a row
have failed and why; ``lag()`` is how many events the committed position is behind the store.
Emptying the tables and replaying the whole store is ``activities.projections.rebuilding``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from activities.eventstore import EventStore
from activities.projections import batch

log = structlog.get_logger(__name__)

READ_MODELS = "read_models"
DEFAULT_BATCH_SIZE = 5000
RETRY_FIRST_PAUSE = 1.0  # seconds before the first retry of a failed batch
RETRY_LONGEST_PAUSE = 60.0


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One committed batch: how many events it read, applied and skipped, and where it ended."""

    events: int
    applied: int
    skipped: int
    position: int


@dataclass(frozen=True, slots=True)
class ProjectorHealth:
    """What a follower (``Projector.run``) reports about itself.

    ``healthy``: it is following and its last attempt worked. ``failures``: attempts in a row
    that failed (0 after a success); ``last_error``: the latest failure, kept after recovery
    so an operator can see what happened. ``last_success_at``: when it last read the store
    without an error (idle reads included), the age a probe compares with its own limit.
    """

    projection: str
    following: bool
    position: int
    failures: int
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    retry_in_seconds: float | None

    @property
    def healthy(self) -> bool:
        return self.following and self.failures == 0

    def check(self, now: datetime, stale_after: timedelta) -> tuple[bool, str]:
        """``(True, "ok")`` while the follower keeps the read models current, else
        ``(False, why)``: the shape of a readiness check (``/readyz``).

        Not current: not following (stopped, or not started yet), failing (the latest error
        says why), or no successful read for ``stale_after`` although no attempt failed (a
        batch stuck on a lock or a hung connection, which never raises).
        """
        if not self.following:
            return False, "not following the event store"
        if self.failures:
            retry = (
                f"; next try in {self.retry_in_seconds:g} s"
                if self.retry_in_seconds is not None
                else ""
            )
            # The first line: a driver's message goes on with the statement it failed on.
            error = self.last_error.splitlines()[0] if self.last_error else "unknown"
            return False, f"{self.failures} failed attempt(s) in a row: {error}{retry}"
        if self.last_success_at is None:
            return False, "has not read the event store yet"
        silent = now - self.last_success_at
        if silent > stale_after:
            return False, f"no successful read for {silent.total_seconds():.0f} s"
        return True, "ok"


class Projector:
    """Keeps the read models of one projection name up to date with the event store.

    ``on_commit(position)`` is called after each committed batch (the benchmark measures the
    append-to-visible lag with it). Not thread-safe: one projector per thread.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        name: str = READ_MODELS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        if not 1 <= batch_size <= 100_000:
            raise ValueError("batch_size: must be between 1 and 100000")
        self._store = store
        self._engine = store.engine
        self._name = name
        self._batch_size = batch_size
        self._on_commit = on_commit
        self.skipped_by_type: Counter[str] = Counter()
        self.ignored_by_type: Counter[str] = Counter()
        self.malformed: list[tuple[int, str, str]] = []  # the latest 100: (position, type, error)
        self._health_lock = threading.Lock()
        self._following = False
        self._followed_position = 0
        self._failures = 0
        self._last_success_at: datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._retry_in: float | None = None

    @property
    def name(self) -> str:
        return self._name

    def position(self) -> int:
        """The last position this projection has committed (0 before the first batch)."""
        with self._engine.connect() as conn:
            value = conn.exec_driver_sql(
                "SELECT position FROM projection_positions WHERE name = %(n)s", {"n": self._name}
            ).scalar()
        return int(value or 0)

    def catch_up(
        self,
        *,
        max_events: int | None = None,
        on_progress: Callable[[BatchResult], None] | None = None,
    ) -> int:
        """Apply batches until the store has nothing newer (or ``max_events`` were read);
        return how many events were applied (skipped ones not included)."""
        applied = 0
        read = 0
        while max_events is None or read < max_events:
            limit = (
                self._batch_size if max_events is None else min(self._batch_size, max_events - read)
            )
            result = self.step(limit)
            if result.events == 0:
                break
            applied += result.applied
            read += result.events
            if on_progress is not None:
                on_progress(result)
        return applied

    def catch_up_to(
        self, position: int, *, on_progress: Callable[[BatchResult], None] | None = None
    ) -> int:
        """Apply batches until the committed position is at least ``position`` (or the store
        has nothing newer); return the committed position reached."""
        while True:
            result = self.step(self._batch_size)
            if on_progress is not None:
                on_progress(result)
            if result.events == 0 or result.position >= position:
                return result.position

    def lag(self) -> int:
        """Events in the store after this projection's committed position."""
        return max(0, self._store.head().position - self.position())

    def health(self) -> ProjectorHealth:
        with self._health_lock:
            return ProjectorHealth(
                projection=self._name,
                following=self._following,
                position=self._followed_position,
                failures=self._failures,
                last_success_at=self._last_success_at,
                last_error=self._last_error,
                last_error_at=self._last_error_at,
                retry_in_seconds=self._retry_in,
            )

    def run(
        self,
        stop_event: threading.Event,
        *,
        idle_wait: float = 1.0,
        first_pause: float = RETRY_FIRST_PAUSE,
        longest_pause: float = RETRY_LONGEST_PAUSE,
    ) -> None:
        """Follow the store until ``stop_event`` is set: apply what is there, then wait for the
        store's notification of new events (or ``idle_wait`` seconds, to look at the flag).

        A failed batch (the database gone, a lock timeout, a bug) is rolled back whole, logged
        and tried again after ``first_pause`` seconds, doubling up to ``longest_pause``; the
        follower never stops on its own.
        """
        log.info("projection.following", projection=self._name)
        with self._health_lock:
            self._following = True
        position = 0
        try:
            while not stop_event.is_set():
                try:
                    result = self.step(self._batch_size)
                    position = result.position
                    self._succeeded(position)
                    if result.events:
                        continue
                    self._store.wait_for_events(position, idle_wait)
                except Exception as exc:  # every failure is logged and retried
                    pause = self._failed(exc, first_pause, longest_pause)
                    stop_event.wait(pause)
        finally:
            with self._health_lock:
                self._following = False
                self._retry_in = None
        log.info("projection.stopped", projection=self._name, position=position)

    def _succeeded(self, position: int) -> None:
        with self._health_lock:
            if self._failures:
                log.info(
                    "projection.recovered",
                    projection=self._name,
                    after_failures=self._failures,
                    position=position,
                )
            self._failures = 0
            self._retry_in = None
            self._followed_position = position
            self._last_success_at = datetime.now(UTC)

    def _failed(self, exc: Exception, first_pause: float, longest_pause: float) -> float:
        with self._health_lock:
            self._failures += 1
            pause = min(longest_pause, first_pause * 2.0 ** min(self._failures - 1, 30))
            error = f"{type(exc).__name__}: {exc}".strip()[:2000]
            self._last_error = error
            self._last_error_at = datetime.now(UTC)
            self._retry_in = pause
            failures = self._failures
        log.error(
            "projection.batch_failed",
            projection=self._name,
            error=error,
            failures=failures,
            retry_in_seconds=pause,
            exc_info=exc,
        )
        return pause

    def step(self, limit: int | None = None) -> BatchResult:
        """One batch in one transaction; ``events == 0`` when there was nothing to apply."""
        raw = self._engine.raw_connection()
        try:
            cursor: Any = raw.cursor()
            try:
                position = self._lock_position(cursor)
                events = self._store.read_all(position, limit or self._batch_size)
                if not events:
                    raw.rollback()
                    return BatchResult(0, 0, 0, position)
                changes = self._load(cursor, events)
                for event in events:
                    changes.apply(
                        event.position,
                        event.stream_id,
                        event.event_type,
                        event.schema_version,
                        event.data,
                    )
                last = events[-1].position
                skipped = sum(changes.skipped.values()) + sum(changes.ignored.values())
                self._write(cursor, changes)
                cursor.execute(
                    "UPDATE projection_positions SET position = %s, skipped = skipped + %s,"
                    " updated_at = clock_timestamp() WHERE name = %s",
                    (last, skipped, self._name),
                )
                raw.commit()
            finally:
                cursor.close()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
        self.ignored_by_type.update(changes.ignored)
        if changes.skipped:
            self.skipped_by_type.update(changes.skipped)
            self.malformed = (self.malformed + changes.malformed)[-100:]
            log.warning(
                "projection.events_skipped",
                projection=self._name,
                by_type=dict(changes.skipped),
                without_stream_start=dict(changes.orphans),
                malformed=changes.malformed[:10],
                up_to=last,
            )
        if changes.unplaced:
            log.warning(
                "projection.blacklist_changes_without_grid_unit",
                projection=self._name,
                by_change=dict(changes.unplaced),
                up_to=last,
            )
        log.debug(
            "projection.batch_committed",
            projection=self._name,
            position=last,
            events=len(events),
            applied=changes.applied,
        )
        if self._on_commit is not None:
            self._on_commit(last)
        return BatchResult(len(events), changes.applied, skipped, last)

    # ------------------------------------------------------------------ internals

    # What a batch reads and writes (``activities.projections.batch``), reached through the
    # projector so that a test can fail a batch between its write and its commit.
    _load = staticmethod(batch.load)
    _write = staticmethod(batch.write)

    def _lock_position(self, cursor: Any) -> int:
        cursor.execute(
            "INSERT INTO projection_positions (name) VALUES (%(n)s) ON CONFLICT (name) DO NOTHING;"
            " SELECT position FROM projection_positions WHERE name = %(n)s FOR UPDATE",
            {"n": self._name},
        )
        return int(cursor.fetchone()[0])
