"""append(): atomic batches, optimistic concurrency, idempotent retries, refused input."""

from __future__ import annotations

import math
import threading
import uuid
from datetime import UTC, datetime

import pytest

from activities.eventstore import (
    EventIdReused,
    EventMetadata,
    EventStore,
    InvalidAppend,
    WrongExpectedVersion,
)
from tests.store.helpers import new_event, unique_stream


def test_a_new_stream_starts_at_version_one_with_contiguous_positions(store: EventStore):
    stream = unique_stream()
    before = store.head().position
    result = store.append(stream, 0, [new_event(), new_event(), new_event()])
    assert result.stream_version == 3
    assert list(result.positions) == [before + 1, before + 2, before + 3]
    events = store.read_stream(stream)
    assert [e.stream_version for e in events] == [1, 2, 3]
    assert [e.position for e in events] == list(result.positions)


def test_events_come_back_exactly_as_appended(store: EventStore):
    stream = unique_stream()
    metadata = EventMetadata(
        "supervisor-3",
        "supervisor",
        correlation_id="c-9",
        causation_id="cmd-1",
        workflow_id="case-H1",
        run_id="run-1",
    )
    occurred = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
    data = {"deadline": "2026-03-31T15:59:59Z", "级别": "县级", "nested": {"list": [1, 2.5]}}
    event = new_event("HazardListed", data, metadata=metadata, occurred_at=occurred)
    store.append(stream, 0, [event])
    (stored,) = store.read_stream(stream)
    assert stored.event_id == event.event_id
    assert stored.event_type == "HazardListed"
    assert stored.data == data
    assert stored.metadata == {
        "actor_id": "supervisor-3",
        "actor_role": "supervisor",
        "correlation_id": "c-9",
        "causation_id": "cmd-1",
        "workflow_id": "case-H1",
        "run_id": "run-1",
    }
    assert stored.occurred_at == occurred
    assert stored.recorded_at.tzinfo is not None
    assert len(stored.hash) == 32 and len(stored.prev_hash) == 32


def test_recorded_at_comes_from_the_database_clock_and_never_goes_back(store: EventStore):
    stream = unique_stream()
    for _ in range(5):
        store.append(stream, None, [new_event()])
    recorded = [e.recorded_at for e in store.read_stream(stream)]
    assert recorded == sorted(recorded)
    assert abs((datetime.now(UTC) - recorded[-1]).total_seconds()) < 300


def test_a_wrong_expected_version_is_a_conflict_and_writes_nothing(store: EventStore):
    stream = unique_stream()
    store.append(stream, 0, [new_event()])
    head = store.head()
    with pytest.raises(WrongExpectedVersion) as caught:
        store.append(stream, 0, [new_event(), new_event()])
    assert caught.value.expected == 0 and caught.value.actual == 1
    assert "version 1" in str(caught.value)
    assert store.head() == head
    assert store.stream_version(stream) == 1


def test_two_writers_racing_on_one_stream_one_wins_the_other_conflicts(store: EventStore):
    stream = unique_stream()
    store.append(stream, 0, [new_event()])
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def writer() -> None:
        barrier.wait()
        try:
            outcomes.append(store.append(stream, 1, [new_event()]))
        except WrongExpectedVersion as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conflicts = [o for o in outcomes if isinstance(o, WrongExpectedVersion)]
    assert len(conflicts) == 1
    assert store.stream_version(stream) == 2


def test_a_retried_append_is_a_no_op_that_returns_the_stored_positions(store: EventStore):
    stream = unique_stream()
    batch = [new_event(), new_event()]
    first = store.append(stream, 0, batch)
    head = store.head()
    for expected in (0, None):
        again = store.append(stream, expected, batch)
        assert again.positions == first.positions
        assert again.already_stored
    assert store.head() == head
    assert len(store.read_stream(stream)) == 2


