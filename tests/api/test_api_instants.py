"""Instants at the edges of the calendar are refusals naming the field, never a 500: a year-1
``found_at`` at +14:00 or a year-9999 deadline at -12:00 would overflow the moment they are
converted to UTC or a period is added to them (duban accepts the years 1900..9998)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import PHOTO, hazard

EDGES = [
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "0001-01-01T00:00:00-12:00",
    "1899-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-12:00",  # after year 9999 in UTC
    "9999-12-31T23:59:59+14:00",
]


FIVE = {
    "listing_measures": {
        "responsibility": "厂长 张",
        "measures": "停用并更换",
        "funds": "20万元",
        "time_limit": "30日",
        "emergency_plan": "专项预案",
    }
}


def refused_naming(answer: httpx.Response, field: str) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    error = answer.json()["error"]
    assert error["field"] == field, error
    assert error["rule"] in ("time.out_of_range", "request.invalid"), error


@pytest.mark.parametrize("edge", EDGES)
async def test_a_registration_at_the_edge_of_the_calendar_is_refused_naming_the_field(
    api: ApiHarness, edge: str
):
    grid = api.grid
    for field in ("found_at", "deadline"):
        answer = await api.client.post(
            "/api/v1/hazards",
            json=hazard(grid, **{field: edge}),
            headers=grid.headers("inspector_a"),
        )
        refused_naming(answer, field)


async def test_every_instant_a_person_gives_on_a_case_is_checked_for_its_range(api: ApiHarness):
    grid = api.grid
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    case = f"/api/v1/hazards/{hazard_id}"
    before = (await api.client.get(case, headers=grid.headers("auditor"))).json()["version"]
    supervisor, enterprise = grid.headers("supervisor_county"), grid.headers("enterprise_a")
    actions: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
        (
            "extension-request",
            {
                "requested_deadline": EDGES[3],
                "reasons": "设备到货延迟",
                "interim_safeguards": "停用",
            },
            enterprise,
            "requested_deadline",
        ),
        ("listing", {"level": "county", "deadline": EDGES[0], **FIVE}, supervisor, "deadline"),
    ]
    for action, body, headers, field in actions:
        answer = await api.client.post(f"{case}/{action}", json=body, headers=headers)
        refused_naming(answer, field)
    reported = await api.client.post(
        f"{case}/rectification-report",
        json={"summary": "已整改", "evidence": [PHOTO]},
        headers=enterprise,
    )
    assert reported.status_code == 200, reported.text
    failed = await api.client.post(
        f"{case}/verification",
        json={"passed": False, "comments": "未整改到位", "new_deadline": EDGES[4]},
        headers=supervisor,
    )
    refused_naming(failed, "new_deadline")
    after = (await api.client.get(case, headers=grid.headers("auditor"))).json()["version"]
    assert after == before + 1, "only the report was recorded"


@pytest.mark.parametrize("edge", [*EDGES, "9999-12-31T23:59:59.999999+00:00"])
async def test_as_of_at_the_edge_of_the_calendar_is_refused_naming_at(api: ApiHarness, edge: str):
    grid = api.grid
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
    )
    hazard_id = created.json()["hazard_id"]
    answer = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/as-of",
        params={"at": edge},
        headers=grid.headers("auditor"),
    )
    refused_naming(answer, "at")
    fine = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/as-of",
        params={"at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
        headers=grid.headers("auditor"),
    )
    assert fine.status_code == 200, fine.text
