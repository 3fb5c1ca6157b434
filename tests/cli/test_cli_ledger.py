"""``duban ledger UNIT --from --to``: the ledger file an operator writes from a shell, with a
token's role and scope, as GET /ledger answers it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook

from tests.api.conftest import ApiHarness
from tests.api.matrix import register
from tests.cli.test_cli_hazards import duban, stack_env


async def test_the_ledger_command_writes_the_units_ledger_as_excel_or_csv(
    cli_env: dict[str, str], isolated_api: ApiHarness, tmp_path: Path
):
    api, grid = isolated_api, isolated_api.grid
    found = datetime.now(UTC) - timedelta(hours=2)
    hazard_id = await register(api, found_at=found.isoformat())
    api.project()
    day = found.astimezone(api.services.policy.tz).date().isoformat()
    env = {**stack_env(cli_env, api), "DUBAN_TOKEN": grid.tokens["supervisor_a"]}

    out = tmp_path / "ledger.xlsx"
    written = await duban(
        env, "ledger", grid.township_a, "--from", day, "--to", day, "--out", str(out), "--json"
    )
    assert written.exit_code == 0, written.output
    assert json.loads(written.stdout) == {"path": str(out), "lines": 1, "format": "xlsx"}
    sheet = load_workbook(out)["隐患台账"]
    assert [cell.value for cell in sheet[3]][1] == hazard_id

    as_csv = tmp_path / "ledger.csv"
    written = await duban(
        env, "ledger", grid.township_a, "--from", day, "--to", day, "--format", "csv",
        "--out", str(as_csv),
    )  # fmt: skip
    assert written.exit_code == 0, written.output
    rows = list(csv.reader(io.StringIO(as_csv.read_text(encoding="utf-8-sig"))))
    assert rows[0][2] == "发现日期" and rows[1][1] == hazard_id

    outside = await duban(env, "ledger", grid.county, "--from", day, "--to", day)
    assert outside.exit_code != 0 and "403" in outside.output, outside.output
    bad = await duban(env, "ledger", grid.township_a, "--from", "2026-13-01", "--to", day)
    assert bad.exit_code != 0 and "--from" in bad.output, bad.output
