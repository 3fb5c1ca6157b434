"""The projector: follows the event store in global order and keeps the read tables.

Each batch is one transaction on one connection:

1. lock this projection's row in ``projection_positions`` (``FOR UPDATE``) and read the
   position: two projectors (a follower and a ``rebuild``, two worker replicas) serialise
   here, and each continues from what the other committed, so none applies an event twice;
2. read the next events after that position (the store guarantees a gap-free prefix);
3. load the rows those events touch with one query per table, apply the events in memory;
4. write every changed row with one multi-row upsert per table, add the statistics deltas,
   move the position, commit.

The rows and the position commit together, so a crash anywhere leaves the tables exactly at
the committed position and the next projector resumes from there. The projector never writes
to ``events`` (the app role could only INSERT there anyway).

``Projector.run`` (the follower) survives database errors: it logs each failure and tries again
after a growing pause (1 s, 2 s, 4 s … at most a minute), and ``health()`` tells a caller
(a readiness probe, a metrics sampler) whether it is following, how many attempts in a row
have failed and why; ``lag()`` is how many events the committed position is behind the store.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from psycopg2.extras import execute_values
from sqlalchemy.engine import Engine

from activities.eventstore import EventStore, RecordedEvent
from activities.projections.changes import (
    CASE_COLUMNS,
    CASE_STREAM_PREFIX,
    CREDIT_STREAM_PREFIX,
    ENTERPRISE_COLUMNS,
    ENTERPRISE_STREAM_PREFIX,
    GRID_STREAM_PREFIX,
    GRID_UNIT_COLUMNS,
    METRICS,
    REGISTER_COLUMNS,
    BatchChanges,
    Row,
)

log = structlog.get_logger(__name__)

READ_MODELS = "read_models"
READ_TABLES: tuple[str, ...] = (
    "case_view",
    "enterprise_view",
    "blacklist_register",
    "case_statistics",
    "grid_unit_view",
)
DEFAULT_BATCH_SIZE = 5000
RETRY_FIRST_PAUSE = 1.0  # seconds before the first retry of a failed batch
RETRY_LONGEST_PAUSE = 60.0


def _upsert_sql(table: str, columns: Sequence[str], key: str) -> str:
    """An upsert of a batch's rows sent as one JSON array (``json_populate_recordset``): the
    server parses it in C, where ``execute_values`` would format every value in Python."""
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names}"
        f" FROM json_populate_recordset(NULL::{table}, %s::json)"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


_CASE_UPSERT = _upsert_sql("case_view", CASE_COLUMNS, "hazard_id")
_ENTERPRISE_UPSERT = _upsert_sql("enterprise_view", ENTERPRISE_COLUMNS, "credit_code")
_REGISTER_UPSERT = _upsert_sql("blacklist_register", REGISTER_COLUMNS, "proceeding_no")
_STATISTICS_COLUMNS = ("unit_code", "period", *METRICS)
_STATISTICS_UPSERT = (
    f"INSERT INTO case_statistics ({', '.join(_STATISTICS_COLUMNS)})"
    f" SELECT {', '.join(_STATISTICS_COLUMNS)}"
    " FROM json_populate_recordset(NULL::case_statistics, %s::json)"
    " ON CONFLICT (unit_code, period) DO UPDATE SET "
    + ", ".join(f"{m} = case_statistics.{m} + EXCLUDED.{m}" for m in METRICS)
)
_GRID_UNIT_UPSERT = (
    f"INSERT INTO grid_unit_view ({', '.join(GRID_UNIT_COLUMNS)}) VALUES %s"
    " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,"
    " parent_code = EXCLUDED.parent_code, responsible_person = EXCLUDED.responsible_person"
    # Unchanged units are the rule: skip them rather than leave a dead row per registration.
    " WHERE (grid_unit_view.name, grid_unit_view.level, grid_unit_view.parent_code,"
    " grid_unit_view.responsible_person) IS DISTINCT FROM"
    " (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_code, EXCLUDED.responsible_person)"
)


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


@dataclass(frozen=True, slots=True)
class RebuildResult:
    events: int
    applied: int
    skipped: int
    position: int
    seconds: float


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

    def _lock_position(self, cursor: Any) -> int:
        cursor.execute(
            "INSERT INTO projection_positions (name) VALUES (%(n)s) ON CONFLICT (name) DO NOTHING;"
            " SELECT position FROM projection_positions WHERE name = %(n)s FOR UPDATE",
            {"n": self._name},
        )
        return int(cursor.fetchone()[0])

    @staticmethod
    def _load(cursor: Any, events: Sequence[RecordedEvent]) -> BatchChanges:
        hazard_ids: set[str] = set()
        credit_codes: set[str] = set()
        listed_codes: set[str] = set()
        grid_codes: set[str] = set()
        case_prefix = len(CASE_STREAM_PREFIX)
        credit_prefix = len(CREDIT_STREAM_PREFIX)
        for event in events:
            stream_id = event.stream_id
            if stream_id.startswith(CASE_STREAM_PREFIX):
                hazard_ids.add(stream_id[case_prefix:])
                if event.event_type == "HazardRegistered":
                    code = event.data.get("credit_code")
                    if isinstance(code, str):
                        credit_codes.add(code)
            elif stream_id.startswith(CREDIT_STREAM_PREFIX):
                code = stream_id[credit_prefix:]
                credit_codes.add(code)
                listed_codes.add(code)
            elif stream_id.startswith(ENTERPRISE_STREAM_PREFIX):
                code, unit = event.data.get("credit_code"), event.data.get("grid_code")
                if isinstance(code, str):
                    credit_codes.add(code)
                if isinstance(unit, str):
                    grid_codes.add(unit)
            elif stream_id.startswith(GRID_STREAM_PREFIX):
                parent = event.data.get("parent_code")
                if isinstance(parent, str):
                    grid_codes.add(parent)
        cases = _select(cursor, "case_view", CASE_COLUMNS, "hazard_id", hazard_ids)
        enterprises = _select(
            cursor, "enterprise_view", ENTERPRISE_COLUMNS, "credit_code", credit_codes
        )
        register = _select(
            cursor, "blacklist_register", REGISTER_COLUMNS, "credit_code", listed_codes
        )
        return BatchChanges(
            {row["hazard_id"]: row for row in cases},
            {row["credit_code"]: row for row in enterprises},
            {row["proceeding_no"]: row for row in register},
            _grid_ancestors(cursor, grid_codes),
        )

    @staticmethod
    def _write(cursor: Any, changes: BatchChanges) -> None:
        # Sorted keys: concurrent writers (a follower, a report's catch-up) take row locks in
        # one order. The position lock serialises them anyway; this keeps it cheap if not.
        for rows, dirty, upsert in (
            (changes.cases, changes.dirty_cases, _CASE_UPSERT),
            (changes.enterprises, changes.dirty_enterprises, _ENTERPRISE_UPSERT),
            (changes.register, changes.dirty_register, _REGISTER_UPSERT),
        ):
            if dirty:
                cursor.execute(upsert, (orjson.dumps([rows[k] for k in sorted(dirty)]).decode(),))
        # A key whose counts were all taken back (a malformed event) writes no empty row.
        stats = [
            {"unit_code": unit, "period": period, **dict(zip(METRICS, deltas, strict=True))}
            for (unit, period), deltas in sorted(changes.statistics.items())
            if any(deltas)
        ]
        if stats:
            cursor.execute(_STATISTICS_UPSERT, (orjson.dumps(stats).decode(),))
        if changes.grid_units:
            units = [changes.grid_units[code] for code in sorted(changes.grid_units)]
            execute_values(cursor, _GRID_UNIT_UPSERT, units, page_size=len(units))


def _select(
    cursor: Any, table: str, columns: tuple[str, ...], key: str, keys: set[str]
) -> list[Row]:
    if not keys:
        return []
    cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = ANY(%s)", (list(keys),))
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def _grid_ancestors(cursor: Any, codes: set[str]) -> dict[str, str | None]:
    """code -> parent code of the units ``codes`` and all their ancestors the read side has."""
    if not codes:
        return {}
    cursor.execute(
        "WITH RECURSIVE up AS ("
        "  SELECT code, parent_code FROM grid_unit_view WHERE code = ANY(%s)"
        "  UNION"
        "  SELECT g.code, g.parent_code FROM grid_unit_view g JOIN up ON g.code = up.parent_code)"
        " SELECT code, parent_code FROM up",
        (list(codes),),
    )
    return {code: parent for code, parent in cursor.fetchall()}


def reset(engine: Engine, name: str = READ_MODELS) -> None:
    """Empty every read table and put the projection back to position 0, in one transaction
    (read tables are derived; the events they come from are never touched)."""
    raw = engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        # Take the position row first so a running follower waits instead of interleaving.
        cursor.execute(
            "INSERT INTO projection_positions (name) VALUES (%(n)s) ON CONFLICT (name) DO NOTHING;"
            " SELECT position FROM projection_positions WHERE name = %(n)s FOR UPDATE",
            {"n": name},
        )
        cursor.execute(f"TRUNCATE {', '.join(READ_TABLES)}")
        cursor.execute(
            "UPDATE projection_positions SET position = 0, skipped = 0,"
            " updated_at = clock_timestamp() WHERE name = %s",
            (name,),
        )
        raw.commit()
        cursor.close()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


# A session advisory lock (any role may take one): a rebuild holds it exclusively from the
# moment it empties the tables until they are complete again; whoever must read complete
# tables (a report, which is kept for ever) holds it shared, or is told to come back.
REBUILD_LOCK_KEY = 0x6475_6261_6E52  # "dubanR"


@contextlib.contextmanager
def _advisory_lock(engine: Engine, take: str, release: str, *, wait: bool) -> Iterator[bool]:
    """Take the rebuild lock on a connection of its own, detached from the pool: session locks
    survive ROLLBACK, so a connection given back to the pool with the lock still held (an
    activity cancelled at the wrong moment) would keep it for the pool's lifetime; closing a
    detached one ends its session, and the lock with it."""
    raw = engine.raw_connection()
    raw.detach()
    try:
        cursor: Any = raw.cursor()
        waited_since = time.monotonic()
        while True:
            cursor.execute(take, (REBUILD_LOCK_KEY,))
            got = bool(cursor.fetchone()[0])
            raw.commit()
            if got or not wait:
                break
            # Polled, not blocked in the server: Ctrl-C reaches a waiting rebuild, and it says
            # what it waits for.
            if time.monotonic() - waited_since > 10:
                log.info("projection.rebuild_waiting_for_reports")
                waited_since = time.monotonic()
            time.sleep(0.5)
        try:
            yield got
        finally:
            if got:
                cursor.execute(release, (REBUILD_LOCK_KEY,))
                raw.commit()
            cursor.close()
    finally:
        raw.close()


def rebuilding(engine: Engine) -> contextlib.AbstractContextManager[bool]:
    """Held by a rebuild: waits for readers of complete tables to finish, then keeps new
    ones out until the tables are complete again."""
    return _advisory_lock(
        engine,
        "SELECT pg_try_advisory_lock(%s)",
        "SELECT pg_advisory_unlock(%s)",
        wait=True,
    )


def complete_read_models(engine: Engine) -> contextlib.AbstractContextManager[bool]:
    """``True`` while held if no rebuild is running (and none starts until it is released);
    ``False`` if one is: the tables may be partial, come back later."""
    return _advisory_lock(
        engine,
        "SELECT pg_try_advisory_lock_shared(%s)",
        "SELECT pg_advisory_unlock_shared(%s)",
        wait=False,
    )


def rebuild(
    engine: Engine,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[BatchResult], None] | None = None,
) -> RebuildResult:
    """Empty every read table and replay the whole store from position 0.

    ``engine`` acts as the application role (``create_app_engine``). Readers see the tables
    fill up while it runs; a follower running meanwhile simply continues after it.
    """
    started = time.perf_counter()
    store = EventStore(engine)
    try:
        with rebuilding(engine):
            applied, events, skipped, position = _rebuild(store, engine, batch_size, on_progress)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    log.info(
        "projection.rebuilt",
        projection=READ_MODELS,
        events=events,
        applied=applied,
        skipped=skipped,
        seconds=round(seconds, 3),
    )
    return RebuildResult(events, applied, skipped, position, seconds)


def _rebuild(
    store: EventStore,
    engine: Engine,
    batch_size: int,
    on_progress: Callable[[BatchResult], None] | None,
) -> tuple[int, int, int, int]:
    """Empty the read tables and replay the store: (applied, events, skipped, position)."""
    reset(engine)
    projector = Projector(store, batch_size=batch_size)
    events = skipped = position = 0

    def progress(result: BatchResult) -> None:
        nonlocal events, skipped, position
        events += result.events
        skipped += result.skipped
        position = result.position
        if on_progress is not None:
            on_progress(result)

    applied = projector.catch_up(on_progress=progress)
    return applied, events, skipped, position
