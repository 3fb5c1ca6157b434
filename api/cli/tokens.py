"""``duban token create|list|revoke``: the API's bearer tokens (stored hashed; a secret is
shown once)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from activities.reference_data import ReferenceDataError
from api.cli.common import (
    JsonOption,
    command_runtime,
    display_zone,
    duban_typer,
    format_instant,
    refuse,
)

token_app = duban_typer(help="API tokens.")

console = Console()


def _token_refused(exc: ReferenceDataError) -> typer.Exit:
    """Say why a token command was refused (field, message, rule); the exit to raise."""
    return refuse(f"{exc.field}: {exc.message} ({exc.rule})")


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
            account=account.strip().lower() if account else None,
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
