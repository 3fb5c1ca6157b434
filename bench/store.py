"""Event-store benchmark: prints figures on one database in one run (not a test).

    .venv/bin/python -m bench.store [--single N] [--batches N]

Targets on a 2-core machine (issue [store]): single-event appends >= half the raw INSERT
rate; 100-event batches >= 10,000 events/s; a 1,000-event stream read and folded in < 10 ms;
verification >= 50,000 events/s.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg2

from activities.database import create_app_engine, create_owner_engine
from activities.eventstore import EventMetadata, EventStore, NewEvent, canonical_json, verify_store
from activities.logging import configure_logging
from bench.common import APP_ROLE, bench_database, report

ROUNDS = 6  # raw and append rounds, alternated
METADATA = EventMetadata("bench", "system", workflow_id="case-bench", run_id="run-1")
DATA = {
    "hazard_id": "H-2026-000123",
    "description": "配电箱未接地，电缆老化裸露",
    "deadline": "2026-12-01T15:59:59.999999Z",
    "level": "county",
    "evidence": [{"uri": "s3://evidence/1.jpg", "sha256": "ab" * 32}],
}


def event(n: int = 0) -> NewEvent:
    return NewEvent(
        uuid.uuid4(), "RectificationReported", {**DATA, "n": n}, METADATA, datetime.now(UTC)
    )


class RawInserts:
    """The reference: single-row INSERTs into a table of the events' shape, in their fastest
    fair form — autocommit (one round trip and one commit per row), a prepared statement, the
    same columns and values — and none of the store's guarantees (no lock, no head read, no
    hash chain, no notification, no unique event id)."""

    def __init__(self, url: str) -> None:
        self._owner = create_owner_engine(url)
        with self._owner.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE bench_raw_events (position bigint PRIMARY KEY, stream_id text,"
                " stream_version integer, event_id uuid, event_type text,"
                " schema_version integer, data json, metadata json, occurred_at timestamptz,"
                " recorded_at timestamptz, prev_hash bytea, hash bytea)"
            )
        self._raw = self._owner.raw_connection()
        self._connection: Any = self._raw.driver_connection
        self._connection.autocommit = True
        self._cursor = self._connection.cursor()
        self._cursor.execute(
            "PREPARE bench_raw_insert (bigint, text, integer, uuid, text, integer, json, json,"
            " timestamptz, bytea, bytea) AS INSERT INTO bench_raw_events (position, stream_id,"
            " stream_version, event_id, event_type, schema_version, data, metadata,"
            " occurred_at, recorded_at, prev_hash, hash)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp(), $10, $11)"
        )
        payload = event()
        self._data_text = canonical_json(dict(payload.data))
        self._metadata_text = canonical_json(payload.metadata.to_data())
        self._occurred_at = payload.occurred_at
        self._inserted = 0

    def insert(self, count: int) -> float:
        """Insert ``count`` rows; the seconds it took."""
        digest = psycopg2.Binary(b"\0" * 32)
        started = time.perf_counter()
        for _ in range(count):
            self._inserted += 1
            self._cursor.execute(
                "EXECUTE bench_raw_insert (%s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s)",
                (
                    self._inserted,
                    f"raw-{self._inserted % 50}",
                    self._inserted // 50 + 1,
                    str(uuid.uuid4()),
                    "RectificationReported",
                    self._data_text,
                    self._metadata_text,
                    self._occurred_at,
                    digest,
                    digest,
                ),
            )
        return time.perf_counter() - started

    def close(self) -> None:
        self._cursor.close()
        self._connection.autocommit = False
        self._raw.close()
        self._owner.dispose()


def single_appends(store: EventStore, first: int, count: int) -> float:
    """Append ``count`` single events, one transaction each; the seconds it took."""
    started = time.perf_counter()
    for i in range(first, first + count):
        store.append(f"single-{i % 50}", None, [event(i)])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=3000, help="single-event appends")
    parser.add_argument("--batches", type=int, default=1000, help="100-event batch appends")
    args = parser.parse_args()
    configure_logging("WARNING")
    with bench_database() as url:
        engine = create_app_engine(url, APP_ROLE)
        store = EventStore(engine)
        raw = RawInserts(url)
        # Alternate rounds of the two, so that both meet the same load from anything else
        # running on the machine: the ratio is the figure that matters.
        raw_seconds = append_seconds = 0.0
        chunk = max(1, args.single // ROUNDS)
        for round_ in range(ROUNDS):
            raw_seconds += raw.insert(chunk)
            append_seconds += single_appends(store, round_ * chunk, chunk)
        raw.close()
        raw_rate = chunk * ROUNDS / raw_seconds
        single_rate = chunk * ROUNDS / append_seconds
        report("raw single-row INSERT (autocommit, prepared)", raw_rate, "rows/s")
        report(
            "append, single event (one tx each)",
            single_rate,
            "events/s",
            f">= {raw_rate / 2:,.0f} = half raw; ratio {single_rate / raw_rate:.2f}",
        )

        started = time.perf_counter()
        for i in range(args.batches):
            store.append(f"batch-{i}", 0, [event(n) for n in range(100)])
        batch_rate = args.batches * 100 / (time.perf_counter() - started)
        report("append, 100-event batches", batch_rate, "events/s", ">= 10,000")

        long_stream = "case-long"
        for start in range(0, 1000, 100):
            store.append(long_stream, start, [event(n) for n in range(start, start + 100)])
        timings = []
        for _ in range(30):
            started = time.perf_counter()
            events = store.read_stream(long_stream)
            state: dict[str, object] = {}
            for recorded in events:  # the shape of a fold: one pass, one small update each
                state = {**state, "last": recorded.data["n"], "version": recorded.stream_version}
            timings.append((time.perf_counter() - started) * 1000)
        assert state["version"] == 1000
        report(
            "read_stream + fold, 1,000-event stream (median)",
            statistics.median(timings),
            "ms",
            "< 10 ms",
        )

        total = store.head().position
        started = time.perf_counter()
        result = verify_store(engine)
        elapsed = time.perf_counter() - started
        assert result.ok and result.checked_events == total
        report(
            f"verify chain from genesis ({total:,} events)",
            total / elapsed,
            "events/s",
            ">= 50,000",
        )
        store.close()
        engine.dispose()


if __name__ == "__main__":
    main()
