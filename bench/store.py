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

from activities.database import create_app_engine, create_owner_engine
from activities.eventstore import EventMetadata, EventStore, NewEvent, verify_store
from activities.logging import configure_logging
from bench.common import APP_ROLE, bench_database, report

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


def raw_insert_rate(url: str, count: int) -> float:
    owner = create_owner_engine(url)
    with owner.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE bench_raw_events (position bigserial PRIMARY KEY, stream_id text,"
            " stream_version integer, event_id uuid, event_type text, schema_version integer,"
            " data json, metadata json, occurred_at timestamptz, recorded_at timestamptz"
            " DEFAULT now(), prev_hash bytea, hash bytea)"
        )
    raw = owner.raw_connection()
    cursor = raw.cursor()
    payload = EventStore(owner)._validate("s", None, [event()])[0]
    started = time.perf_counter()
    for i in range(count):
        cursor.execute(
            "INSERT INTO bench_raw_events (stream_id, stream_version, event_id, event_type,"
            " schema_version, data, metadata, occurred_at, prev_hash, hash)"
            " VALUES (%s, %s, %s, %s, 1, %s, %s, %s, %s, %s)",
            (
                f"raw-{i % 50}",
                i,
                str(uuid.uuid4()),
                "RectificationReported",
                payload.data_text,
                payload.metadata_text,
                payload.occurred_at,
                b"\0" * 32,
                b"\0" * 32,
            ),
        )
        raw.commit()
    elapsed = time.perf_counter() - started
    raw.close()
    owner.dispose()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=3000, help="single-event appends")
    parser.add_argument("--batches", type=int, default=1000, help="100-event batch appends")
    args = parser.parse_args()
    configure_logging("WARNING")
    with bench_database() as url:
        raw_rate = raw_insert_rate(url, args.single)
        report("raw single-row INSERT (one tx each)", raw_rate, "rows/s")

        engine = create_app_engine(url, APP_ROLE)
        store = EventStore(engine)
        started = time.perf_counter()
        for i in range(args.single):
            store.append(f"single-{i % 50}", None, [event(i)])
        single_rate = args.single / (time.perf_counter() - started)
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
