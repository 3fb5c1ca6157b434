"""The fuzzer run: schemathesis (every check) against the API served by uvicorn over real HTTP,
as every role (one token each) and with no token, on a stack of its own: a fresh migrated
database, the Temporal dev server, a worker, the projector caught up, a small grid and a case.
The API is served through the event-loop guard (``tests/api/loop_guard.py``): a request that
reads the database on the loop's thread fails the run too.

``make fuzz`` runs it in full (``python -m tests.api.fuzz``); ``tests/api/test_api_fuzz.py``
runs a bounded version. It prints, per run, the requests sent and the failures by check, and
exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from temporalio.testing import WorkflowEnvironment

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = "tests.api.fuzz_checks"
ROLES = ("inspector", "enterprise", "supervisor", "auditor", "admin")
NO_TOKEN = "no token"
# What the full run sends per operation and generation phase (``make fuzz``).
FULL_MAX_EXAMPLES = 50
SEED = 20261208


@dataclass
class FuzzTarget:
    base: str  # http://127.0.0.1:PORT
    tokens: dict[str, str]
    hazard_id: str
    credit_code: str
    # Requests that read the database on the event loop (with the code that did).
    loop_violations: list[str] = field(default_factory=list)


@dataclass
class FuzzResult:
    """One schemathesis run: who, how many requests, failures by check, and its output."""

    who: str
    exit_code: int
    requests: int = 0
    test_cases: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    output: str = ""

    @property
    def failed(self) -> bool:
        return self.exit_code != 0 or bool(self.failures)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def fuzz_stack(url: str) -> AsyncIterator[FuzzTarget]:
    """Everything the API needs, in this process but for the Temporal dev server, over the
    migrated database ``url`` (one of its own: the run fills it with what the fuzzer sends)."""
    from activities.database import create_app_engine
    from activities.eventstore import EventStore
    from activities.projections import Projector
    from activities.settings import Settings
    from api.app import create_app
    from api.http_server import uvicorn_config
    from tests.api.conftest import build_grid, build_services
    from tests.api.loop_guard import loop_guard
    from tests.conftest import APP_ROLE
    from tests.fixtures.calendar_data import write_test_calendar
    from worker import build_worker
    from workflows import search_attributes

    engine = create_app_engine(url, APP_ROLE, pool_size=20)
    try:
        store = EventStore(engine)
        with (
            tempfile.TemporaryDirectory(prefix="duban-fuzz-") as data_dir,
            loop_guard(engine, check=False) as guard,
        ):
            settings = Settings(
                database_url=url,
                data_dir=Path(data_dir),
                calendar_file=write_test_calendar(),
                log_level="ERROR",
            )
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(BIN / "temporal"),
                search_attributes=search_attributes.ALL,
                dev_server_log_level="error",
            )
            queue = f"fuzz-{uuid.uuid4().hex[:8]}"
            parts = build_worker(env.client, settings, store, queue)
            services = build_services(env.client, settings, store, queue)
            grid = build_grid(services.reference, engine)
            port = free_port()
            server = uvicorn.Server(
                uvicorn_config(guard.wrap(create_app(services=services)), "127.0.0.1", port)
            )
            try:
                async with parts.worker:
                    serving = asyncio.create_task(server.serve())
                    while not server.started:
                        if serving.done():
                            serving.result()
                        await asyncio.sleep(0.05)
                    base = f"http://127.0.0.1:{port}"
                    hazard_id = await _a_case(base, grid)
                    Projector(store).catch_up()
                    tokens = {
                        "inspector": grid.tokens["inspector_a"],
                        "enterprise": grid.tokens["enterprise_a"],
                        "supervisor": grid.tokens["supervisor_a"],
                        "auditor": grid.tokens["auditor"],
                        "admin": grid.tokens["admin"],
                    }
                    try:
                        yield FuzzTarget(
                            base, tokens, hazard_id, grid.enterprise_a, guard.violations
                        )
                    finally:
                        server.should_exit = True
                        await serving
            finally:
                parts.executor.shutdown(wait=False)
                await env.shutdown()
        store.close()
    finally:
        engine.dispose()


async def _a_case(base: str, grid) -> str:  # type: ignore[no-untyped-def]
    """One open case, so that reads of a case and its audit trail have one to find."""
    body = {
        "credit_code": grid.enterprise_a,
        "category": "thing",
        "source": "grid_patrol",
        "description": "配电箱门未关闭, 线路裸露",
        "location": "一号车间",
        "found_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "measures": "更换配电箱",
        "responsible_person": "张三",
    }
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        answer = await client.post(
            "/api/v1/hazards", json=body, headers=grid.headers("inspector_a")
        )
    answer.raise_for_status()
    return str(answer.json()["hazard_id"])


def schemathesis_command(
    target: FuzzTarget,
    token: str | None,
    report: Path,
    *,
    max_examples: int,
    seed: int = SEED,
    workers: int = 1,
) -> list[str]:
    """The command line of one run: every check (schemathesis's and ``fuzz_checks``', loaded
    through SCHEMATHESIS_HOOKS), every phase but stateful (FastAPI's schema has no links to
    follow), reproducible by its seed."""
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{target.base}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        str(workers),
        "--request-timeout",
        "60",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--suppress-health-check",
        "all",
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    return command


def read_report(result: FuzzResult, report: Path) -> None:
    """Requests, statuses and failures by check from the run's NDJSON events."""
    if not report.exists():
        return
    for line in report.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished.get("recorder") or {}
        for interaction in (recorder.get("interactions") or {}).values():
            response = interaction.get("response")
            result.requests += 1
            if response is not None:
                result.statuses[int(response["status_code"])] += 1
        result.test_cases += len(recorder.get("cases") or {})
        for checks in (recorder.get("checks") or {}).values():
            for check in checks:
                if str(check.get("status")).lower() == "failure":
                    result.failures[check["name"]] += 1


