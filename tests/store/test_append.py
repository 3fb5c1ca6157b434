"""append(): atomic batches, optimistic concurrency, idempotent retries, refused input."""

from __future__ import annotations

import dataclasses
import math
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import make_url

from activities.database import create_app_engine, create_owner_engine
from activities.eventstore import (
    AppendResult,
    EventIdReused,
    EventMetadata,
    EventStore,
    InvalidAppend,
    WrongExpectedVersion,
    verify_store,
    verify_stream,
)
from activities.eventstore.append import APPEND_LOCK_KEY
from activities.eventstore.chain import MAX_JSON_DEPTH
from tests.conftest import APP_ROLE
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
        ("ok", 0, lambda: [], "events"),
        ("case\x00nul", 0, lambda: [new_event()], "stream_id"),
        ("case-\ud800", 0, lambda: [new_event()], "stream_id"),
        (42, 0, lambda: [new_event()], "stream_id"),
        ("ok", -1, lambda: [new_event()], "expected_version"),
        ("ok", 2**31, lambda: [new_event()], "expected_version"),
        ("ok", 0, lambda: [new_event(data={"at": datetime.now(UTC)})], "events[0].data.at"),
        ("ok", 0, lambda: [new_event(data={"v": {1, 2}})], "events[0].data.v"),
        ("ok", 0, lambda: [new_event(data={"v": math.inf})], "events[0].data.v"),
        ("ok", 0, lambda: [new_event(data={"v": "\ud800"})], "events[0].data.v"),
        (
            "ok",
            0,
            lambda: [new_event(data={"v": [1, {"deep": 2**63}]})],
            "events[0].data.v[1].deep",
        ),
        ("ok", 0, lambda: [new_event(data={"v": -(2**63) - 1})], "events[0].data.v"),
        ("ok", 0, lambda: [new_event(data={"v": (1, 2)})], "events[0].data.v"),
        ("ok", 0, lambda: [new_event(data={"v": {3: "int key"}})], "events[0].data.v"),
        ("ok", 0, lambda: [new_event(data={"a b": math.nan})], 'events[0].data["a b"]'),
        ("ok", 0, lambda: [new_event(data={"v": "x" * 300_000})], "events[0].data"),
        ("ok", 0, lambda: [new_event(event_type="")], "events[0].event_type"),
        ("ok", 0, lambda: [new_event(event_type=7)], "events[0].event_type"),
        ("ok", 0, lambda: [new_event(event_type="Hazard\x00Listed")], "events[0].event_type"),
        ("ok", 0, lambda: [new_event(event_type="Hazard\udc80")], "events[0].event_type"),
        ("ok", 0, lambda: [new_event(schema_version=0)], "events[0].schema_version"),
        ("ok", 0, lambda: [new_event(schema_version=2**31)], "events[0].schema_version"),
        ("ok", 0, lambda: [new_event(occurred_at=datetime(2026, 1, 1))], "events[0].occurred_at"),
        (
            "ok",
            0,
            lambda: [new_event(occurred_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))))],
            "events[0].occurred_at",
        ),
        (
            "ok",
            0,
            lambda: [
                new_event(metadata=EventMetadata("inspector-7", "inspector", extra={"n": 2**64}))
            ],
            "events[0].metadata.extra.n",
        ),
        (
            "ok",
            0,
            lambda: [new_event(metadata=EventMetadata("inspector-\ud800", "inspector"))],
            "events[0].metadata.actor_id",
        ),
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


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        ({"metadata": EventMetadata("someone-else", "admin")}, "differs in metadata"),
        ({"occurred_at": datetime(2026, 11, 2, 9, 31, tzinfo=UTC)}, "differs in occurred_at"),
        ({"event_type": "HazardWithdrawn"}, "differs in event_type"),
        ({"schema_version": 2}, "differs in schema_version"),
    ],
)
def test_reusing_an_event_id_with_other_metadata_time_or_type_is_refused(
    store: EventStore, change, difference
):
    stream = unique_stream()
    event = new_event()
    store.append(stream, 0, [event])
    head = store.head()
    altered = dataclasses.replace(event, **change)
    for expected in (1, None):
        with pytest.raises(EventIdReused, match=difference):
            store.append(stream, expected, [altered])
    assert store.head() == head


