"""The ``duban`` command line: one entry point for operators, supervisors and auditors."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from activities.database import current_revision, database_url_for_display
from activities.eventstore import Checkpoint, CheckpointInvalid, verify_store, verify_stream
from activities.eventstore.checkpoint import (
    load_or_create_signing_key,
    load_public_key,
    sign_checkpoint,
    write_checkpoint_file,
)
from activities.logging import configure_logging
from activities.settings import Settings
from api.cli_projections import projections_app
from api.runtime import Runtime

app = typer.Typer(help="duban 督办 — durable supervision of workplace-safety hazards.")
audit_app = typer.Typer(help="Auditors' tools: verify the record, sign checkpoints.")
app.add_typer(audit_app, name="audit")
app.add_typer(projections_app, name="projections")

console = Console()
err_console = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _runtime() -> Runtime:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return Runtime(settings)


@app.command()
def migrate() -> None:
    """Create or upgrade duban's tables (Alembic migrations; the only way tables are made)."""
    runtime = _runtime()
    runtime.migrate()
    console.print(
        f"database {database_url_for_display(runtime.database_url)} at revision "
        f"{current_revision(runtime.database_url)}"
    )


@app.command()
def up() -> None:
    """Start what duban needs on this machine: the database (embedded unless configured) and
    its schema."""
    runtime = _runtime()
    runtime.migrate()
    head = runtime.store.head()
    console.print(f"database: {database_url_for_display(runtime.database_url)}")
    console.print(f"event store: {head.position} events, head {head.hash.hex()[:16]}…")
    runtime.close()


@app.command()
def worker() -> None:
    """Run a worker: the case and credit workflows and their activities, on the task queue
    from settings, against DUBAN_TEMPORAL_ADDRESS (default 127.0.0.1:7233)."""
    import asyncio

    from worker import run_worker

    settings = Settings()
    asyncio.run(run_worker(settings))


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", "-c", help="A signed checkpoint file to check against."),
    ] = None,
    stream: Annotated[
        str | None, typer.Option("--stream", help="Verify only this stream's events.")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Pin the checkpoint signer's key (PEM or hex)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the hash chain from genesis; exit 1 at the first broken link."""
    runtime = _runtime()
    try:
        pinned = load_public_key(public_key) if public_key else None
        checkpoints = [Checkpoint.load(path) for path in checkpoint or []]
        for path, cp in zip(checkpoint or [], checkpoints, strict=True):
            cp.verify_signature(pinned)
            if not as_json:
                console.print(f"checkpoint {path}: signature good, position {cp.position}")
    except CheckpointInvalid as exc:
        err_console.print(f"[red]checkpoint refused:[/red] {exc}")
        raise typer.Exit(2) from exc
    if stream is not None:
        report = verify_stream(runtime.engine, stream)
    else:
        total = runtime.store.head().position
        with Progress(
            TextColumn("verifying"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} events"),
            TimeElapsedColumn(),
            console=err_console,
            disable=as_json or not err_console.is_terminal,
        ) as progress:
            task = progress.add_task("verify", total=total)
            report = verify_store(
                runtime.engine,
                checkpoints,
                on_progress=lambda done: progress.update(task, completed=done),
            )
    result = {
        "ok": report.ok,
        "scope": report.scope,
        "checked_events": report.checked_events,
        "streams": report.streams,
        "last_position": report.last_position,
        "last_hash": report.last_hash.hex(),
        "checkpoints_checked": report.checkpoints_checked,
        "first_break": None
        if report.first_break is None
        else {
            "position": report.first_break.position,
            "stream_id": report.first_break.stream_id,
            "reason": report.first_break.reason,
        },
    }
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        console.print(
            f"checked {report.checked_events} events in {report.streams} stream(s) "
            f"({report.scope}); last position {report.last_position}, "
            f"hash {report.last_hash.hex()}"
        )
        if report.checkpoints_checked:
            console.print(f"checkpoints passed at positions {report.checkpoints_checked}")
        if report.first_break is None:
            console.print("[green]OK[/green]: every link recomputes; nothing altered")
        else:
            console.print(f"[red]BROKEN[/red] at {report.first_break}")
    runtime.close()
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to write it (default: settings).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Sign the current head (position, hash, time) with the Ed25519 key kept outside the
    database, and write it to a file an auditor can keep."""
    runtime = _runtime()
    key = load_or_create_signing_key(runtime.settings.resolved_checkpoint_key_path)
    head = runtime.store.head()
    checkpoint = sign_checkpoint(key, head.position, head.hash, datetime.now(UTC))
    path = write_checkpoint_file(checkpoint, directory or runtime.settings.resolved_checkpoint_dir)
    runtime.close()
    if as_json:
        sys.stdout.write(json.dumps({"path": str(path), **json.loads(checkpoint.to_json())}) + "\n")
    else:
        console.print(f"checkpoint at position {checkpoint.position} written to {path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
