"""``duban audit verify-files``: are the evidence files present and intact?

By default every file the events name (an uploaded file cited by a registration, plan,
report or verification: ``duban-file:<sha256>`` with its size) is read to its end and checked
against its recorded hash and size; ``--case`` narrows that to one case. ``--manifest`` checks
the files a manifest names instead (JSON: an array, or one object a line, each
``{"sha256": …, "size": …, "name": …}``), and ``--all`` checks every stored file against its
own hash. Each missing or altered file is named, with every event that records it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from activities.blobs import ExpectedFile, FilesReport, open_blob_store, scrub_store, verify_files
from api.cli.common import refuse
from api.stack import command_settings

console = Console()
err_console = Console(stderr=True)


class ManifestError(ValueError):
    def __init__(self, where: str, field: str, message: str) -> None:
        super().__init__(f"{where}: {field}: {message}")


def _entry(obj: Any, where: str) -> ExpectedFile:
    if not isinstance(obj, dict):
        raise ManifestError(where, "entry", "an object with sha256, size and name")
    sha256, size, name = obj.get("sha256"), obj.get("size"), obj.get("name")
    if not isinstance(sha256, str):
        raise ManifestError(where, "sha256", "a string of 64 hex digits")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ManifestError(where, "size", "a whole number of bytes")
    if name is not None and not isinstance(name, str):
        raise ManifestError(where, "name", "a string")
    return ExpectedFile(sha256.lower(), size, name)


def read_manifest(text: str, source: str) -> list[ExpectedFile]:
    """Each entry of a JSON array, or of one JSON object a line (blank lines skipped)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ManifestError(source, "json", str(exc)) from exc
        return [_entry(obj, f"{source} entry {i}") for i, obj in enumerate(items)]
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{source} line {number}", "json", str(exc)) from exc
        entries.append(_entry(obj, f"{source} line {number}"))
    return entries


def _print(report: FilesReport, what: str) -> None:
    for check, names in report.problems:
        shown = f" ({', '.join(names)})" if names else ""
        console.print(
            f"[red]{check.status}[/red] {check.sha256}{escape(shown)}: {escape(check.detail)}",
            soft_wrap=True,
        )
    verdict = "[green]ok[/green]" if report.ok else f"[red]{len(report.problems)} bad[/red]"
    console.print(f"{what}: {report.checked} checked, {report.intact} intact — {verdict}")


def verify_files_command(
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="JSON array or JSON lines of {sha256, size, name}; '-' reads standard input.",
        ),
    ] = None,
    check_all: Annotated[
        bool, typer.Option("--all", help="Check every stored file against its own hash.")
    ] = False,
    hazard_id: Annotated[
        str | None,
        typer.Option("--case", help="Only the files this case's events name."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check that every evidence file the events (or a manifest) name is present and hashes to
    its recorded value; name each missing or altered one (exit 1 if any)."""
    if hazard_id is not None and manifest is not None:
        raise refuse("--case reads the events: give it without --manifest")
    from_events = manifest is None and (hazard_id is not None or not check_all)
    expected: list[ExpectedFile] = []
    if manifest is not None:
        try:
            text = sys.stdin.read() if str(manifest) == "-" else manifest.read_text("utf-8")
            expected = read_manifest(text, str(manifest))
        except (OSError, UnicodeDecodeError, ManifestError) as exc:
            raise refuse(str(exc)) from exc
    if from_events:
        expected = _files_of_events(hazard_id)
    store = open_blob_store(command_settings(needs_database=False))
    reports: dict[str, FilesReport] = {}
    if from_events:
        reports["events" if hazard_id is None else f"case {hazard_id}"] = verify_files(
            store, expected
        )
    if manifest is not None:
        reports["manifest"] = verify_files(store, expected)
    if check_all:
        reports["store"] = scrub_store(store)
    if as_json:
        out = {"store": repr(store), **{k: r.as_json() for k, r in reports.items()}}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    else:
        for what, report in reports.items():
            _print(report, f"{what} ({store!r})")
    if not all(r.ok for r in reports.values()):
        raise typer.Exit(1)


def _files_of_events(hazard_id: str | None) -> list[ExpectedFile]:
    """The stored files the events name: every stream's, or one case's."""
    from activities.blobs.references import expected_files_of_events
    from api.cli.common import command_runtime, refuse
    from workflows.ids import case_stream_id

    runtime = command_runtime()
    try:
        if hazard_id is None:
            return expected_files_of_events(runtime.store.iter_all())
        try:
            events = runtime.store.read_stream(case_stream_id(hazard_id))
        except ValueError as exc:
            raise refuse(str(exc)) from exc
        if not events:
            raise refuse(f"no events for hazard {hazard_id}", prefix="not found")
        return expected_files_of_events(events)
    finally:
        runtime.close()
