"""``duban ledger UNIT --from --to``: the hazard ledger (台账) of a grid unit and period as an
.xlsx or .csv file — what ``GET /ledger/{unit}`` answers, with a token's roles and scope
(needs the database only, not Temporal)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.cli.common import JsonOption, command_runtime, display_zone, refuse
from api.cli.hazards import TokenOption, _principal, _refused

console = Console()


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise refuse(f"{option}: a day as YYYY-MM-DD, not {value!r}") from None


def ledger_command(
    unit: Annotated[str, typer.Argument(help="the grid unit whose subtree the ledger covers")],
    token: TokenOption,
    first: Annotated[str, typer.Option("--from", help="first day found (发现日期), included")],
    last: Annotated[str, typer.Option("--to", help="last day found, included")],
    file_format: Annotated[str, typer.Option("--format", help="xlsx or csv")] = "xlsx",
    out: Annotated[Path | None, typer.Option(help="the file to write")] = None,
    as_json: JsonOption = False,
) -> None:
    """隐患排查治理台账: every hazard found in the period in the unit's subtree, one line each
    (发现日期, 企业, 隐患级别, 类别, 整改措施, 责任人, 整改期限, 状态, 整改完成日期, 复查人,
    挂牌级别, 升级次数), from the read models."""
    from activities.reference_data import ReferenceData
    from api.services.ledger import ledger_file
    from api.services.refusals import Refused

    if file_format not in ("xlsx", "csv"):
        raise refuse("format: one of xlsx, csv")
    start, end = _day(first, "--from"), _day(last, "--to")
    runtime = command_runtime()
    principal = _principal(runtime, token)
    try:
        result = ledger_file(
            runtime.engine,
            ReferenceData(runtime.engine, runtime.store),
            principal,
            unit,
            start,
            end,
            file_format,  # type: ignore[arg-type]  # checked above
            str(display_zone(runtime.settings)),
        )
    except Refused as exc:
        raise _refused(exc) from exc
    finally:
        runtime.close()
    target = out or Path(result.filename)
    try:
        target.write_bytes(result.content)
    except OSError as exc:
        raise refuse(f"--out: cannot write {target}: {exc.strerror}") from exc
    if as_json:
        summary = {"path": str(target), "lines": result.lines, "format": file_format}
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return
    console.print(f"ledger of {unit}: {result.lines} hazard(s), written to {target}")