def test_nesting_deeper_than_the_limit_is_refused_without_a_recursion_error(store: EventStore):
    head = store.head()
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(InvalidAppend, match="nested more than") as caught:
        store.append(unique_stream(), 0, [new_event(data=deep)])
    assert caught.value.field.startswith("events[0].data.a.a.a")
    assert store.head() == head
    nested_ok: dict = {}
    node = nested_ok
    for _ in range(MAX_JSON_DEPTH - 1):
        node["a"] = {}
        node = node["a"]
    stream = unique_stream()
    store.append(stream, 0, [new_event(data=nested_ok)])
    assert store.read_stream(stream)[0].data == nested_ok


def test_the_extreme_64_bit_integers_come_back_as_the_same_integers(store: EventStore):
    stream = unique_stream()
    data = {"max": 2**63 - 1, "min": -(2**63), "one": 1, "float_one": 1.0, "yes": True}
    store.append(stream, 0, [new_event(data=data)])
    (stored,) = store.read_stream(stream)
    assert stored.data == data
    assert {key: type(value) for key, value in stored.data.items()} == {
        "max": int,
        "min": int,
        "one": int,
        "float_one": float,
        "yes": bool,
    }


def test_a_business_time_before_the_year_1000_verifies(store: EventStore):
    # strftime('%Y') writes "999" where verification's to_char writes "0999": a false alarm.
    stream = unique_stream()
    occurred = datetime(999, 3, 4, 5, 6, 7, 8, tzinfo=UTC)
    store.append(stream, 0, [new_event(occurred_at=occurred), new_event()])
    assert store.read_stream(stream)[0].occurred_at == occurred
    report = verify_stream(store.engine, stream)
    assert report.ok, report.first_break
    assert report.checked_events == 2


def test_names_that_need_escaping_hash_the_same_in_the_database_and_in_python(
    store: EventStore,
):
    stream = f'case-"引号"\\back/slash-😀-{uuid.uuid4().hex}'
    batch = [
        new_event('Type "quoted" \\ 类型'),
        new_event("Ωmega\u2028line-separator"),
        new_event(data={"text": 'line\nbreak "q" \\ \u0001 \u2028 😀'}),
    ]
    store.append(stream, 0, batch[:1])
    store.append(stream, 1, batch[1:])
    report = verify_stream(store.engine, stream)
    assert report.ok, report.first_break
    assert [e.event_type for e in store.read_stream(stream)] == [e.event_type for e in batch]


def test_appends_stay_correct_when_the_database_defaults_to_serializable(
    fresh_database_url: str,
):
    owner = create_owner_engine(fresh_database_url)
    database = make_url(fresh_database_url).database
    with owner.connect() as conn:
        conn.exec_driver_sql(
            f"ALTER DATABASE \"{database}\" SET default_transaction_isolation = 'serializable'"
        )
        conn.commit()
    owner.dispose()
    engine = create_app_engine(fresh_database_url, APP_ROLE, pool_size=6)
    store = EventStore(engine)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW default_transaction_isolation").scalar() == (
                "serializable"
            )
        shared = unique_stream("shared")
        errors: list[BaseException] = []
        barrier = threading.Barrier(4)

        def writer(index: int) -> None:
            own = unique_stream(f"own{index}")
            barrier.wait()
            try:
                for round_ in range(10):
                    store.append(shared, None, [new_event()])
                    store.append(own, 2 * round_, [new_event(), new_event()])
            except BaseException as exc:  # every failure is the finding
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert store.head().position == 4 * 10 * 3
        assert [e.position for e in store.read_all()] == list(range(1, 121))
        assert [e.stream_version for e in store.read_stream(shared)] == list(range(1, 41))
        assert verify_store(engine).ok
    finally:
        store.close()
        engine.dispose()


@pytest.mark.parametrize("batch_size", [1, 3])
def test_an_append_waits_for_the_store_wide_append_lock(
    store: EventStore, owner_engine, batch_size: int
):
    stream = unique_stream()
    done = threading.Event()
    outcome: list[object] = []

    def append() -> None:
        outcome.append(store.append(stream, 0, [new_event() for _ in range(batch_size)]))
        done.set()

    with owner_engine.connect() as holder:
        holder.exec_driver_sql("SELECT pg_advisory_xact_lock(%(k)s)", {"k": APPEND_LOCK_KEY})
        thread = threading.Thread(target=append)
        thread.start()
        waiting = 0
        for _ in range(200):  # until the append is seen queued behind the held lock
            waiting = holder.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND ((classid::bigint << 32) | objid::bigint) = %(k)s",
                {"k": APPEND_LOCK_KEY},
            ).scalar_one()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting == 1
        assert not done.is_set()
        holder.rollback()
    thread.join(timeout=30)
    assert done.is_set() and isinstance(outcome[0], AppendResult)
    assert outcome[0].stream_version == batch_size
