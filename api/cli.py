"""The ``duban`` command line: one entry point for operators, supervisors and auditors."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Column, Table

from activities.database import current_revision, database_url_for_display
from activities.logging import configure_logging
from activities.reference_data import ReferenceDataError
from api.auth import Principal
from api.cli_audit import audit_app
from api.cli_calendar import calendar_app
from api.cli_common import (
    command_runtime,
    display_zone,
    duban_typer,
    err_console,
    format_instant,
    refuse,
)
from api.cli_projections import projections_app
from api.cli_users import user_app
from api.runtime import Runtime
from api.services import Refused, Services
from api.stack import command_settings, load_settings

T = TypeVar("T")

app = duban_typer(help="duban 督办 — durable supervision of workplace-safety hazards.")
app.add_typer(audit_app, name="audit")
token_app = duban_typer(help="API tokens.")
app.add_typer(token_app, name="token")
hazard_app = duban_typer(help="Hazards and their cases, as the API sees them.")
app.add_typer(hazard_app, name="hazard")
app.add_typer(projections_app, name="projections")
app.add_typer(calendar_app, name="calendar")
app.add_typer(user_app, name="user")  # [console, issue 16] people's accounts

console = Console()

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _token_refused(exc: ReferenceDataError) -> typer.Exit:
    """Say why a token command was refused (field, message, rule); the exit to raise."""
    return refuse(f"{exc.field}: {exc.message} ({exc.rule})")


@app.command()
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


@app.command()
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


@app.command()
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


@app.command()
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


@token_app.command("create")
def token_create(
    role: Annotated[
        str | None, typer.Option(help="inspector, enterprise, supervisor, auditor, admin")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="grid unit code (inspector, supervisor) or credit code")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="who holds it (recorded on events)")] = None,
    account: Annotated[
        str | None,
        typer.Option(help="act for this account: its role, scope and login as the actor"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a bearer token (stored hashed; the secret is shown once). With --account it acts
    for that account (and stops while the account is disabled)."""
    if role is None and account is None:
        raise refuse("Missing option '--role' (or --account: a token acting for an account)")
    from activities.reference_data import ReferenceData
    from api.auth import create_token

    runtime = command_runtime()
    try:
        principal, secret = create_token(
            runtime.engine,
            ReferenceData(runtime.engine, runtime.store),
            role or "",
            scope,
            actor or f"{role}-{scope or 'all'}",
            account=account.strip().lower() if account else None,  # [console, issue 16]
        )
    except ReferenceDataError as exc:
        raise _token_refused(exc) from exc
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps({"token": secret, **principal.__dict__}) + "\n")
    else:
        console.print(
            f"{principal.role} token for {principal.actor_id}"
            f" (scope {principal.scope or 'all'}):\n{secret}"
        )


