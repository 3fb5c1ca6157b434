"""``duban hazard register|show|list``: hazards and their cases with a token, as an API
client sees them (the same services, roles and scopes)."""

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
from rich.table import Column, Table

from api.auth import Principal
from api.cli.common import (
    JsonOption,
    command_runtime,
    display_zone,
    duban_typer,
    format_instant,
    refuse,
)
from api.runtime import Runtime
from api.services import Services
from api.services.refusals import Refused

T = TypeVar("T")

hazard_app = duban_typer(help="Hazards and their cases, as the API sees them.")

console = Console()

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
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            help="a photo or document to upload and cite (repeatable; type read from its bytes)",
        ),
    ] = None,
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

    async def act(principal: Principal, services: Services) -> dict[str, Any]:
        payload = body.model_dump()
        for index, path in enumerate(files or []):
            # The same upload as POST /files: checked, stored, then cited by its hash.
            ref = await asyncio.to_thread(_upload, services, principal, path, index)
            payload["evidence"].append({"sha256": ref["sha256"], "name": ref["name"]})
        return await services.register(principal, payload, None)

    result, zone = _with_services(token, act)
    _print_case(result["case"], as_json, f"registered {result['hazard_id']}", zone)


def _upload(services: Services, principal: Principal, path: Path, index: int) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return services.upload_evidence(principal, stream, path.name, f"file.{index}")
    except OSError as exc:
        raise refuse(f"--file: cannot read {path}: {exc.strerror}") from exc


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
    from api.presenters import hazard_page
    from api.services.lists import list_hazards

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
        rows = list_hazards(
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
    page = hazard_page(rows).model_dump()  # the page GET /hazards answers
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
