"""Console benchmark: how long the supervisor's pages take to answer with 10,000 cases in
scope (prints figures; not a test).

    .venv/bin/python -m bench.console [--cases N] [--rounds R]

1. Generates N case streams (default 10,000) cloned from histories the domain decided
   (``bench.projections.Generator``: on-time closure, missed deadline and escalation, a listed
   major hazard, 立改立销, withdrawal), over the 200 villages of one province; a third of them
   stop after registration and notice, so they are open (and, their 2025 deadlines past,
   overdue). The read models catch up.
2. A supervisor of the province (every case in scope) signs in; the app answers in process
   (ASGI, no network): the 工作台 (first page, an urgency, a page deep in the list, a grid
   unit's subtree), a closed case's page (answered from the event store: its workflow is gone,
   as retention leaves it), and the live fragment's "nothing new" answer (204). Each is asked
   R times; p50 / p95 / max are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

from activities.database import create_app_engine
from activities.eventstore import EventStore
from activities.logging import configure_logging
from activities.projections import Projector
from activities.reference_data import ReferenceData
from activities.settings import Settings
from api.app import create_app
from api.passwords import hash_password
from api.services import Services
from bench.common import APP_ROLE, bench_database, report
from bench.projections import POLICY, Generator
from domain.calendar import WorkingCalendar

PASSWORD = "bench password 10k"
TEMPORAL_TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


def generate(store: EventStore, generator: Generator, cases: int) -> int:
    reference = ReferenceData(store.engine, store)
    seen: set[str] = set()
    for path in generator.paths:
        for unit in reversed(path):
            if unit.code not in seen:
                reference.add_grid_unit(unit, "bench")
                seen.add(unit.code)
    opened = 0
    while generator.cases < cases:
        stream, events = generator.case_events()
        if generator.cases % 3 == 0 and len(events) > 2:
            events = events[:2]  # registration and notice: an open case
            opened += 1
        store.append(stream, 0, events)
    return opened


async def timed(client: httpx.AsyncClient, path: str, rounds: int, status: int = 200) -> None:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == status, (path, answer.status_code, answer.text[:500])
    times.sort()
    name = path if len(path) <= 40 else path[:37] + "..."
    report(f"{name} p50", statistics.median(times), "ms")
    report(f"{name} p95", times[max(0, int(len(times) * 0.95) - 1)], "ms")
    report(f"{name} max", times[-1], "ms")


async def measure(url: str, store: EventStore, rounds: int) -> None:
    from temporalio.testing import WorkflowEnvironment

    with tempfile.TemporaryDirectory(prefix="duban-bench-console-") as tmp:
        settings = Settings(database_url=url, data_dir=Path(tmp), log_level="WARNING")
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(TEMPORAL_TEST_SERVER)
            if TEMPORAL_TEST_SERVER.exists()
            else None
        )
        try:
            services = Services(
                engine=store.engine,
                store=store,
                reference=ReferenceData(store.engine, store),
                temporal=env.client,
                task_queue=f"bench-{uuid.uuid4().hex[:8]}",
                policy=POLICY,
                calendar=WorkingCalendar(),
            )
            with store.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO accounts (login, display_name, role, scope, password_hash)"
                        " VALUES ('bench-supervisor', '省厅 督办', 'supervisor', 'P37', :h)"
                    ),
                    {"h": hash_password(PASSWORD)},
                )
                closed = conn.execute(
                    sa.text("SELECT hazard_id FROM case_view WHERE NOT is_open ORDER BY 1 LIMIT 1")
                ).scalar_one()
                version = conn.execute(
                    sa.text("SELECT version FROM case_view WHERE hazard_id = :h"), {"h": closed}
                ).scalar_one()
            app = create_app(settings, services=services)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                page = await client.get("/console/sign-in")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                assert token is not None
                signed = await client.post(
                    "/console/sign-in",
                    data={
                        "login": "bench-supervisor",
                        "password": PASSWORD,
                        "csrf_token": token[1],
                    },
                )
                assert signed.status_code == 303, signed.text[:500]
                first = await client.get("/console/workbench")
                counts = re.findall(r'id="count-(\w+)">(\d+)<', first.text)
                print("#   工作台 counts: " + ", ".join(f"{k} {v}" for k, v in counts))
                await timed(client, "/console/workbench", rounds)
                await timed(client, "/console/workbench?urgency=overdue", rounds)
                await timed(client, "/console/workbench?offset=5000", rounds)
                await timed(client, "/console/workbench?grid_unit=P37-C0-X0", rounds)
                await timed(client, f"/console/cases/{closed}", rounds)
                await timed(client, f"/console/cases/{closed}/live?version={version}", rounds, 204)
        finally:
            await env.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000, help="cases in the scope")
    parser.add_argument("--rounds", type=int, default=20, help="times each page is asked")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with bench_database() as url:
        engine = create_app_engine(url, APP_ROLE, pool_size=8)
        store = EventStore(engine)
        generator = Generator(store)
        started = time.perf_counter()
        opened = generate(store, generator, args.cases)
        report("generation: cases", generator.cases, "cases")
        report("generation: of them open", opened, "cases")
        report("generation: time", time.perf_counter() - started, "s")
        started = time.perf_counter()
        Projector(store).catch_up()
        report("catch-up: time", time.perf_counter() - started, "s")
        asyncio.run(measure(url, store, args.rounds))
        store.close()
        engine.dispose()


if __name__ == "__main__":
    main()