@token_app.command("list")
def token_list(as_json: JsonOption = False) -> None:
    """Every token issued: id, holder, role, scope, issued and revoked (never the secret)."""
    from api.auth import list_tokens

    runtime = command_runtime()
    try:
        tokens = list_tokens(runtime.engine)
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps([t.__dict__ for t in tokens]) + "\n")
        return
    zone = display_zone(runtime.settings)
    table = Table("id", "holder", "role", "scope", "issued", "revoked")
    for t in tokens:
        table.add_row(
            t.token_id,
            t.actor_id,
            t.role,
            t.scope or "all",
            format_instant(t.created_at, zone),
            format_instant(t.revoked_at, zone),
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="the token's id (dbn_<id>_…, or from list)")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: from the next request on it authenticates nobody."""
    from api.auth import TOKEN_PREFIX, revoke_token

    if token_id.startswith(TOKEN_PREFIX):  # the whole secret pasted: its id is the first part
        token_id = token_id[len(TOKEN_PREFIX) :].split("_", 1)[0]
    runtime = command_runtime()
    try:
        token = revoke_token(runtime.engine, token_id)
    except ReferenceDataError as exc:
        raise _token_refused(exc) from exc
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps(token.__dict__) + "\n")
    else:
        revoked = format_instant(token.revoked_at, display_zone(runtime.settings))
        console.print(f"token {token.token_id} of {token.actor_id} revoked at {revoked}")


@app.command()
def worker() -> None:
    """Run a worker: the case and credit workflows and their activities, on the task queue
    from settings, against DUBAN_TEMPORAL_ADDRESS (default: the running `duban up`'s, else
    127.0.0.1:7233)."""
    from worker import run_worker

    settings = command_settings()
    asyncio.run(run_worker(settings))


TokenOption = Annotated[str, typer.Option(envvar="DUBAN_TOKEN", help="API token (or DUBAN_TOKEN)")]


def _principal(runtime: Runtime, token: str) -> Principal:
    from api.auth import authenticate

    principal = authenticate(runtime.engine, token)
    if principal is None:
        runtime.close()
        raise refuse("token: unknown or revoked (auth.invalid)")
    return principal


def _refused(exc: Refused) -> typer.Exit:
    """A refusal of the services (the API's answer), one line: status, field, rule."""
    field = f"{exc.field}: " if exc.field else ""
    return refuse(f"{field}{exc.message} [{exc.rule}]", prefix=f"refused ({exc.status})")


def _with_services(
    token: str, act: Callable[[Principal, Services], Awaitable[T]]
) -> tuple[T, ZoneInfo]:
    """Act with a token like any API client (same roles, same scopes); the answer, and the
    policy's time zone to show it in. The Temporal client is made and used in one event
    loop: it belongs to the loop that connected it."""
    from api.serve import build_services

    runtime = command_runtime()
    principal = _principal(runtime, token)

    async def run() -> tuple[T, ZoneInfo]:
        services = await build_services(runtime.settings, runtime)
        return await act(principal, services), services.policy.tz

    try:
        return asyncio.run(run())
    except Refused as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()


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
    mode: Annotated[str, typer.Option(help="immediate, deadline or listed")] = "deadline",
    listing_level: Annotated[
        str | None, typer.Option(help="county, city or province (mode listed)")
    ] = None,
    deadline: Annotated[str | None, typer.Option(help="ISO 8601 with offset")] = None,
    measures: Annotated[str, typer.Option(help="the measures required (整改措施)")] = "",
    responsible_person: Annotated[
        str, typer.Option(help="the enterprise's person responsible for the rectification")
    ] = "",
    found_at: Annotated[str | None, typer.Option(help="ISO 8601 with offset; default now")] = None,
    evidence: Annotated[list[str] | None, typer.Option(help="URI=SHA256, repeatable")] = None,
    listing_responsibility: Annotated[
        str | None, typer.Option(help="五落实 of a listing: 责任 (who answers for it)")
    ] = None,
    listing_measures: Annotated[str | None, typer.Option(help="五落实: 措施")] = None,
    listing_funds: Annotated[str | None, typer.Option(help="五落实: 资金")] = None,
    listing_time_limit: Annotated[str | None, typer.Option(help="五落实: 时限")] = None,
    listing_emergency_plan: Annotated[str | None, typer.Option(help="五落实: 应急预案")] = None,
    as_json: JsonOption = False,
) -> None:
    """登记隐患: register a hazard and start its case (a supervisor may list it at once with
    --mode listed --listing-level and the five --listing-* parts of 五落实)."""
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
                "mode": mode,
                "listing_level": listing_level,
                "deadline": deadline,
                "measures": measures,
                "responsible_person": responsible_person,
                "found_at": found_at or datetime.now(UTC).isoformat(),
                "evidence": [_evidence_option(e) for e in evidence or []],
                "listing_measures": _five_implementations(
                    listing_responsibility,
                    listing_measures,
                    listing_funds,
                    listing_time_limit,
                    listing_emergency_plan,
                ),
            }
        )
    except ValidationError as exc:
        problems = [
            ".".join(str(part) for part in error["loc"]) + f": {error['msg']}"
            for error in exc.errors()
        ]
        raise refuse("; ".join(problems)) from exc
    result, zone = _with_services(
        token, lambda principal, services: services.register(principal, body.model_dump(), None)
    )
    _print_case(result["case"], as_json, f"registered {result['hazard_id']}", zone)


