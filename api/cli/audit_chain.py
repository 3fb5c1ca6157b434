"""``duban audit verify|verify-dossier|checkpoint``: the hash chain of the whole store and its
signed checkpoints — recompute every link from genesis, check an exported dossier offline,
sign the verified head with the key kept outside the database. Merged into ``duban audit``
(``api/cli/audit.py``)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from activities.eventstore import Checkpoint, CheckpointInvalid, VerificationReport, verify_store
from activities.eventstore.checkpoint import (
    key_fingerprint,
    load_public_key,
    public_key_bytes,
    sign_checkpoint,
    write_checkpoint_file,
)
from activities.settings import Settings
from api.cli.common import JsonOption, command_runtime, duban_typer, err_console, refuse
from api.stack import command_settings

chain_app = duban_typer()

console = Console()


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


@chain_app.command("verify-dossier")
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


@chain_app.command("verify")
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


@chain_app.command("checkpoint")
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
