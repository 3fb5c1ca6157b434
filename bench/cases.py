"""Case-workflow benchmark on the real Temporal dev server (SQLite file) and PostgreSQL.

    .venv/bin/python -m bench.cases [--cases N] [--same-deadline M] [--sqlite wal,wal-full,default]
    .venv/bin/python -m bench.cases --ceiling-only --sqlite default,wal-full,wal [--activities A]

Prints: full lifecycles per second (register → notice → report → verify → close), the
ceiling of the same engine (a trivial workflow running the same number of no-op activities
and updates), and, for M cases whose deadlines fall at the same instant, the lateness of their
escalation (DeadlineMissed recorded_at - deadline): p50, p99, max.
Target (issue [case]): lifecycle rate at least half the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.database import create_app_engine
from activities.eventstore import EventStore
from activities.logging import configure_logging
from activities.settings import Settings
from api.up_parts import DEV_SERVER_SQLITE_PRAGMAS, dev_server_db_args
from bench.common import APP_ROLE, bench_database, report
from bench.trivial import TrivialWorkflow, noop
from domain.case import command_to_data
from domain.case.commands import Actor, ReportRectification, Role, VerifyRectification
from domain.case.events import Evidence
from domain.credit_code import make_credit_code
from tests.domain.domain_builders import ENTERPRISE, SUPERVISOR, register
from tests.fixtures.calendar_data import write_test_calendar
from worker import build_worker, workflow_runner
from workflows import search_attributes
from workflows.case import SupervisedCaseWorkflow
from workflows.contracts import CaseCommandInput, CaseWorkflowInput
from workflows.ids import case_stream_id, case_workflow_id

BIN = Path(sys.executable).parent
# TEST DATA for the years chinese-calendar does not know (weekends and New Year's Day only).
CALENDAR = write_test_calendar()
# The dev server's SQLite pragmas: those `duban up` starts it with (wal), WAL alone with
# SQLite's default synchronous=full (wal-full), or none at all (default: a rollback journal).
SQLITE_VARIANTS: dict[str, tuple[str, ...]] = {
    "wal": DEV_SERVER_SQLITE_PRAGMAS,
    "wal-full": ("journal_mode=wal",),
    "default": (),
}
PHOTO = Evidence("s3://evidence/after.jpg", "b" * 64)


def registration(hazard_id: str, **overrides: object) -> CaseWorkflowInput:
    enterprise = replace(
        ENTERPRISE, credit_code=make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    )
    command = register(
        hazard_id=hazard_id,
        enterprise=enterprise,
        found_at=datetime.now(UTC) - timedelta(hours=1),
        **overrides,
    )
    return CaseWorkflowInput(command_to_data(command))


def nearest_rank(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending list (p99 of 200 values: the 198th)."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def lifecycle(client, queue: str, hazard_id: str) -> None:  # type: ignore[no-untyped-def]
    handle = await client.start_workflow(
        SupervisedCaseWorkflow.run,
        registration(hazard_id),
        id=case_workflow_id(hazard_id),
        task_queue=queue,
    )
    await handle.execute_update(
        SupervisedCaseWorkflow.report_rectification,
        CaseCommandInput(
            command_to_data(
                ReportRectification(
                    actor=Actor("ent", Role.ENTERPRISE), summary="已整改", evidence=(PHOTO,)
                )
            )
        ),
    )
    await handle.execute_update(
        SupervisedCaseWorkflow.verify_rectification,
        CaseCommandInput(command_to_data(VerifyRectification(actor=SUPERVISOR, passed=True))),
    )
    await handle.result()


async def trivial(client, queue: str, activities: int) -> None:  # type: ignore[no-untyped-def]
    handle = await client.start_workflow(
        TrivialWorkflow.run, activities, id=f"trivial-{uuid.uuid4().hex}", task_queue=queue
    )
    await handle.execute_update(TrivialWorkflow.poke)
    await handle.execute_update(TrivialWorkflow.poke)
    await handle.result()


async def run(args: argparse.Namespace, database_url: str) -> None:
    """One run per SQLite variant asked for, one after another on the same machine."""
    for variant in args.sqlite:
        pragmas = SQLITE_VARIANTS[variant]
        print(f"# dev server SQLite: {variant} ({', '.join(pragmas) or 'no --sqlite-pragma'})")
        await run_variant(args, database_url, pragmas)


async def run_variant(
    args: argparse.Namespace, database_url: str, pragmas: tuple[str, ...]
) -> None:
    with tempfile.TemporaryDirectory(prefix="duban-bench-temporal-") as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            search_attributes=search_attributes.ALL,
            dev_server_extra_args=dev_server_db_args(Path(tmp) / "temporal.db", pragmas),
            dev_server_log_level="error",
        )
        engine = create_app_engine(database_url, APP_ROLE, pool_size=20)
        store = EventStore(engine)
        settings = Settings(database_url=database_url, data_dir=Path(tmp), calendar_file=CALENDAR)
        queue = "bench-cases"
        parts = build_worker(env.client, settings, store, queue)
        client = env.client
        async with (
            parts.worker,
            Worker(
                client,
                task_queue="bench-trivial",
                workflows=[TrivialWorkflow],
                activities=[noop],
                workflow_runner=workflow_runner(),
            ),
        ):
            if args.ceiling_only:
                await trivial_ceiling(client, args.cases, args.activities)
                parts.executor.shutdown(wait=False)
                store.close()
                engine.dispose()
                await env.shutdown()
                return
            await lifecycle(client, queue, f"H-warm-{uuid.uuid4().hex[:6]}")
            first = f"H-bench-{uuid.uuid4().hex[:6]}-0"
            started = time.perf_counter()
            await asyncio.gather(
                *(lifecycle(client, queue, f"{first[:-2]}-{i}") for i in range(args.cases))
            )
            lifecycle_rate = args.cases / (time.perf_counter() - started)
            history = await client.get_workflow_handle(case_workflow_id(first)).fetch_history()
            activity_count = sum(
                1 for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
            )
            events_per_case = len(store.read_stream(case_stream_id(first)))

            started = time.perf_counter()
            await asyncio.gather(
                *(trivial(client, "bench-trivial", activity_count) for _ in range(args.cases))
            )
            ceiling = args.cases / (time.perf_counter() - started)
            report(
                f"full case lifecycle, {args.cases} cases concurrently",
                lifecycle_rate,
                "cases/s",
                f">= half the ceiling; ratio {lifecycle_rate / ceiling:.2f}",
            )
            report(
                f"ceiling: trivial workflow, {activity_count} activities + 2 updates",
                ceiling,
                "workflows/s",
            )
            print(
                f"# per case: {activity_count} activities, {events_per_case} stored events,"
                f" {len(history.events)} history events"
            )

            deadline = datetime.now(UTC) + timedelta(seconds=max(20, args.same_deadline // 10))
            ids = [f"H-same-{uuid.uuid4().hex[:6]}-{i}" for i in range(args.same_deadline)]
            await asyncio.gather(
                *(
                    client.start_workflow(
                        SupervisedCaseWorkflow.run,
                        registration(h, deadline=deadline),
                        id=case_workflow_id(h),
                        task_queue=queue,
                    )
                    for h in ids
                )
            )
            await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()))
            lateness: list[float] = []
            for _ in range(600):
                lateness = []
                for hazard_id in ids:
                    missed = [
                        e
                        for e in store.read_stream(case_stream_id(hazard_id))
                        if e.event_type == "DeadlineMissed"
                    ]
                    if missed:
                        lateness.append((missed[0].recorded_at - deadline).total_seconds())
                if len(lateness) == len(ids):
                    break
                await asyncio.sleep(0.5)
            if len(lateness) < len(ids):
                # A partial figure would flatter the engine: say so and fail the run.
                print(
                    f"# FAILED: only {len(lateness)} of {len(ids)} cases escalated within"
                    " 300 s of their deadline",
                    file=sys.stderr,
                )
                raise SystemExit(1)
            lateness.sort()
            report(
                f"escalation lateness, {len(ids)} cases due at one instant: p50",
                statistics.median(lateness) * 1000,
                "ms",
            )
            report("  p99", nearest_rank(lateness, 0.99) * 1000, "ms")
            report("  max", lateness[-1] * 1000, "ms")
            for hazard_id in ids:
                await client.get_workflow_handle(case_workflow_id(hazard_id)).terminate("bench")
        parts.executor.shutdown(wait=False)
        store.close()
        engine.dispose()
        await env.shutdown()


async def trivial_ceiling(client, cases: int, activities: int) -> None:  # type: ignore[no-untyped-def]
    """The trivial workflow alone: the dev server's ceiling for this shape."""
    await trivial(client, "bench-trivial", activities)
    started = time.perf_counter()
    await asyncio.gather(*(trivial(client, "bench-trivial", activities) for _ in range(cases)))
    report(
        f"ceiling: trivial workflow, {activities} activities + 2 updates, {cases} concurrently",
        cases / (time.perf_counter() - started),
        "workflows/s",
    )


def sqlite_variants(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in SQLITE_VARIANTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown variant {', '.join(unknown)}; known: {', '.join(SQLITE_VARIANTS)}"
        )
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--same-deadline", type=int, default=200)
    parser.add_argument(
        "--sqlite",
        type=sqlite_variants,
        default=["wal"],
        help="the dev server's SQLite pragmas, one run each in turn: wal (duban up's), wal-full,"
        " default; comma-separated",
    )
    parser.add_argument(
        "--ceiling-only",
        action="store_true",
        help="only the trivial workflow (--cases of them, --activities each)",
    )
    parser.add_argument("--activities", type=int, default=7, help="with --ceiling-only")
    args = parser.parse_args()
    configure_logging("WARNING")
    with bench_database() as url:
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
