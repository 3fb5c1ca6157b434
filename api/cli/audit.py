"""``duban audit …``: auditors' tools. Here a case's record — its history, its state replayed
as of an instant, the reconciliation of the store with the live workflows, its dossier (一案一档);
the hash chain and its signed checkpoints are ``audit_chain.py``'s (the same group)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from activities.eventstore import CheckpointInvalid
from api.cli.audit_chain import chain_app
from api.cli.common import (
    JsonOption,
    command_runtime,
    display_zone,
    duban_typer,
    err_console,
    format_instant,
    refuse,
)

audit_app = duban_typer(help="Auditors' tools: verify the record, sign checkpoints.")

console = Console()


@audit_app.command("history")
def audit_history(hazard_id: str, as_json: JsonOption = False) -> None:
    """Every stored event of a case: position, time, actor, type, hashes."""
    from api.presenters import stored_event
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
            # Each event as the API's history shows it.
            sys.stdout.write(json.dumps(stored_event(e).model_dump(), ensure_ascii=False) + "\n")
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
    import asyncio

    from activities.audit.dossier import DossierError
    from activities.audit.dossier_request import export_dossier_as_asked
    from activities.blobs import open_blob_store
    from activities.temporal_client import connect_temporal

    runtime = command_runtime()
    settings = runtime.settings
    target = out or settings.data_dir / "dossiers" / f"case-{hazard_id}.zip"

    def warn(problem: str) -> None:
        err_console.print(f"[yellow]WARNING[/yellow] {escape(problem)}", soft_wrap=True)

    try:
        result = asyncio.run(
            export_dossier_as_asked(
                runtime.store,
                settings,
                hazard_id,
                target,
                temporal=lambda: connect_temporal(settings),
                blobs=open_blob_store(settings),
                create_key=True,  # the CLI makes the single machine's key, as `checkpoint` does
                allow_missing_history=allow_missing_history,
                warn=warn,
            )
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
    for evidence in result["evidence_files"]:
        if not evidence["included"]:
            err_console.print(
                f"[red]WARNING[/red] evidence file {evidence['sha256']} "
                f"({escape(str(evidence['name']))}) is not in the dossier: "
                f"{escape(str(evidence['problem']))}",
                soft_wrap=True,
            )


# After the case's record: the chain's commands (verify-dossier, verify, checkpoint).
audit_app.add_typer(chain_app)
