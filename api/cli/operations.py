"""The commands that run or set duban up: ``duban up`` (everything on one machine), ``api``,
``worker``, ``migrate`` and ``load`` (the reference data). Merged into the root ``duban``."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Column, Table

from activities.database import current_revision, database_url_for_display
from activities.logging import configure_logging
from api.cli.common import JsonOption, command_runtime, duban_typer, err_console, refuse
from api.stack import command_settings, load_settings

operations_app = duban_typer()

console = Console()


@operations_app.command()
def migrate(as_json: JsonOption = False) -> None:
    """Create or upgrade duban's tables (Alembic migrations; the only way tables are made)."""
    runtime = command_runtime()
    try:
        runtime.migrate()
        database = database_url_for_display(runtime.database_url)
        revision = current_revision(runtime.database_url)
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps({"database": database, "revision": revision}) + "\n")
        return
    console.print(f"database {database} at revision {revision}", soft_wrap=True)


@operations_app.command()
def up(
    api_host: Annotated[str, typer.Option(help="Where the API listens.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(help="The API's port.", min=0, max=65535)] = 8000,
    temporal_port: Annotated[
        int,
        typer.Option(
            help="The Temporal dev server's gRPC port (ignored with DUBAN_TEMPORAL_ADDRESS).",
            min=1,
            max=65535,
        ),
    ] = 7233,
    temporal_ui_port: Annotated[
        int, typer.Option(help="The Temporal UI's port (with the dev server).", min=1, max=65535)
    ] = 8233,
) -> None:
    """Run everything on this machine: PostgreSQL (embedded unless DUBAN_DATABASE_URL), the
    Temporal dev server (unless DUBAN_TEMPORAL_ADDRESS), migrations, the worker, the projector,
    the notification dispatcher (with DUBAN_WEBHOOK_URL) and the API; loads the demo county
    into an empty store; prints the URLs, the policy in force and the admin token (kept in the
    data directory and reused), and records where it listens in the data directory's
    running.json, where every other duban command finds it. Ctrl-C stops all it started (the
    embedded PostgreSQL too, if it started it); a part that dies stops everything with exit
    code 1; a start refused (a port taken, another `duban up` on the data directory, a
    policy file duban cannot use) is exit code 2."""
    from api.up import UpError, run_everything

    settings = load_settings()
    configure_logging("WARNING", "console")
    try:
        code = asyncio.run(
            run_everything(
                settings,
                api_host,
                api_port,
                temporal_port=temporal_port,
                temporal_ui_port=temporal_ui_port,
            )
        )
    except UpError as exc:
        raise refuse(str(exc), prefix="duban up:") from exc
    if code:
        raise typer.Exit(code)


@operations_app.command()
def api(
    host: Annotated[str, typer.Option(help="Where the API listens.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The API's port.", min=0, max=65535)] = 8000,
) -> None:
    """Serve the HTTP API (/api/v1, OpenAPI at /docs) against the configured Temporal and
    database."""
    from api.serve import serve_api

    settings = command_settings()
    configure_logging(settings.log_level, settings.log_format)
    serve_api(settings, host, port)


@operations_app.command()
def load(
    grid_csv: Annotated[
        Path, typer.Argument(help="code,name,level,parent_code,responsible_person")
    ],
    enterprises_csv: Annotated[Path, typer.Argument(help="credit_code,name,industry,grid_code")],
    as_json: JsonOption = False,
) -> None:
    """Bulk-load grid units and enterprises, row by row: every good row is loaded, every
    refused row is listed with its file, line, field and rule (and changes nothing); exit 1 if
    any row was refused. Loading a file again loads only the rows not there yet."""
    from activities.reference_data import ReferenceData, count_rows

    texts = []
    for path in (grid_csv, enterprises_csv):
        try:
            texts.append(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            raise refuse(f"{path}: {exc}") from exc
    grid_text, enterprise_text = texts
    runtime = command_runtime()
    reference = ReferenceData(runtime.engine, runtime.store)
    total = count_rows(grid_text) + count_rows(enterprise_text)
    with Progress(
        TextColumn("loading"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err_console,
        disable=as_json or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("load", total=total)
        try:
            report = reference.load_csv(
                grid_text, enterprise_text, "duban-load", on_row=lambda: bar.advance(task)
            )
        finally:
            runtime.close()
    rejected = [r.__dict__ for r in report.rejected]
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "grid_units": report.grid_units,
                    "enterprises": report.enterprises,
                    "rejected": rejected,
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    else:
        console.print(
            f"loaded {report.grid_units} grid units and {report.enterprises} "
            f"enterprises; {len(rejected)} row(s) refused"
        )
        if rejected:
            table = Table("file", "line", "field", Column("rule", no_wrap=True), "message")
            for row in report.rejected:
                table.add_row(row.file, str(row.line), row.field, row.rule, escape(row.message))
            console.print(table)
    if report.rejected:
        raise typer.Exit(1)


@operations_app.command()
def worker() -> None:
    """Run a worker: the case and credit workflows and their activities, on the task queue
    from settings, against DUBAN_TEMPORAL_ADDRESS (default: the running `duban up`'s, else
    127.0.0.1:7233)."""
    from worker import run_worker

    settings = command_settings()
    asyncio.run(run_worker(settings))
