"""``duban user …``: people's accounts for the console, with the rules of its accounts page
(both call ``api.accounts``).

A password is never an argument (it would land in the shell's history and in ``ps``): it is
asked for twice at a terminal, hidden, or read as the first line of standard input when that
is not a terminal (``printf '%s\\n' "$PW" | duban user create …``); ``--generate-password``
makes one and prints it once.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from activities.reference_data import ReferenceData, ReferenceDataError
from api.accounts import (
    Account,
    create_account,
    list_accounts,
    reset_password,
    set_enabled,
)
from api.cli.common import command_runtime, display_zone, duban_typer, format_instant, refuse
from api.passwords import generate_password

user_app = duban_typer(help="People's accounts: who signs in to the console (督办工作台).")
console = Console()

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
GenerateOption = Annotated[
    bool,
    typer.Option(
        "--generate-password", help="Make a password and print it once (instead of asking)."
    ),
]
LoginArgument = Annotated[str, typer.Argument(help="the account's login name")]


def _actor() -> str:
    """Who made a change from the command line, as the account log records it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli"


def _refused(exc: ReferenceDataError) -> typer.Exit:
    return refuse(f"{exc.field}: {exc.message} ({exc.rule})")


def _password(generate: bool) -> str:
    """The new password: generated, asked for twice at a terminal, or stdin's first line."""
    if generate:
        return generate_password()
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise refuse("password: the two entries differ (nothing changed)")
        return first
    line = sys.stdin.readline()
    if not line:
        raise refuse(
            "password: none on standard input; give it there, type it at a terminal, "
            "or use --generate-password"
        )
    return line.rstrip("\r\n")


def _print_account(account: Account, as_json: bool, said: str, shown: str | None) -> None:
    if as_json:
        answer = account.to_json() | ({"password": shown} if shown else {})
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        return
    console.print(said, soft_wrap=True, highlight=False, markup=False)
    if shown:
        console.print(
            f"password (shown once): {shown}", soft_wrap=True, highlight=False, markup=False
        )


@user_app.command("create")
def user_create(
    login: LoginArgument,
    display_name: Annotated[str, typer.Option(help="the person's name, as pages show it")],
    role: Annotated[str, typer.Option(help="inspector, enterprise, supervisor, auditor, admin")],
    scope: Annotated[
        str | None, typer.Option(help="grid unit code (inspector, supervisor) or credit code")
    ] = None,
    language: Annotated[str, typer.Option(help="zh or en: the console's language")] = "zh",
    generate: GenerateOption = False,
    as_json: JsonOption = False,
) -> None:
    """Create an account (enabled). The password: asked for twice, read from stdin, or
    generated with --generate-password and printed once."""
    password = _password(generate)
    runtime = command_runtime()
    try:
        account = create_account(
            runtime.engine,
            ReferenceData(runtime.engine, runtime.store),
            login=login,
            display_name=display_name,
            role=role,
            scope=scope,
            password=password,
            actor=_actor(),
            language=language,
        )
    except ReferenceDataError as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()
    said = (
        f"{account.role} account {account.login} ({account.display_name}, "
        f"scope {account.scope or 'all'}) created"
    )
    _print_account(account, as_json, said, password if generate else None)


@user_app.command("list")
def user_list(as_json: JsonOption = False) -> None:
    """Every account: login, name, role, scope, enabled, created (never a password)."""
    runtime = command_runtime()
    accounts: list[Account] = []
    try:
        offset = 0
        while True:
            page = list_accounts(runtime.engine, limit=500, offset=offset)
            accounts.extend(page.items)
            offset += len(page.items)
            if not page.items or offset >= page.total:
                break
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps([a.to_json() for a in accounts], ensure_ascii=False) + "\n")
        return
    zone = display_zone(runtime.settings)
    table = Table(Column("login", no_wrap=True), "name", "role", "scope", "state", "created")
    for a in accounts:
        table.add_row(
            a.login,
            a.display_name,
            a.role,
            a.scope or "all",
            "enabled" if a.enabled else f"disabled {format_instant(a.disabled_at, zone)}",
            format_instant(a.created_at, zone),
        )
    console.print(table)


def _enable(login: str, enabled: bool, as_json: bool) -> None:
    runtime = command_runtime()
    try:
        account = set_enabled(runtime.engine, login, enabled, actor=_actor())
    except ReferenceDataError as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()
    state = "enabled" if enabled else "disabled (its sessions ended, its tokens refused)"
    _print_account(account, as_json, f"account {account.login} {state}", None)


@user_app.command("disable")
def user_disable(login: LoginArgument, as_json: JsonOption = False) -> None:
    """Disable an account: its console sessions end at once and its tokens authenticate
    nobody; its record and its events stay."""
    _enable(login, False, as_json)


@user_app.command("enable")
def user_enable(login: LoginArgument, as_json: JsonOption = False) -> None:
    """Enable a disabled account again (its tokens work again; it signs in anew)."""
    _enable(login, True, as_json)


@user_app.command("reset-password")
def user_reset_password(
    login: LoginArgument, generate: GenerateOption = False, as_json: JsonOption = False
) -> None:
    """Set a new password (asked for, from stdin, or generated): the account's sessions end,
    and a lock after failed sign-ins is lifted."""
    password = _password(generate)
    runtime = command_runtime()
    try:
        account = reset_password(runtime.engine, login, password, actor=_actor())
    except ReferenceDataError as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()
    said = f"password of {account.login} reset; its sessions ended"
    _print_account(account, as_json, said, password if generate else None)
