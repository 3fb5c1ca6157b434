"""read_all() in global order: a follower never skips an event, even with many writers."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from activities.database import create_app_engine, create_owner_engine
from activities.eventstore import EventStore
from activities.eventstore.listen import LISTENER_APPLICATION_NAME
from tests.conftest import APP_ROLE
from tests.store.helpers import new_event, unique_stream

WRITERS = 8
APPENDS_PER_WRITER = 40


def test_a_follower_sees_every_event_once_in_order_while_many_writers_append(store: EventStore):
    start = store.head().position
    streams = [unique_stream("race") for _ in range(WRITERS)]
    appended: list[int] = []
    appended_lock = threading.Lock()
    writers_done = threading.Event()

    def writer(stream: str) -> None:
        rng = random.Random(stream)
        for _ in range(APPENDS_PER_WRITER):
            batch = [new_event() for _ in range(rng.randint(1, 3))]
            result = store.append(stream, None, batch)
            with appended_lock:
                appended.extend(result.positions)

    seen: list[int] = []

    def follower() -> None:
        after = start
        while True:
            batch = store.read_all(after=after, limit=7)
            for event in batch:
                seen.append(event.position)
                after = event.position
            if not batch:
                if writers_done.is_set() and store.head().position == after:
                    return
                store.wait_for_events(after, timeout=0.2)

    reader = threading.Thread(target=follower)
    reader.start()
    threads = [threading.Thread(target=writer, args=(s,)) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writers_done.set()
    reader.join(timeout=60)
    assert not reader.is_alive()

    assert seen == list(range(start + 1, start + 1 + len(seen)))
    assert sorted(appended) == seen
    for stream in streams:
        versions = [e.stream_version for e in store.read_stream(stream)]
        assert versions == list(range(1, len(versions) + 1))


def test_wait_for_events_wakes_when_another_connection_appends(store: EventStore):
    after = store.head().position
    stream = unique_stream()

    def append_soon() -> None:
        time.sleep(0.3)
        store.append(stream, 0, [new_event()])

    thread = threading.Thread(target=append_soon)
    thread.start()
    assert store.wait_for_events(after, timeout=30)
    thread.join()
    assert store.read_all(after=after)[0].stream_id == stream


def test_wait_for_events_returns_false_when_nothing_arrives(store: EventStore):
    assert store.wait_for_events(store.head().position + 10**9, timeout=0.2) is False


def test_iter_all_walks_the_whole_log_in_order(store: EventStore):
    stream = unique_stream()
    store.append(stream, 0, [new_event() for _ in range(12)])
    positions = [e.position for e in store.iter_all(after=0, batch_size=5)]
    assert positions == list(range(1, store.head().position + 1))


LONG_POLL = 30.0  # so long that only a notification can wake a waiter within the test


def _append_soon(store: EventStore, stream: str, delay: float = 0.3) -> threading.Thread:
    def append() -> None:
        time.sleep(delay)
        store.append(stream, None, [new_event()])

    thread = threading.Thread(target=append)
    thread.start()
    return thread


def _listeners(owner: Engine, database: str) -> list[int]:
    with owner.connect() as conn:
        return list(
            conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = %(d)s"
                " AND application_name = %(a)s",
                {"d": database, "a": LISTENER_APPLICATION_NAME},
            ).scalars()
        )


@pytest.fixture()
def fresh(fresh_database_url: str) -> Iterator[tuple[Engine, Engine, str]]:
    """(app engine, owner engine, database name) of a database no other test listens on."""
    app = create_app_engine(fresh_database_url, APP_ROLE, pool_size=5)
    owner = create_owner_engine(fresh_database_url)
    yield app, owner, str(make_url(fresh_database_url).database)
    app.dispose()
    owner.dispose()


def test_a_commit_wakes_a_waiter_long_before_the_poll_interval(app_engine: Engine):
    store = EventStore(app_engine, poll_interval=LONG_POLL)
    try:
        after = store.head().position
        writer = _append_soon(store, unique_stream())
        started = time.monotonic()
        assert store.wait_for_events(after, timeout=LONG_POLL - 5)
        waited = time.monotonic() - started
        writer.join()
        assert waited < store.poll_interval / 5, "woken by polling, not by the notification"
    finally:
        store.close()


def test_concurrent_waiters_all_wake_on_one_commit_through_one_listener(
    fresh: tuple[Engine, Engine, str],
):
    app, owner, database = fresh
    store = EventStore(app, poll_interval=LONG_POLL)
    after = store.head().position
    waits: list[float] = []
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(5)

    def waiter() -> None:
        barrier.wait()
        started = time.monotonic()
        woke = store.wait_for_events(after, timeout=LONG_POLL - 5)
        with lock:
            results.append(woke)
            waits.append(time.monotonic() - started)

    threads = [threading.Thread(target=waiter) for _ in range(4)]
    for thread in threads:
        thread.start()
    barrier.wait()
    for _ in range(100):  # until the waiters have opened their listener
        if _listeners(owner, database):
            break
        time.sleep(0.05)
    time.sleep(0.3)  # let them all settle into waiting
    assert len(_listeners(owner, database)) == 1, "waiters opened listeners of their own"
    store.append(unique_stream(), 0, [new_event()])
    for thread in threads:
        thread.join(timeout=LONG_POLL)
    assert results == [True] * 4
    assert max(waits) < store.poll_interval / 5, "a waiter missed the notification"
    assert len(_listeners(owner, database)) == 1
    store.close()
    for _ in range(100):
        if not _listeners(owner, database):
            break
        time.sleep(0.05)
    assert _listeners(owner, database) == []


def test_a_listener_killed_by_the_server_is_replaced_and_still_wakes_the_waiter(
    fresh: tuple[Engine, Engine, str],
):
    app, owner, database = fresh
    store = EventStore(app, poll_interval=LONG_POLL)
    try:
        after = store.head().position
        assert store.wait_for_events(after, timeout=0.1) is False  # opens the listener
        (killed,) = _listeners(owner, database)
        with owner.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(%(p)s)", {"p": killed})
        writer = _append_soon(store, unique_stream(), delay=0.5)
        started = time.monotonic()
        assert store.wait_for_events(after, timeout=LONG_POLL - 5)
        waited = time.monotonic() - started
        writer.join()
        assert waited < store.poll_interval / 5
        assert killed not in _listeners(owner, database)
    finally:
        store.close()


def test_polling_still_delivers_when_no_listener_can_connect(
    fresh: tuple[Engine, Engine, str], postgres_admin_url: str
):
    app, _, database = fresh
    store = EventStore(app, poll_interval=0.2)
    # Two pooled connections (waiter and writer) exist before new connections are refused.
    with app.connect() as first, app.connect() as second:
        first.exec_driver_sql("SELECT 1")
        second.exec_driver_sql("SELECT 1")
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        after = store.head().position
        writer = _append_soon(store, unique_stream(), delay=0.5)
        assert store.wait_for_events(after, timeout=20)
        writer.join()
        assert store.read_all(after=after)[0].position == after + 1
        with admin.connect() as conn:
            assert not conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %(d)s"
                " AND application_name = %(a)s",
                {"d": database, "a": LISTENER_APPLICATION_NAME},
            ).scalar_one(), "the listener connected after all: polling went untested"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        admin.dispose()
        store.close()


def test_a_store_that_never_listens_delivers_by_polling(app_engine: Engine):
    store = EventStore(app_engine, poll_interval=0.2, listen=False)
    after = store.head().position
    writer = _append_soon(store, unique_stream())
    assert store.wait_for_events(after, timeout=20)
    writer.join()
