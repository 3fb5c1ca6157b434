"""``duban projections …``: rebuild the read models from the event store, or follow it."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from activities.projections import DEFAULT_BATCH_SIZE, BatchResult, Projector, rebuild
from api.cli.common import command_runtime, duban_typer, err_console

projections_app = duban_typer(help="Read models (读模型): rebuild them or keep them following.")

console = Console()
# A batch is one transaction and held in memory whole.
MAX_BATCH_SIZE = 100_000


@projections_app.command("rebuild")
def rebuild_command(
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, help="Events per transaction.", min=1, max=MAX_BATCH_SIZE
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Empty every read table and replay the whole event store into them."""
    runtime = command_runtime()
    try:
        total = runtime.store.head().position
        with Progress(
            TextColumn("rebuilding"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} events"),
            TimeElapsedColumn(),
            console=err_console,
            disable=as_json or not err_console.is_terminal,
        ) as progress:
            task = progress.add_task("rebuild", total=total)

            def advance(batch: BatchResult) -> None:
                progress.update(task, completed=batch.position)

            result = rebuild(runtime.engine, batch_size=batch_size, on_progress=advance)
    finally:
        runtime.close()
    rate = result.events / result.seconds if result.seconds > 0 else 0.0
    if as_json:
        figures = {
            "events": result.events,
            "applied": result.applied,
            "skipped": result.skipped,
            "position": result.position,
            "seconds": round(result.seconds, 3),
            "events_per_second": round(rate, 1),
        }
        sys.stdout.write(json.dumps(figures) + "\n")
        return
    console.print(
        f"rebuilt the read models: {result.applied} events applied, {result.skipped} skipped,"
        f" up to position {result.position} in {result.seconds:.1f} s ({rate:,.0f} events/s)"
    )


@projections_app.command("run")
def run_command(
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, help="Events per transaction.", min=1, max=MAX_BATCH_SIZE
    ),
) -> None:
    """Follow the event store and keep the read tables current until interrupted."""
    runtime = command_runtime()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    projector = Projector(runtime.store, batch_size=batch_size)
    started = time.perf_counter()
    console.print(f"following the event store from position {projector.position()}")
    try:
        projector.run(stop)
    finally:
        position = projector.position()
        runtime.close()
    console.print(f"stopped at position {position} after {time.perf_counter() - started:.1f} s")