def test_reusing_an_event_id_with_different_content_is_refused(store: EventStore):
    stream = unique_stream()
    event = new_event()
    store.append(stream, 0, [event])
    head = store.head()
    altered = new_event(event_id=event.event_id, data={"description": "changed"})
    with pytest.raises(EventIdReused, match="differs in data"):
        store.append(stream, 1, [altered])
    with pytest.raises(EventIdReused, match="stream_id"):
        store.append(unique_stream(), 0, [event])
    assert store.head() == head


def test_a_batch_that_mixes_stored_and_new_ids_writes_nothing(store: EventStore):
    stream = unique_stream()
    stored = new_event()
    store.append(stream, 0, [stored])
    head = store.head()
    with pytest.raises(EventIdReused):
        store.append(stream, None, [new_event(), stored])
    assert store.head() == head


def test_a_batch_is_atomic_when_one_event_is_invalid(store: EventStore):
    stream = unique_stream()
    head = store.head()
    with pytest.raises(InvalidAppend, match=r"events\[1\]\.data"):
        store.append(stream, 0, [new_event(), new_event(data={"bad": math.nan})])
    assert store.head() == head
    assert store.stream_version(stream) == 0


@pytest.mark.parametrize(
    ("stream", "expected", "events", "field"),
    [
        ("", 0, lambda: [new_event()], "stream_id"),
        ("   ", 0, lambda: [new_event()], "stream_id"),
        ("x" * 201, 0, lambda: [new_event()], "stream_id"),
        ("case\n1", 0, lambda: [new_event()], "stream_id"),
        ("ok", -1, lambda: [new_event()], "expected_version"),
        ("ok", 0, lambda: [], "events"),
        ("ok", 0, lambda: [new_event(data={"at": datetime.now(UTC)})], "events[0].data"),
        ("ok", 0, lambda: [new_event(data={"v": {1, 2}})], "events[0].data"),
        ("ok", 0, lambda: [new_event(data={"v": math.inf})], "events[0].data"),
        ("ok", 0, lambda: [new_event(data={"v": "\ud800"})], "events[0].data"),
        ("ok", 0, lambda: [new_event(data={"v": "x" * 300_000})], "events[0].data"),
        ("ok", 0, lambda: [new_event(event_type="")], "events[0].event_type"),
        ("ok", 0, lambda: [new_event(schema_version=0)], "events[0].schema_version"),
        ("ok", 0, lambda: [new_event(occurred_at=datetime(2026, 1, 1))], "events[0].occurred_at"),
        ("ok", 0, lambda: [new_event(event_id="not-a-uuid")], "events[0].event_id"),
        (
            "ok",
            0,
            lambda: [new_event(metadata=EventMetadata("", "inspector"))],
            "events[0].metadata",
        ),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    store: EventStore, stream, expected, events, field
):
    head = store.head()
    with pytest.raises(InvalidAppend) as caught:
        store.append(stream, expected, events())
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert store.head() == head


def test_the_same_id_twice_in_one_batch_is_refused(store: EventStore):
    event_id = uuid.uuid4()
    with pytest.raises(InvalidAppend, match="appears twice"):
        store.append(
            unique_stream(), 0, [new_event(event_id=event_id), new_event(event_id=event_id)]
        )


def test_read_stream_returns_a_version_range(store: EventStore):
    stream = unique_stream()
    store.append(stream, 0, [new_event() for _ in range(6)])
    assert [e.stream_version for e in store.read_stream(stream, 3)] == [3, 4, 5, 6]
    assert [e.stream_version for e in store.read_stream(stream, 2, 4)] == [2, 3, 4]
    assert store.read_stream(unique_stream()) == []


def test_verification_leaves_the_pooled_connections_writable(store: EventStore):
    from activities.eventstore import verify_store

    for _ in range(12):  # more than the pool holds, so every connection has been used
        assert verify_store(store.engine).ok
    stream = unique_stream()
    assert store.append(stream, 0, [new_event()]).stream_version == 1
