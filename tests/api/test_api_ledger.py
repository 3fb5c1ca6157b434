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
