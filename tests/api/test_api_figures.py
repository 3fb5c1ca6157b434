"""Figures and states that mean what a bureau means, over HTTP: an escalated case is still
overdue (since when, how many days), every enterprise has a rating that the filter and the
total agree on, and a listing made at registration shows its deadline on the public
register."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.api.conftest import ApiHarness
from tests.api.matrix import register
from tests.api.test_api_hazards import hazard

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _until_escalated(api: ApiHarness, hazard_id: str) -> dict[str, Any]:
    for _ in range(200):
        live = await api.client.get(
            f"/api/v1/hazards/{hazard_id}", headers=api.grid.headers("auditor")
        )
        assert live.status_code == 200, live.text
        if live.json()["status"] == "escalated":
            return dict(live.json())
        await asyncio.sleep(0.05)
    raise AssertionError(f"{hazard_id} was not escalated: {live.text}")


async def test_an_escalated_case_is_overdue_from_its_deadline_in_the_list_and_the_case(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(grid, deadline=deadline.isoformat()),
        headers=grid.headers("inspector_a"),
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    on_time = await register(api)  # its deadline is 90 days away
    await api.env.sleep(timedelta(days=3))  # the deadline passes: up to the township
    now = await api.env.get_current_time()
    api.services.clock = lambda: now  # the API asked at the instant the workflows are at
    case = await _until_escalated(api, hazard_id)
    # The township's supervision deadline lies ahead; the hazard is overdue all the same.
    assert datetime.fromisoformat(case["deadline"]) > await api.env.get_current_time()
    assert case["overdue"] is True, case
    assert datetime.fromisoformat(case["overdue_since"]) == deadline
    assert case["overdue_since"].endswith("+08:00")  # on the policy's clock
    expected_days = (now.astimezone(SHANGHAI).date() - deadline.astimezone(SHANGHAI).date()).days
    assert case["days_overdue"] == expected_days >= 2

    api.project()
    listed = await api.client.get(
        "/api/v1/hazards", params={"overdue": "true"}, headers=grid.headers("supervisor_county")
    )
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert (item["hazard_id"], item["status"], item["overdue"]) == (hazard_id, "escalated", True)
    assert datetime.fromisoformat(item["overdue_since"]) == deadline
    assert item["days_overdue"] == case["days_overdue"]
    assert datetime.fromisoformat(item["rectification_deadline"]) == deadline
    not_overdue = await api.client.get(
        "/api/v1/hazards", params={"overdue": "false"}, headers=grid.headers("supervisor_county")
    )
    assert [i["hazard_id"] for i in not_overdue.json()["items"]] == [on_time]
    assert not_overdue.json()["items"][0]["overdue_since"] is None


async def test_every_enterprise_has_a_rating_and_the_list_its_filter_and_total_agree(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    await register(api)  # enterprise A has a case; neither has a credit record
    api.project()
    admin = grid.headers("admin")
    everyone = await api.client.get("/api/v1/enterprises", headers=admin)
    assert everyone.status_code == 200, everyone.text
    lines = {line["credit_code"]: line for line in everyone.json()["items"]}
    assert set(lines) == {grid.enterprise_a, grid.enterprise_b}
    for line in lines.values():
        assert line["credit_state"] == "no_record"
        assert (line["rating"], line["rating_points"]) == ("A", 100), line
    rated_a = await api.client.get("/api/v1/enterprises", params={"rating": "A"}, headers=admin)
    assert rated_a.json()["total"] == 2
    assert {line["credit_code"] for line in rated_a.json()["items"]} == set(lines)
    rated_d = await api.client.get("/api/v1/enterprises", params={"rating": "D"}, headers=admin)
    assert (rated_d.json()["total"], rated_d.json()["items"]) == (0, [])
    credit = await api.client.get(f"/api/v1/enterprises/{grid.enterprise_b}/credit", headers=admin)
    assert credit.status_code == 200, credit.text
    body = credit.json()
    assert body["record_opened"] is False
    assert (body["rating"], body["rating_points"], body["rating_now"]) == ("A", 100, "A")


async def test_a_listing_made_at_registration_shows_its_deadline_on_the_public_register(
    isolated_api: ApiHarness,
):
    api = isolated_api
    hazard_id = await register(
        api, hazard_class="major", checklist_clause="工贸企业重大事故隐患判定标准 第四条"
    )
    case = await api.client.get(f"/api/v1/hazards/{hazard_id}", headers=api.grid.headers("auditor"))
    assert case.json()["listed_level"] == "county", case.text
    api.project()
    register_page = await api.client.get("/api/v1/public/listings")
    assert register_page.status_code == 200, register_page.text
    (entry,) = register_page.json()["items"]
    assert entry["hazard_id"] == hazard_id and entry["status"] == "listed"
    assert entry["deadline"] is not None, entry  # read null before
    assert datetime.fromisoformat(entry["deadline"]) == datetime.fromisoformat(
        case.json()["deadline"]
    )
