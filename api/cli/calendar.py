"""``duban calendar show|check|load``: the working-day calendar (节假日安排) an administrator
keeps — which years are loaded and from where, whether a file is fit to load, and loading one
without a restart.

``load`` validates the file as ``check`` does, installs it where workers and the API read it
(DUBAN_CALENDAR_FILE, or ``calendar.toml`` in the data directory), replacing it atomically,
and then wakes the open cases that may wait for calendar data (signal ``calendar_loaded``):
they re-read the calendar at once instead of at their next retry (``CALENDAR_RETRY``, 6
hours) — a registration's notice is issued the moment its year is there. A signal rather than
a shorter retry: a case waiting for months would otherwise re-read every few minutes, each
read an activity in its history. Without a reachable stack the file is still installed and
the cases re-read it at their next retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from activities.calendar_watch import CalendarSource
from activities.rules import calendar_path, policy_for_warnings
from activities.settings import Settings
from api.cli.common import duban_typer
from api.stack import command_settings
from domain.calendar import PACKAGE_YEARS
from domain.calendar_file import CalendarProblem, check_calendar_file, parse_calendar_file

calendar_app = duban_typer(help="The working-day calendar (节假日安排): show, check, load.")

console = Console()
err_console = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
FileArgument = Annotated[Path, typer.Argument(help="an administrator's calendar file (TOML)")]
EXIT_REFUSED = 2


def _refuse(message: str) -> typer.Exit:
    err_console.print("[red]refused[/red] " + escape(message), soft_wrap=True)
    return typer.Exit(EXIT_REFUSED)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(f"{path}: {getattr(exc, 'strerror', None) or exc}") from exc


def _print_problems(path: Path, problems: list[CalendarProblem], as_json: bool) -> None:
    if as_json:
        rows = [{"file": str(path), **p.__dict__} for p in problems]
        sys.stdout.write(json.dumps({"ok": not problems, "problems": rows}, ensure_ascii=False))
        sys.stdout.write("\n")
        return
    for p in problems:
        where = f"{path}:{p.line}" if p.line else str(path)
        console.print(escape(f"{where}: {p.key}: {p.message} ({p.rule})"), soft_wrap=True)


@calendar_app.command("show")
def show(as_json: JsonOption = False) -> None:
    """The years loaded: chinese-calendar's and the administrator's file's, where each comes
    from, and the first year missing (with the warning, from the policy's warn_from day)."""
    settings = command_settings(needs_database=False)
    source = CalendarSource(settings)
    status = source.status(policy_for_warnings(settings))
    parsed, error = source.describe()
    version = importlib.metadata.version("chinese-calendar")
    years: list[dict[str, Any]] = [
        {"year": y, "source": f"chinese-calendar {version}"} for y in PACKAGE_YEARS
    ]
    if parsed is not None:
        for year in sorted(parsed.years):
            entry = {"year": year, "source": str(calendar_path(settings))}
            if year in parsed.notices:
                entry["notice"] = parsed.notices[year]
            if year in parsed.replaces_package:
                entry["replaces"] = f"chinese-calendar {version}"
            years = [y for y in years if y["year"] != year] + [entry]
    years.sort(key=lambda y: y["year"])
    report = {
        "calendar_file": str(calendar_path(settings)),
        "file_in_use": parsed is not None,
        "file_error": error,
        "years": years,
        "first_missing_year": status.first_missing_year,
        "warning": status.message,
    }
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    package = f"{PACKAGE_YEARS[0]}–{PACKAGE_YEARS[-1]}"
    console.print(f"chinese-calendar {version}: {package}", soft_wrap=True)
    where = calendar_path(settings)
    if parsed is None and error is None:
        console.print(escape(f"calendar file: none at {where}"), soft_wrap=True)
    else:
        table = Table("year", "source", "notice", title=escape(f"calendar file {where}"))
        for entry in years:
            if entry["source"] != str(where):
                continue
            replaces = " (replaces the package's)" if "replaces" in entry else ""
            notice = escape(str(entry.get("notice", "")))
            table.add_row(str(entry["year"]), escape(entry["source"] + replaces), notice)
        console.print(table)
    if error is not None:
        console.print("[red]the file is invalid; nothing of it is used:[/red] " + escape(error))
    console.print(f"first year without holiday data: {status.first_missing_year}")
    if status.message is not None:
        console.print("[yellow]warning:[/yellow] " + escape(status.message), soft_wrap=True)


@calendar_app.command("check")
def check(file: FileArgument, as_json: JsonOption = False) -> None:
    """Validate a calendar file: every value a date, every year's holiday periods named (so
    every day is accounted for), 调休 working days on weekends, no year the package knows
    unless it says replace_package_data. Each error with its line and key; exit 1 if any."""
    problems = check_calendar_file(_read(file))
    _print_problems(file, problems, as_json)
    if problems:
        raise typer.Exit(1)
    if not as_json:
        years = sorted(parse_calendar_file(_read(file)).years)
        console.print(f"{file}: ok ({', '.join(map(str, years)) or 'no years'})", soft_wrap=True)


@calendar_app.command("load")
def load(
    file: FileArgument,
    allow_dropping_years: Annotated[
        bool,
        typer.Option(help="Load a file that lacks a year the installed one has."),
    ] = False,
    wake: Annotated[
        bool, typer.Option(help="Wake the open cases that wait for calendar data.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Validate FILE (as check does) and install it where workers and the API read it, with no
    restart; then wake the cases waiting for calendar data. Nothing is installed from a file
    with an error."""
    settings = command_settings(needs_database=False)
    text = _read(file)
    problems = check_calendar_file(text)
    if problems:
        _print_problems(file, problems, as_json)
        raise _refuse(f"{file}: {len(problems)} error(s); nothing was loaded")
    years = sorted(parse_calendar_file(text).years)
    target = calendar_path(settings)
    installed = _installed_years(target)
    dropped = sorted(set(installed) - set(years))
    if dropped and not allow_dropping_years:
        raise _refuse(
            f"{target} has {', '.join(map(str, dropped))}, which {file} lacks: keep every year in "
            "one file (or pass --allow-dropping-years)"
        )
    changed = _install(target, text)
    woken, wake_error = _wake(settings) if wake else (None, None)
    result = {
        "installed": str(target),
        "changed": changed,
        "years": years,
        "woken_cases": woken,
        "wake_error": wake_error,
    }
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    verb = "installed" if changed else "already installed"
    console.print(f"{verb} {target}: {', '.join(map(str, years))}", soft_wrap=True)
    if woken is not None:
        console.print(f"woke {woken} open case(s) that may wait for calendar data")
    elif wake_error is not None:
        console.print(
            escape(
                f"could not wake the waiting cases ({wake_error}); they re-read the calendar "
                "within 6 hours"
            ),
            soft_wrap=True,
        )


def _installed_years(target: Path) -> list[int]:
    try:
        return sorted(parse_calendar_file(target.read_text(encoding="utf-8")).years)
    except FileNotFoundError:
        return []
    except Exception:  # an unreadable or broken installed file has no years worth keeping
        return []


def _install(target: Path, text: str) -> bool:
    """Write ``text`` to ``target`` atomically (a reader sees the old file or the new one);
    False when it already holds exactly that (a mounted, read-only file updated elsewhere)."""
    try:
        if target.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)
        raise _refuse(
            f"cannot write {target}: {exc.strerror}; if it is mounted read-only (a ConfigMap), "
            "update it there and run this command again with the same file to wake the cases"
        ) from exc
    return True


def _wake(settings: Settings) -> tuple[int | None, str | None]:
    """Signal the open cases that may wait; (None, why) when the stack cannot be reached."""
    if not (settings.database_url or settings.database_app_url):
        return None, "no database configured and no `duban up` running"

    async def run() -> int:
        from activities.calendar_watch import wake_waiting_cases
        from activities.temporal_client import connect_temporal
        from api.runtime import Runtime

        runtime = Runtime(settings)
        try:
            client = await asyncio.wait_for(connect_temporal(settings), 10)
            return await wake_waiting_cases(runtime.engine, client, datetime.now(UTC))
        finally:
            runtime.close()

    try:
        return asyncio.run(run()), None
    except Exception as exc:  # the file is installed; waking is a courtesy
        return None, (str(exc).strip().splitlines() or [type(exc).__name__])[0]
