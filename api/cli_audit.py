"""``duban audit …``: auditors' tools — history, replay, reconcile, dossier, verify, checkpoint."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from activities.eventstore import Checkpoint, CheckpointInvalid, VerificationReport, verify_store
from activities.eventstore.checkpoint import (
    key_fingerprint,
    load_public_key,
    public_key_bytes,
    sign_checkpoint,
    write_checkpoint_file,
)
from activities.settings import Settings
from api.cli_common import (
    command_runtime,
    display_zone,
    duban_typer,
    err_console,
    format_instant,
    refuse,
)
from api.stack import command_settings

audit_app = duban_typer(help="Auditors' tools: verify the record, sign checkpoints.")

console = Console()

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@audit_app.command("history")
def audit_history(hazard_id: str, as_json: JsonOption = False) -> None:
    """Every stored event of a case: position, time, actor, type, hashes."""
    from workflows.ids import case_stream_id

    runtime = command_runtime()
    try:
        events = runtime.store.read_stream(case_stream_id(hazard_id))
    except ValueError as exc:
        raise refuse(str(exc)) from exc
    finally:
        runtime.close()
    if not events:
        raise refuse(f"no events for hazard {hazard_id}", prefix="not found")
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
    zone = display_zone(runtime.settings)
    table = Table("#", "position", "recorded at", "actor", "event", "hash", title=hazard_id)
    for e in events:
        table.add_row(
            str(e.stream_version),
            str(e.position),
            format_instant(e.recorded_at, zone),
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

    instant = None if as_of is None else _as_of_instant(as_of)
    if by not in ("recorded", "occurred"):
        raise refuse("--by: recorded or occurred")
    runtime = command_runtime()
    try:
        replay = replay_case(runtime.store, hazard_id, instant, by)  # type: ignore[arg-type]
    finally:
        runtime.close()
    if replay.events_total == 0:
        raise refuse(f"no events for hazard {hazard_id}", prefix="not found")
    if as_json:
        sys.stdout.write(json.dumps(replay.to_data(), ensure_ascii=False, default=str) + "\n")
        return
    zone = display_zone(runtime.settings)
    table = Table(
        "#",
        "when (recorded)",
        "who",
        "what",
        "rule / deadline",
        title=f"{hazard_id} as of {format_instant(instant, zone) if instant else 'now'}",
    )
    for entry in replay.timeline:
        details = ", ".join(
            f"{k}={format_instant(v, zone) if isinstance(v, str) else v}"
            for k, v in entry.details.items()
        )
        table.add_row(
            str(entry.stream_version),
            format_instant(entry.recorded_at, zone),
            f"{entry.actor_id} ({entry.actor_role})",
            f"{entry.label} {entry.event_type}",
            details[:120],
        )
    console.print(table)
    state = replay.state
    if state is not None:
        console.print(
            f"state: {state.status.value}, deadline {format_instant(state.deadline, zone)}, "
            f"level {state.supervising_level.value}, "
            f"listed {state.listing.level.value if state.listing else '-'}"
        )


def _as_of_instant(text: str) -> datetime:
    """``--as-of``: an instant with its offset, in the years the domain knows (1900..9998:
    outside them converting to UTC could overflow)."""
    from domain.durations import utc_instant
    from domain.errors import DomainError

    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise refuse(f"--as-of: {text!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise refuse("--as-of: the instant needs a time zone offset")
    try:
        utc_instant(instant, "as_of")
    except DomainError as exc:
        raise refuse(f"--as-of: {exc.message} ({exc.rule})") from None
    return instant


@audit_app.command("reconcile")
def audit_reconcile(as_json: JsonOption = False) -> None:
    """Compare, for every open case, the state folded from the store with its live workflow's
    state; exit 1 on any difference."""
    import asyncio

    from activities.audit.reconcile import reconcile
    from activities.temporal_client import connect_temporal

    runtime = command_runtime()

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
            console.print("[red]DIFFERENT[/red] " + escape(str(difference)), soft_wrap=True)
    if found:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    hazard_id: str,
    out: Annotated[Path | None, typer.Option(help="the archive to write")] = None,
    allow_missing_history: Annotated[
        bool,
        typer.Option(
            "--allow-missing-history",
            help="Export even when the recorded workflow history file is missing (the "
            "dossier then says so).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """一案一档: write the case's self-contained dossier (events, hash links up to the kept
    hourly checkpoint that covers them, the workflow history, a printable timeline),
    verifiable offline with the bureau's public key."""
    from activities.audit.checkpoints import load_checkpoint_directory
    from activities.audit.dossier import DossierError, export_dossier
    from activities.audit.keys import signing_key

    runtime = command_runtime()
    settings = runtime.settings
    target = out or settings.data_dir / "dossiers" / f"case-{hazard_id}.zip"
    try:
        key = signing_key(settings)
        kept = load_checkpoint_directory(settings.resolved_checkpoint_dir, public_key_bytes(key))
        result = export_dossier(
            runtime.store,
            hazard_id,
            target,
            key,
            checkpoints=[checkpoint for _, checkpoint in kept],
            history_dir=settings.data_dir / "histories",
            allow_missing_history=allow_missing_history,
            time_zone=settings.time_zone,
        )
    except CheckpointInvalid as exc:
        raise refuse(str(exc), prefix="checkpoint refused:") from exc
    except (DossierError, ValueError) as exc:
        # What the record cannot support (no covering checkpoint, a broken link): exit 1.
        refuse(str(exc))
        raise typer.Exit(1) from exc
    except OSError as exc:
        raise refuse(f"--out: cannot write {exc.filename or target}: {exc.strerror}") from exc
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    signed = format_instant(result["checkpoint_signed_at"], display_zone(settings))
    console.print(
        f"dossier of {hazard_id}: {result['events']} events, chain to the checkpoint at "
        f"position {result['checkpoint']} (signed {signed}), written to {result['path']}",
        soft_wrap=True,
    )
    history = result["workflow_history"]
    if history.get("recorded") and not history.get("included"):
        err_console.print(
            f"[red]WARNING[/red] the workflow history is recorded but missing: "
            f"{history.get('problem')}"
        )


