"""read_all() in global order: a follower never skips an event, even with many writers."""

from __future__ import annotations

import random
import threading
import time

from activities.eventstore import EventStore
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
