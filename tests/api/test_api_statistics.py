"""The statistics page: a unit's figures computed live from the read models, in the policy's
time zone — for a period that has ended, the very content its stored report holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.periods import period_before
from tests.api.conftest import ApiHarness
from tests.api.matrix import register
from tests.api.test_api_hazards import PHOTO, hazard
from workflows.contracts import ReportInput
from workflows.ids import report_key
from workflows.reports import ReportWorkflow


async def test_the_statistics_of_an_ended_month_are_the_figures_its_stored_report_holds(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    tz = api.services.policy.tz
    now = datetime.now(UTC)
    period = period_before("monthly", now, tz)
    year, month = int(period[:4]), int(period[5:])
    # Half an hour into the month on the policy's wall clock (Asia/Shanghai, UTC+8): still the
    # month before in UTC, so figures computed in UTC would not count it in this month.
    early_in_month = datetime(year, month, 1, 0, 30, tzinfo=tz)
    assert early_in_month.astimezone(UTC).month != month
    last_month = await register(api, found_at=early_in_month.isoformat())
    await register(
        api,
        found_at=(early_in_month + timedelta(days=2)).isoformat(),
        hazard_class="major",
        checklist_clause="工贸企业重大事故隐患判定标准 第四条",
    )
    found_now = (now - timedelta(minutes=1)).isoformat()
    this_month = await register(
        api, "inspector_b", credit_code=grid.enterprise_b, found_at=found_now
    )
    assert last_month != this_month
    api.project()
    await api.env.client.execute_workflow(
        ReportWorkflow.run,
        ReportInput("monthly", period, grid.county),
        id=report_key("monthly", grid.county, period),
        task_queue=api.services.task_queue,
    )
    stored = api.store.read_stream(report_key("monthly", grid.county, period))[0].data["content"]
    assert (stored["found"], stored["found_major"]) == (2, 1), stored

    answer = await api.client.get(
        f"/api/v1/statistics/monthly/{grid.county}/{period}", headers=grid.headers("auditor")
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["content"] == stored
    assert (page["kind"], page["unit_code"], page["period"]) == ("monthly", grid.county, period)
    assert page["period_ended"] is True
    # The figures move with the read models only: a township sees its own subtree's.
    township_b = await api.client.get(
        f"/api/v1/statistics/monthly/{grid.township_b}/{period}",
        headers=grid.headers("supervisor_b"),
    )
    assert township_b.status_code == 200 and township_b.json()["content"]["found"] == 0

    # The month that runs: the figures so far, not final.
    current = now.astimezone(tz).strftime("%Y-%m")
    running = await api.client.get(
        f"/api/v1/statistics/monthly/{grid.county}/{current}",
        headers=grid.headers("supervisor_county"),
    )
    assert running.status_code == 200, running.text
    assert running.json()["period_ended"] is False
    assert running.json()["content"]["found"] == 1
    assert running.json()["content"]["overdue_as_of"] != running.json()["content"]["period_end"]
    quarter = f"{year}-Q{(month - 1) // 3 + 1}"
    quarterly = await api.client.get(
        f"/api/v1/statistics/quarterly/{grid.township_a}/{quarter}",
        headers=grid.headers("inspector_a"),
    )
    # Enterprise A (township A) had last month's two; this month's was enterprise B's.
    assert quarterly.status_code == 200, quarterly.text
    assert quarterly.json()["content"]["found"] == 2, quarterly.json()


async def test_a_statistics_request_for_a_period_that_cannot_exist_is_refused_naming_it(
    api: ApiHarness,
):
    auditor = api.grid.headers("auditor")
    for kind, period in [("monthly", "2026-13"), ("yearly", "0000"), ("quarterly", "2026-Q5")]:
        answer = await api.client.get(
            f"/api/v1/statistics/{kind}/{api.grid.county}/{period}", headers=auditor
        )
        assert answer.status_code == 422, (kind, period, answer.text)
        assert answer.json()["error"]["field"] == "period", answer.text
    unknown = await api.client.get("/api/v1/statistics/yearly/NO-SUCH-UNIT/2026", headers=auditor)
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "unit_code"


async def test_self_found_and_inspector_found_hazards_are_counted_apart(
    isolated_api: ApiHarness,
):
    """Given two hazards the enterprise found itself (one written off on its own report) and
    one an inspector found, the unit's figures count 2 self-found, 1 found by inspectors and 1
    self-rectified."""
    api, grid = isolated_api, isolated_api.grid
    now = datetime.now(UTC)
    found = (now - timedelta(minutes=5)).isoformat()
    own = {"source": "self_inspection", "found_at": found}
    deadline = (now + timedelta(days=10)).isoformat()
    rectified = await api.client.post(
        "/api/v1/hazards",
        json=hazard(grid, **own, deadline=deadline),
        headers=grid.headers("enterprise_a"),
    )
    assert rectified.status_code == 201, rectified.text
    reported = await api.client.post(
        f"/api/v1/hazards/{rectified.json()['hazard_id']}/rectification-report",
        json={"summary": "已自行整改", "evidence": [PHOTO]},
        headers=grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200 and reported.json()["status"] == "closed", reported.text
    second = await api.client.post(
        "/api/v1/hazards",
        json=hazard(grid, **own, deadline=deadline),
        headers=grid.headers("enterprise_a"),
    )
    assert second.status_code == 201, second.text
    await register(api, found_at=found)
    api.project()
    period = now.astimezone(api.services.policy.tz).strftime("%Y-%m")
    answer = await api.client.get(
        f"/api/v1/statistics/monthly/{grid.county}/{period}", headers=grid.headers("auditor")
    )
    assert answer.status_code == 200, answer.text
    content = answer.json()["content"]
    assert content["found"] == 3, content
    assert content["found_by_finder"] == {
        "self_inspection": 2,
        "inspectors": 1,
        "self_rectified": 1,
    }, content