def _pinned_key(
    settings: Settings, public_key: Path | None, unpinned: bool
) -> tuple[bytes | None, str]:
    """The key checkpoints must be signed by, and a sentence saying where it came from."""
    from activities.audit.keys import trusted_public_key

    if public_key is not None:
        given = load_public_key(public_key)
        return given, f"pinned to {key_fingerprint(given)} ({public_key})"
    if unpinned:
        return None, "UNPINNED (--unpinned): any signer is accepted"
    configured = trusted_public_key(settings)
    if configured is None:
        return None, "UNPINNED: no signing key is configured or created yet"
    return configured, f"pinned to the configured signing key, {key_fingerprint(configured)}"


@audit_app.command("verify-dossier")
def audit_verify_dossier(
    archive: Path,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="The bureau's public key (PEM or hex) to pin."),
    ] = None,
    fingerprint: Annotated[
        str | None,
        typer.Option("--fingerprint", help="SHA-256 of the bureau's key (16+ hex digits)."),
    ] = None,
    unpinned: Annotated[
        bool, typer.Option("--unpinned", help="Do not pin the signer (says so).")
    ] = False,
) -> None:
    """Check an exported dossier offline (no database): signatures by the pinned key (default:
    the configured signing key's), file hashes, the case's hash links, the chain up to the
    kept checkpoint and the workflow history's recorded hash. Exit 1 when anything fails."""
    from deploy.verify_dossier import DossierInvalid, verify_dossier

    if not archive.is_file():
        raise refuse(f"ARCHIVE: {archive} is not a file")
    pinned: bytes | None = None
    if fingerprint is None:
        try:
            pinned, source = _pinned_key(
                command_settings(needs_database=False), public_key, unpinned
            )
        except CheckpointInvalid as exc:
            raise refuse(str(exc), prefix="key refused:") from exc
        console.print(f"signer: {source}")
    try:
        verify_dossier(str(archive), out=sys.stdout, public_key=pinned, key_fingerprint=fingerprint)
    except DossierInvalid as exc:
        console.print("[red]INVALID[/red]: " + escape(str(exc)), soft_wrap=True)
        raise typer.Exit(1) from exc
    console.print("[green]OK[/green]: the dossier is intact")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", "-c", help="Another signed checkpoint file to check against."),
    ] = None,
    no_checkpoints: Annotated[
        bool,
        typer.Option(
            "--no-checkpoints", help="Skip the kept checkpoints in the checkpoint directory."
        ),
    ] = False,
    stream: Annotated[
        str | None, typer.Option("--stream", help="Verify only this stream's events.")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Pin the checkpoint signer's key (PEM or hex)."),
    ] = None,
    unpinned: Annotated[
        bool, typer.Option("--unpinned", help="Accept checkpoints signed by any key.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Recompute the hash chain from genesis and check it passes through every kept checkpoint
    (the checkpoint directory, signer pinned to the configured key); exit 1 at the first
    broken link, naming its position and stream. With --stream: that stream's events, and the
    links from its last event to the newest checkpoint (a truncated tail shows)."""
    from activities.audit.checkpoints import (
        load_checkpoint_directory,
        verify_stream_against_checkpoints,
    )

    runtime = command_runtime()
    settings = runtime.settings
    try:
        pinned, pin_source = _pinned_key(settings, public_key, unpinned)
        sources: list[tuple[Path, Checkpoint]] = []
        if not no_checkpoints:
            sources += load_checkpoint_directory(settings.resolved_checkpoint_dir, pinned)
        for path in checkpoint or []:
            loaded = Checkpoint.load(path)
            try:
                loaded.verify_signature(pinned)
            except CheckpointInvalid as exc:
                raise CheckpointInvalid(f"{path}: {exc}") from exc
            sources.append((path, loaded))
    except CheckpointInvalid as exc:
        runtime.close()
        raise refuse(str(exc), prefix="checkpoint refused:") from exc
    unique: dict[tuple[int, bytes], Checkpoint] = {}
    for _, cp in sources:
        unique.setdefault((cp.position, cp.hash), cp)
    checkpoints = sorted(unique.values(), key=lambda cp: cp.position)
    if not as_json:
        console.print(f"checkpoint signer: {pin_source}")
        console.print(
            f"{len(checkpoints)} checkpoint(s) to check against"
            + (" (--no-checkpoints)" if no_checkpoints else "")
        )
    report: VerificationReport
    if stream is not None:
        report = verify_stream_against_checkpoints(runtime.engine, stream, checkpoints)
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
                trusted_public_key=pinned,
                on_progress=lambda done: progress.update(task, completed=done),
            )
    result = {
        "ok": report.ok,
        "scope": report.scope,
        "checked_events": report.checked_events,
        "streams": report.streams,
        "last_position": report.last_position,
        "last_hash": report.last_hash.hex(),
        "checkpoints_given": len(checkpoints),
        "checkpoints_checked": report.checkpoints_checked,
        "signer": pin_source,
        "pinned": pinned is not None,
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
    """Verify the whole chain (from genesis, through every kept checkpoint), then sign the
    verified head (position, hash, time) with the Ed25519 key kept outside the database and
    write it where an auditor can keep it. A broken chain is refused: nothing is signed."""
    from activities.audit.checkpoints import load_checkpoint_directory
    from activities.audit.keys import signing_key

    runtime = command_runtime()
    settings = runtime.settings
    target = directory or settings.resolved_checkpoint_dir
    try:
        key = signing_key(settings)
        trusted = public_key_bytes(key)
        directories = {settings.resolved_checkpoint_dir, target}
        kept = [cp for d in directories for _, cp in load_checkpoint_directory(d, trusted)]
    except CheckpointInvalid as exc:
        runtime.close()
        raise refuse(str(exc), prefix="checkpoint refused:") from exc
    report = verify_store(runtime.engine, kept, trusted_public_key=trusted)
    if not report.ok:
        runtime.close()
        err_console.print(
            f"[red]BROKEN[/red] at {report.first_break}; nothing was signed", soft_wrap=True
        )
        raise typer.Exit(1)
    # Sign exactly the head that was verified, not whatever the head is by now.
    checkpoint = sign_checkpoint(key, report.last_position, report.last_hash, datetime.now(UTC))
    runtime.close()
    try:
        path = write_checkpoint_file(checkpoint, target)
    except OSError as exc:
        raise refuse(f"--dir: cannot write {exc.filename or target}: {exc.strerror}") from exc
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "path": str(path),
                    "verified_events": report.checked_events,
                    **json.loads(checkpoint.to_json()),
                }
            )
            + "\n"
        )
    else:
        console.print(
            f"verified {report.checked_events} events; checkpoint at position "
            f"{checkpoint.position} written to {path}"
        )