async def run_fuzz(
    target: FuzzTarget,
    who: list[str],
    *,
    max_examples: int,
    seed: int = SEED,
    report_dir: Path,
    parallel: int = 1,
) -> list[FuzzResult]:
    """One schemathesis run per name in ``who`` (a role, or NO_TOKEN), ``parallel`` at once."""
    limit = asyncio.Semaphore(parallel)

    async def one(name: str) -> FuzzResult:
        token = None if name == NO_TOKEN else target.tokens[name]
        report = report_dir / f"fuzz-{name.replace(' ', '-')}.ndjson"
        command = schemathesis_command(target, token, report, max_examples=max_examples, seed=seed)
        async with limit:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=report_dir,
                env={**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(REPO)},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await process.communicate()
        result = FuzzResult(name, process.returncode or 0, output=output.decode(errors="replace"))
        read_report(result, report)
        return result

    return list(await asyncio.gather(*(one(name) for name in who)))


def summary(results: list[FuzzResult]) -> str:
    lines = []
    for r in results:
        failures = ", ".join(f"{k} {v}" for k, v in sorted(r.failures.items())) or "none"
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items()))
        lines.append(
            f"{r.who:>10}: {r.requests} requests, {r.test_cases} test cases, "
            f"exit {r.exit_code}, failures: {failures}; statuses {statuses}"
        )
    total = sum(r.requests for r in results)
    failed: Counter[str] = Counter()
    for r in results:
        failed.update(r.failures)
    lines.append(f"{'all':>10}: {total} requests, failures by check: {dict(failed) or 'none'}")
    return "\n".join(lines)


def _admin_url() -> tuple[str, contextlib.AbstractContextManager[object]]:
    configured = os.environ.get("DUBAN_TEST_DATABASE_URL")
    if configured:
        from activities.database import normalise_url

        return normalise_url(configured), contextlib.nullcontext()
    from activities.database import embedded_server_url

    holder = tempfile.TemporaryDirectory(prefix="duban-fuzz-pg-")
    url = embedded_server_url(Path(holder.name))

    @contextlib.contextmanager
    def stopping() -> object:
        from tests.conftest import _stop_embedded

        try:
            yield None
        finally:
            _stop_embedded(Path(holder.name))
            holder.cleanup()

    return url, stopping()


async def main_async(args: argparse.Namespace) -> int:
    from activities.logging import configure_logging

    configure_logging("ERROR", "console")
    from tests.conftest import DatabaseFactory

    admin_url, server = _admin_url()
    with server:
        databases = DatabaseFactory(admin_url)
        try:
            async with fuzz_stack(databases.create("fuzz")) as target:
                report_dir = Path(args.report_dir).resolve()
                report_dir.mkdir(parents=True, exist_ok=True)
                results = await run_fuzz(
                    target,
                    args.who,
                    max_examples=args.max_examples,
                    seed=args.seed,
                    report_dir=report_dir,
                    parallel=args.parallel,
                )
        finally:
            databases.drop_all()
    for result in results:
        if result.failed:
            print(result.output[-20000:])
    print(summary(results))
    for violation in target.loop_violations:
        print(violation)
    print(f"{'loop':>10}: {len(target.loop_violations)} request(s) read the database on the loop")
    return 1 if any(r.failed for r in results) or target.loop_violations else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=FULL_MAX_EXAMPLES)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--who", nargs="+", default=[*ROLES, NO_TOKEN])
    parser.add_argument("--report-dir", default=".fuzz")
    parser.add_argument("--parallel", type=int, default=2, help="schemathesis runs at once")
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
