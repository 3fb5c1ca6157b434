"""Rebuilding the read models: empty every read table and replay the whole store from
position 0 (``duban projections rebuild``), with the advisory lock that keeps a reader of
complete tables (a report, which is kept for ever) from reading them half filled.

A rebuild gives the same tables as following the store (tests/projections prove it): it is the
same projector, started from nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.engine import Engine

from activities.eventstore import EventStore
from activities.projections.projector import (
    DEFAULT_BATCH_SIZE,
    READ_MODELS,
    BatchResult,
    Projector,
)

log = structlog.get_logger(__name__)

READ_TABLES: tuple[str, ...] = (
    "case_view",
    "enterprise_view",
    "blacklist_register",
    "case_statistics",
    "grid_unit_view",
    "issued_documents",
    "public_report_view",
)


@dataclass(frozen=True, slots=True)
class RebuildResult:
    events: int
    applied: int
    skipped: int
    position: int
    seconds: float


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
