"""What every ``duban`` command shares: its settings (the environment, completed from the
running `duban up`), one-line refusals with exit code 2, and instants shown to people.

A refusal — a bad option value, text that cannot be stored, a rule of the domain, a setting
or file duban cannot use, no stack running, Temporal or the database unreachable — is one
line on stderr and exit code 2, never a traceback. Exit code 1 stays for what a command
found (a broken chain, refused rows of a bulk load, differences). A programming error still
shows its traceback: nothing here catches what it does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import psycopg2
import psycopg2.errors
import sqlalchemy.exc
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from activities.database import DatabaseNotConfigured, DatabaseUrlInvalid
from activities.logging import configure_logging
from activities.settings import Settings
from activities.temporal_client import TemporalSettingsInvalid, TemporalUnreachable
from api.runtime import Runtime
from api.stack import START_HINT, SettingsInvalid, StackNotRunning, command_settings
from domain.errors import DomainError

try:  # typer vendors click from 0.2x on; earlier ones use click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError  # type: ignore[assignment]

EXIT_REFUSED = 2

err_console = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def refuse(message: str, *, prefix: str = "refused") -> typer.Exit:
    """Print one line on stderr (``prefix`` in red); the exit to raise (code 2)."""
    err_console.print(f"[red]{prefix}[/red] " + escape(message), soft_wrap=True, highlight=False)
    return typer.Exit(EXIT_REFUSED)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _setting_named(message: str) -> str:
    """``message`` with a leading setting name (``policy_file: …``) spelled as the
    environment variable people set (``DUBAN_POLICY_FILE: …``)."""
    name, sep, rest = message.partition(": ")
    if sep and name in Settings.model_fields:
        return f"DUBAN_{name.upper()}: {rest}"
    return message


def one_line_refusal(error: BaseException) -> tuple[str, str] | None:
    """``(prefix, message)`` for an error that means the command cannot run as asked, or
    None for anything else (a programming error keeps its traceback)."""
    if isinstance(error, StackNotRunning):  # its message says what to do
        return "duban:", str(error)
    if isinstance(error, DatabaseNotConfigured):
        return "duban:", f"{error}; {START_HINT}"
    if isinstance(error, TemporalUnreachable):
        return "duban:", f"{error}; {START_HINT}, or check DUBAN_TEMPORAL_ADDRESS"
    if isinstance(error, SettingsInvalid | DatabaseUrlInvalid | TemporalSettingsInvalid):
        return "refused", _setting_named(str(error))
    if isinstance(error, DomainError):  # a policy or calendar file duban cannot use
        field = f"{error.field}: " if error.field else ""
        return "refused", _setting_named(f"{field}{error.message} ({error.rule})")
    # The event store reads through psycopg2 itself; the rest through SQLAlchemy.
    cause = getattr(error, "orig", None) if isinstance(error, sqlalchemy.exc.DBAPIError) else error
    if isinstance(cause, psycopg2.errors.UndefinedTable):
        return "duban:", (
            f"the database has no duban tables ({_first_line(cause)}); run `duban migrate` "
            "(or `duban up`)"
        )
    if isinstance(cause, psycopg2.OperationalError):
        return "duban:", (
            f"the database is unreachable ({_first_line(cause)}); {START_HINT}, or check "
            "DUBAN_DATABASE_URL"
        )
    return None


def _unstorable_text(value: str) -> str | None:
    """Why an argument cannot be text duban stores (PostgreSQL takes no NUL; a byte that is
    not UTF-8 arrives as a lone surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    if any("\ud800" <= char <= "\udfff" for char in value):
        return "is not valid UTF-8 text"
    return None


def _check_arguments(args: Sequence[str]) -> None:
    previous = ""
    for position, arg in enumerate(args, 1):
        problem = _unstorable_text(arg)
        if problem is not None:
            name, sep, _ = arg.partition("=")
            if arg.startswith("--") and sep:
                where = name
            elif previous.startswith("-") and "=" not in previous:
                where = previous
            else:
                where = f"argument {position}"
            printable = where.encode("utf-8", "backslashreplace").decode("utf-8")
            raise refuse(f"{printable}: {problem}")
        previous = arg


class RefusingGroup(TyperGroup):
    """A command group whose refusals are one line with exit code 2 (see the module)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _check_arguments(args)
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            raise _usage_refused(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise _usage_refused(exc) from None
        except Exception as exc:
            line = one_line_refusal(exc)
            if line is None:
                raise
            prefix, message = line
            raise refuse(message, prefix=prefix) from None


def _usage_refused(exc: Any) -> typer.Exit:
    command = exc.ctx.command_path if exc.ctx is not None else "duban"
    return refuse(f"{exc.format_message()} (see `{command} --help`)")


def duban_typer(**options: Any) -> typer.Typer:
    """A Typer app (or sub-app) of ``duban``: one-line refusals, and no local variables in a
    traceback (they may hold a token or a database password)."""
    return typer.Typer(cls=RefusingGroup, pretty_exceptions_show_locals=False, **options)


def command_runtime(*, needs_database: bool = True) -> Runtime:
    """The runtime of a command: settings from the environment and the running `duban up`
    (``StackNotRunning`` when there is no database to use), logging configured."""
    settings = command_settings(needs_database=needs_database)
    configure_logging(settings.log_level, settings.log_format)
    return Runtime(settings)


def display_zone(settings: Settings) -> ZoneInfo:
    """The time zone instants are shown in: the policy's (which DUBAN_TIME_ZONE overrides, as
    for deadlines); the settings' when the policy file cannot be read (the command then
    still shows what it has)."""
    from activities.audit.dossier_request import policy_zone

    return policy_zone(settings)


def format_instant(value: datetime | str | None, zone: ZoneInfo) -> str:
    """An instant for people: in ``zone``, to the second (``2026-12-08 14:03:07+08:00``).
    Text that is not an instant (a date, a word) is shown as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is None:
            return value
    else:
        moment = value
    try:
        local = moment.astimezone(zone) if moment.tzinfo is not None else moment
    except (OverflowError, ValueError):
        local = moment
    return local.isoformat(sep=" ", timespec="seconds")
