"""The grid tree with its units' figures, the statistics as SVG charts and the stored reports,
over HTTP (ASGI, the real app, PostgreSQL, a Temporal worker): the API's figures, with the
API's rule that a unit outside the viewer's grid is refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from domain.periods import period_before
from tests.api.matrix import in_days
from tests.api.test_api_hazards import hazard
from tests.console.conftest import ConsoleHarness
from workflows.contracts import ReportInput
from workflows.ids import report_key
from workflows.reports import ReportWorkflow


async def register(console: ConsoleHarness, who: str = "inspector_a", **overrides: object) -> None:
    api = console.api
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(api.grid, deadline=in_days(2), **overrides),
        headers=api.grid.headers(who),
    )
    assert created.status_code == 201, created.text


async def test_the_grid_tree_shows_each_unit_below_with_its_open_cases_and_figures(
    console: ConsoleHarness,
):
    grid = console.api.grid
    await register(console)
    await register(console, "inspector_b", credit_code=grid.enterprise_b)
    console.api.project()
    county = await console.sign_in("supervisor_county")
    html = (await county.get("/console/grid")).text
    assert f"/console/grid?unit={grid.township_a}" in html
    assert f"/console/grid?unit={grid.township_b}" in html
    rows = re.findall(r"<tr>.*?</tr>", html, re.S)
    township_a = next(r for r in rows if grid.township_a in r)
    assert 'class="badge badge-due_soon">1<' in township_a  # its one case, due in 2 days
    # Down the tree: the township's page, and the path back up to the viewer's own unit.
    below = (await county.get(f"/console/grid?unit={grid.township_a}")).text
    assert f"/console/grid?unit={grid.county}" in below and grid.village_a in below

    other = await console.sign_in("supervisor_b")
    refused = await other.get(f"/console/grid?unit={grid.township_a}")
    assert refused.status_code == 403 and "access.forbidden" in refused.text


async def test_the_statistics_are_charts_of_the_apis_figures(console: ConsoleHarness):
    grid = console.api.grid
    await register(console)
    console.api.project()
    county = await console.sign_in("supervisor_county")
    answer = await county.get("/console/statistics")
    assert answer.status_code == 200, answer.text[:2000]
    html = answer.text
    assert html.count("<svg") >= 5 and "到期整改率" in html
    api_figures = await console.api.client.get(
        f"/api/v1/statistics/monthly/{grid.county}/"
        + datetime.now(console.api.services.policy.tz).strftime("%Y-%m"),
        headers=grid.headers("supervisor_county"),
    )
    found = api_figures.json()["content"]["found"]
    assert found >= 1
    assert re.search(rf"发现隐患：{found}[；<]", html), "the chart's text holds the API's figure"
    bad = await county.get("/console/statistics?kind=monthly&period=2026-13")
    assert bad.status_code == 422 and "report.period.invalid" in bad.text
    other = await console.sign_in("supervisor_b")
    assert (await other.get(f"/console/statistics?unit={grid.county}")).status_code == 403


async def test_a_stored_report_opens_and_downloads_as_the_api_holds_it(console: ConsoleHarness):
    api, grid = console.api, console.api.grid
    period = period_before("monthly", datetime.now(UTC), api.services.policy.tz)
    await api.env.client.execute_workflow(
        ReportWorkflow.run,
        ReportInput("monthly", period, grid.county),
        id=report_key("monthly", grid.county, period),
        task_queue=api.services.task_queue,
    )
    county = await console.sign_in("supervisor_county")
    listed = (await county.get("/console/reports")).text
    link = f"/console/reports?kind=monthly&amp;unit={grid.county}&amp;period={period}"
    assert link in listed
    opened = await county.get(link.replace("&amp;", "&"))
    assert opened.status_code == 200 and "下载 JSON" in opened.text
    download = await county.get(link.replace("&amp;", "&") + "&format=json")
    assert download.headers["content-disposition"].startswith("attachment")
    stored = api.store.read_stream(report_key("monthly", grid.county, period))[0].data
    assert json.loads(download.text) == json.loads(json.dumps(stored))
    # A township's supervisor sees no report of the county, and may not open it.
    township = await console.sign_in("supervisor_a")
    assert link not in (await township.get("/console/reports")).text
    refused = await township.get(link.replace("&amp;", "&"))
    assert refused.status_code == 403
