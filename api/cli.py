"""The ``duban`` command line: one entry point for operators, supervisors and auditors."""

from __future__ import annotations

import json
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from activities.database import current_revision, database_url_for_display
from activities.logging import configure_logging
from activities.settings import Settings
from api.auth import Principal
from api.cli_audit import audit_app
from api.cli_projections import projections_app
from api.runtime import Runtime
from api.services import Services

T = TypeVar("T")

app = typer.Typer(help="duban 督办 — durable supervision of workplace-safety hazards.")
app.add_typer(audit_app, name="audit")
token_app = typer.Typer(help="API tokens.")
app.add_typer(token_app, name="token")
hazard_app = typer.Typer(help="Hazards and their cases, as the API sees them.")
app.add_typer(hazard_app, name="hazard")
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
        f"{current_revision(runtime.database_url)}",
        soft_wrap=True,
    )


@app.command()
def up(
    api_host: Annotated[str, typer.Option(help="Where the API listens.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(help="The API's port.")] = 8000,
) -> None:
    """Run everything on this machine: PostgreSQL (embedded unless DUBAN_DATABASE_URL), the
    Temporal dev server (unless DUBAN_TEMPORAL_ADDRESS), migrations, the worker, the projector
    and the API; loads the demo county into an empty store. Ctrl-C stops it all."""
    import asyncio

    from api.serve import run_everything

    settings = Settings()
    configure_logging("WARNING", "console")
    asyncio.run(run_everything(settings, api_host, api_port))


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Where the API listens.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The API's port.")] = 8000,
) -> None:
    """Serve the HTTP API (/api/v1, OpenAPI at /docs) against the configured Temporal and
    database."""
    from api.serve import serve_api

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    serve_api(settings, host, port)


@app.command()
def load(
    grid_csv: Annotated[
        Path, typer.Argument(help="code,name,level,parent_code,responsible_person")
    ],
    enterprises_csv: Annotated[Path, typer.Argument(help="credit_code,name,industry,grid_code")],
    as_json: JsonOption = False,
) -> None:
    """Bulk-load grid units and enterprises; prints the rows it refused and why."""
    from activities.reference_data import ReferenceData

    runtime = _runtime()
    reference = ReferenceData(runtime.engine, runtime.store)
    grid_text = grid_csv.read_text(encoding="utf-8")
    enterprise_text = enterprises_csv.read_text(encoding="utf-8")
    total = max(grid_text.count("\n") - 1, 0) + max(enterprise_text.count("\n") - 1, 0)
    with Progress(
        TextColumn("loading"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err_console,
        disable=as_json or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("load", total=total)
        report = reference.load_csv(
            grid_text, enterprise_text, "duban-load", on_row=lambda: bar.advance(task)
        )
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
            table = Table("file", "line", "field", "rule", "message")
            for row in report.rejected:
                table.add_row(row.file, str(row.line), row.field, row.rule, row.message)
            console.print(table)
    if report.rejected:
        raise typer.Exit(1)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="inspector, enterprise, supervisor, auditor, admin")],
    scope: Annotated[
        str | None, typer.Option(help="grid unit code (inspector, supervisor) or credit code")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="who holds it (recorded on events)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a bearer token (stored hashed; the secret is shown once)."""
    from activities.reference_data import ReferenceData, ReferenceDataError
    from api.auth import create_token

    runtime = _runtime()
    try:
        principal, secret = create_token(
            runtime.engine,
            ReferenceData(runtime.engine, runtime.store),
            role,
            scope,
            actor or f"{role}-{scope or 'all'}",
        )
    except ReferenceDataError as exc:
        err_console.print(f"[red]refused[/red] {exc.field}: {exc.message} ({exc.rule})")
        raise typer.Exit(2) from exc
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps({"token": secret, **principal.__dict__}) + "\n")
    else:
        console.print(
            f"{principal.role} token for {principal.actor_id}"
            f" (scope {principal.scope or 'all'}):\n{secret}"
        )


@app.command()
def worker() -> None:
    """Run a worker: the case and credit workflows and their activities, on the task queue
    from settings, against DUBAN_TEMPORAL_ADDRESS (default 127.0.0.1:7233)."""
    import asyncio

    from worker import run_worker

    settings = Settings()
    asyncio.run(run_worker(settings))


def _principal_services(token: str) -> tuple[Runtime, Principal, Services]:
    """The CLI acts with a token like any API client: same roles, same scopes."""
    import asyncio

    from api.auth import authenticate
    from api.serve import build_services

    runtime = _runtime()
    principal = authenticate(runtime.engine, token)
    if principal is None:
        err_console.print("[red]refused[/red] token: unknown or revoked (auth.invalid)")
        raise typer.Exit(2)
    services = asyncio.run(build_services(runtime.settings, runtime))
    return runtime, principal, services


TokenOption = Annotated[str, typer.Option(envvar="DUBAN_TOKEN", help="API token (or DUBAN_TOKEN)")]


def _run_refusable(call: Coroutine[Any, Any, T]) -> T:
    import asyncio

    from api.services import Refused

    try:
        return asyncio.run(call)
    except Refused as exc:
        err_console.print(
            f"[red]refused ({exc.status})[/red] {exc.field or ''} {exc.message} [{exc.rule}]"
        )
        raise typer.Exit(1) from exc


@hazard_app.command("register")
def hazard_register(
    token: TokenOption,
    credit_code: Annotated[str, typer.Option(help="the enterprise's 统一社会信用代码")],
    description: Annotated[str, typer.Option()],
    location: Annotated[str, typer.Option()],
    category: Annotated[str, typer.Option(help="thing, person, management")] = "thing",
    source: Annotated[str, typer.Option(help="grid_patrol, self_inspection, ...")] = "grid_patrol",
    hazard_class: Annotated[str, typer.Option(help="general or major")] = "general",
    checklist_clause: Annotated[str | None, typer.Option(help="for a major hazard")] = None,
    deadline: Annotated[str | None, typer.Option(help="ISO 8601 with offset")] = None,
    evidence: Annotated[list[str] | None, typer.Option(help="URI=SHA256, repeatable")] = None,
    as_json: JsonOption = False,
) -> None:
    """登记隐患: register a hazard and start its case."""
    from pydantic import ValidationError

    from api.schemas import HazardIn

    try:
        body = HazardIn.model_validate(
            {
                "credit_code": credit_code,
                "description": description,
                "location": location,
                "category": category,
                "source": source,
                "hazard_class": hazard_class,
                "checklist_clause": checklist_clause,
                "deadline": deadline,
                "found_at": datetime.now(UTC).isoformat(),
                "evidence": [
                    dict(zip(("uri", "sha256"), e.rsplit("=", 1), strict=True))
                    for e in evidence or []
                ],
            }
        )
    except (ValidationError, ValueError) as exc:
        err_console.print(f"[red]refused[/red] {exc}")
        raise typer.Exit(2) from exc
    runtime, principal, services = _principal_services(token)
    result = _run_refusable(services.register(principal, body.model_dump(), None))
    runtime.close()
    _print_case(result["case"], as_json, title=f"registered {result['hazard_id']}")


@hazard_app.command("show")
def hazard_show(hazard_id: str, token: TokenOption, as_json: JsonOption = False) -> None:
    """The live state of a case."""
    runtime, principal, services = _principal_services(token)
    view = _run_refusable(services.case(principal, hazard_id))
    runtime.close()
    _print_case(view, as_json, title=hazard_id)


@hazard_app.command("list")
def hazard_list(
    token: TokenOption,
    grid_unit: Annotated[str | None, typer.Option(help="a grid subtree")] = None,
    status: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    overdue: Annotated[bool | None, typer.Option(help="overdue now")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Cases from the read model, sorted by deadline (scoped like the API)."""
    runtime, principal, services = _principal_services(token)
    try:
        page = services.list_hazards(
            principal, grid_unit=grid_unit, statuses=status, overdue=overdue, limit=limit
        )
    except Exception as exc:
        from api.services import Refused

        if isinstance(exc, Refused):
            err_console.print(f"[red]refused ({exc.status})[/red] {exc.message} [{exc.rule}]")
            raise typer.Exit(1) from exc
        raise
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps(page, ensure_ascii=False, default=str) + "\n")
        return
    table = Table(
        "hazard",
        "status",
        "level",
        "deadline",
        "overdue",
        "enterprise",
        title=f"{page['total']} case(s)",
    )
    for item in page["items"]:
        table.add_row(
            item["hazard_id"],
            str(item.get("status")),
            str(item.get("supervising_level")),
            str(item.get("deadline")),
            "yes" if item["overdue"] else "",
            str(item.get("enterprise_name")),
        )
    console.print(table)


def _print_case(view: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(view, ensure_ascii=False, default=str) + "\n")
        return
    table = Table("field", "value", title=title)
    for key in (
        "status",
        "deadline",
        "grid_level",
        "supervising_unit_code",
        "escalation_index",
        "listed_level",
        "overdue",
        "blocked",
        "version",
    ):
        table.add_row(key, str(view.get(key)))
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