def _five_implementations(*parts: str | None) -> dict[str, str | None] | None:
    """五落实 from its five options; any one given makes all five required (and named)."""
    if all(part is None for part in parts):
        return None
    names = ("responsibility", "measures", "funds", "time_limit", "emergency_plan")
    return dict(zip(names, parts, strict=True))


def _evidence_option(value: str) -> dict[str, str]:
    uri, sep, digest = value.rpartition("=")
    if not sep:
        raise refuse(f"evidence: {value!r} is not URI=SHA256")
    return {"uri": uri, "sha256": digest}


@hazard_app.command("show")
def hazard_show(hazard_id: str, token: TokenOption, as_json: JsonOption = False) -> None:
    """The live state of a case."""
    view, zone = _with_services(
        token, lambda principal, services: services.case(principal, hazard_id)
    )
    _print_case(view, as_json, hazard_id, zone)


@hazard_app.command("list")
def hazard_list(
    token: TokenOption,
    grid_unit: Annotated[str | None, typer.Option(help="a grid subtree")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="rectifying, reported, escalated, referred, closed, withdrawn; repeatable"
        ),
    ] = None,
    level: Annotated[str | None, typer.Option(help="listed level: county, city, province")] = None,
    hazard_class: Annotated[str | None, typer.Option(help="general or major")] = None,
    listed: Annotated[bool | None, typer.Option("--listed/--not-listed", help="listed now")] = None,
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="overdue now")
    ] = None,
    enterprise: Annotated[str | None, typer.Option(help="the enterprise's credit code")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="open cases only")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """Cases from the read model, sorted by deadline, filtered like ``GET /hazards`` and
    scoped like it (needs the database only, not Temporal)."""
    from activities.reference_data import ReferenceData
    from api.services import list_hazards

    choices = {
        "status": (
            status or [],
            ("rectifying", "reported", "escalated", "referred", "closed", "withdrawn"),
        ),
        "level": ([level] if level else [], ("county", "city", "province")),
        "hazard_class": ([hazard_class] if hazard_class else [], ("general", "major")),
    }
    for option, (values, allowed) in choices.items():
        for value in values:
            if value not in allowed:
                raise refuse(f"{option}: one of {', '.join(allowed)}")
    runtime = command_runtime()
    principal = _principal(runtime, token)
    try:
        page = list_hazards(
            runtime.engine,
            ReferenceData(runtime.engine, runtime.store),
            principal,
            now=datetime.now(UTC),
            grid_unit=grid_unit,
            statuses=status,
            listed_level=level,
            hazard_class=hazard_class,
            listed=listed,
            overdue=overdue,
            enterprise=enterprise.upper() if enterprise else None,
            open_only=open_only,
            limit=limit,
            offset=offset,
        )
    except Refused as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps(page, ensure_ascii=False, default=str) + "\n")
        return
    zone = display_zone(runtime.settings)
    table = Table(
        Column("hazard", no_wrap=True),
        "status",
        "level",
        "deadline",
        "overdue",
        "enterprise",
        title=f"{page['total']} case(s), showing {len(page['items'])} from {page['offset']}",
    )
    for item in page["items"]:
        table.add_row(
            item["hazard_id"],
            str(item.get("status")),
            str(item.get("supervising_level")),
            format_instant(item.get("deadline"), zone),
            f"逾期 {item.get('days_overdue')} 天" if item["overdue"] else "",
            str(item.get("enterprise_name")),
        )
    console.print(table)


def _print_case(view: dict[str, Any], as_json: bool, title: str, zone: ZoneInfo) -> None:
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
        "overdue_since",
        "days_overdue",
        "blocked",
        "version",
    ):
        value = view.get(key)
        table.add_row(key, format_instant(value, zone) if key == "deadline" else str(value))
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
