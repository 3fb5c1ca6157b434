"""``duban audit …``: auditors' tools — history, replay, reconcile, dossier, verify, checkpoint."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from activities.eventstore import Checkpoint, CheckpointInvalid, verify_store, verify_stream
from activities.eventstore.checkpoint import (
    load_or_create_signing_key,
    load_public_key,
    sign_checkpoint,
    write_checkpoint_file,
)
from activities.logging import configure_logging
from activities.settings import Settings
from api.runtime import Runtime

audit_app = typer.Typer(help="Auditors' tools: verify the record, sign checkpoints.")

console = Console()
err_console = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _runtime() -> Runtime:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return Runtime(settings)


@audit_app.command("history")
def audit_history(hazard_id: str, as_json: JsonOption = False) -> None:
    """Every stored event of a case: position, time, actor, type, hashes."""
    from workflows.ids import case_stream_id

    runtime = _runtime()
    try:
        events = runtime.store.read_stream(case_stream_id(hazard_id))
    except ValueError as exc:
        err_console.print(f"[red]refused[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    if not events:
        err_console.print(f"[red]not found[/red] no events for hazard {hazard_id}")
        raise typer.Exit(1)
    if as_json:
        for e in events:
            sys.stdout.write(
                json.dumps(
                    {
                        "position": e.position,
                        "stream_version": e.stream_version,
                        "event_id": str(e.event_id),
                        "event_type": e.event_type,
                        "schema_version": e.schema_version,
                        "data": e.data,
                        "metadata": e.metadata,
                        "occurred_at": e.occurred_at.isoformat(),
                        "recorded_at": e.recorded_at.isoformat(),
                        "prev_hash": e.prev_hash.hex(),
                        "hash": e.hash.hex(),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        return
    table = Table("#", "position", "recorded at", "actor", "event", "hash", title=hazard_id)
    for e in events:
        table.add_row(
            str(e.stream_version),
            str(e.position),
            e.recorded_at.isoformat(),
            f"{e.metadata.get('actor_id')} ({e.metadata.get('actor_role')})",
            e.event_type,
            e.hash.hex()[:16],
        )
    console.print(table)


@audit_app.command("replay")
def audit_replay(
    hazard_id: str,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO 8601 instant with offset")
    ] = None,
    by: Annotated[str, typer.Option(help="recorded (what duban knew) or occurred")] = "recorded",
    as_json: JsonOption = False,
) -> None:
    """Rebuild a case's state from stored events only (the domain's evolve), as of an
    instant, and print its timeline: who, what, when, which rule and deadline."""
    from activities.audit.replay import replay_case

    instant = None
    if as_of is not None:
        try:
            instant = datetime.fromisoformat(as_of)
        except ValueError:
            err_console.print(f"[red]refused[/red] --as-of: {as_of!r} is not an ISO 8601 instant")
            raise typer.Exit(2) from None
        if instant.tzinfo is None:
            err_console.print("[red]refused[/red] --as-of: the instant needs a time zone offset")
            raise typer.Exit(2)
    if by not in ("recorded", "occurred"):
        err_console.print("[red]refused[/red] --by: recorded or occurred")
        raise typer.Exit(2)
    runtime = _runtime()
    try:
        replay = replay_case(runtime.store, hazard_id, instant, by)  # type: ignore[arg-type]
    finally:
        runtime.close()
    if replay.events_total == 0:
        err_console.print(f"[red]not found[/red] no events for hazard {hazard_id}")
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps(replay.to_data(), ensure_ascii=False, default=str) + "\n")
        return
    table = Table(
        "#",
        "when (recorded)",
        "who",
        "what",
        "rule / deadline",
        title=f"{hazard_id} as of {as_of or 'now'}",
    )
    for entry in replay.timeline:
        details = ", ".join(f"{k}={v}" for k, v in entry.details.items())
        table.add_row(
            str(entry.stream_version),
            entry.recorded_at,
            f"{entry.actor_id} ({entry.actor_role})",
            f"{entry.label} {entry.event_type}",
            details[:120],
        )
    console.print(table)
    state = replay.state
    if state is not None:
        console.print(
            f"state: {state.status.value}, deadline {state.deadline}, "
            f"level {state.supervising_level.value}, "
            f"listed {state.listing.level.value if state.listing else '-'}"
        )


@audit_app.command("reconcile")
def audit_reconcile(as_json: JsonOption = False) -> None:
    """Compare, for every open case, the state folded from the store with its live workflow's
    state; exit 1 on any difference."""
    import asyncio

    from activities.audit.reconcile import reconcile
    from activities.temporal_client import connect_temporal

    runtime = _runtime()

    async def run() -> tuple[int, list[Any]]:
        client = await connect_temporal(runtime.settings)
        return await reconcile(runtime.store, client)

    try:
        compared, found = asyncio.run(run())
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "compared": compared,
                    "differences": [
                        {
                            "hazard_id": d.hazard_id,
                            "path": d.path,
                            "stored": d.stored,
                            "live": d.live,
                        }
                        for d in found
                    ],
                },
                ensure_ascii=False,
                default=str,
            )
            + "\n"
        )
    else:
        console.print(f"compared {compared} open case(s): {len(found)} difference(s)")
        for difference in found:
            console.print(f"[red]DIFFERENT[/red] {difference}")
    if found:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    hazard_id: str,
    out: Annotated[Path | None, typer.Option(help="the archive to write")] = None,
    as_json: JsonOption = False,
) -> None:
    """一案一档: write the case's self-contained dossier (events, hash links, signed
    checkpoint, workflow history, printable timeline), verifiable offline."""
    from activities.audit.dossier import DossierError, export_dossier

    runtime = _runtime()
    settings = runtime.settings
    key = load_or_create_signing_key(settings.resolved_checkpoint_key_path)
    target = out or settings.data_dir / "dossiers" / f"case-{hazard_id}.zip"
    try:
        result = export_dossier(
            runtime.store,
            hazard_id,
            target,
            key,
            history_file=settings.data_dir / "histories" / f"{hazard_id}.json",
            time_zone=settings.time_zone,
        )
    except (DossierError, ValueError) as exc:
        err_console.print(f"[red]refused[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        console.print(
            f"dossier of {hazard_id}: {result['events']} events, chain to position "
            f"{result['checkpoint']}, written to {result['path']}"
        )


@audit_app.command("verify-dossier")
def audit_verify_dossier(archive: Path) -> None:
    """Check an exported dossier offline (no database): signatures, file hashes, the case's
    hash links and the chain up to the signed checkpoint. Exit 1 when anything fails."""
    from deploy.verify_dossier import DossierInvalid, verify_dossier

    try:
        verify_dossier(str(archive), out=sys.stdout)
    except DossierInvalid as exc:
        console.print(f"[red]INVALID[/red]: {exc}")
        raise typer.Exit(1) from exc
    console.print("[green]OK[/green]: the dossier is intact")


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
