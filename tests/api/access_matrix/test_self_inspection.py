"""The access matrix of self-inspection (企业自查自改, edition 5): who may register a hazard found
by the enterprise itself, and who may accept (受理) a major one the enterprise reported."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.conftest import ApiHarness
from tests.api.matrix import (
    SUPERVISORS_OF_A,
    Matrix,
    answers,
    case_version,
    each,
    in_days,
    rule,
)
from tests.api.test_api_hazards import PHOTO, hazard
from workflows.ids import case_stream_id

MAJOR = {
    "hazard_class": "major",
    "checklist_clause": "工贸企业重大事故隐患判定标准 第四条",
    "mode": "deadline",
    "deadline": in_days(60),
}


def self_found(api: ApiHarness, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"source": "self_inspection", "deadline": in_days(10)}
    body: dict[str, Any] = hazard(api.grid, **(values | overrides))
    return body


async def register(api: ApiHarness, **overrides: Any) -> str:
    created = await api.client.post(
        "/api/v1/hazards",
        json=self_found(api, **overrides),
        headers=api.grid.headers("enterprise_a"),
    )
    assert created.status_code == 201, created.text
    hazard_id: str = created.json()["hazard_id"]
    return hazard_id


async def test_an_enterprise_registers_its_own_findings_and_only_its_own(
    isolated_api: ApiHarness,
):
    api = isolated_api
    matrix = Matrix(api)

    def registered(self_reported: bool) -> Any:
        def check(body: Any) -> None:
            first = api.store.read_stream(case_stream_id(body["hazard_id"]))[0]
            assert first.data.get("self_reported", False) is self_reported, first.data
            assert first.data["source"] == "self_inspection"

        return check

    await matrix.row(
        "POST",
        "/api/v1/hazards",
        answers(
            403,
            enterprise_a=(201, registered(True)),
            **each(("inspector_a", *SUPERVISORS_OF_A), (201, registered(False))),
        ),
        json=self_found(api),
    )
    # What an inspector found is not the enterprise's to register.
    patrol = await matrix.ask(
        "POST", "/api/v1/hazards", "enterprise_a", json=hazard(api.grid, deadline=in_days(10))
    )
    assert patrol.status_code == 403, patrol.text
    # Beyond the policy's limit (P30D): refused, naming the field and the rule.
    far = await matrix.ask(
        "POST", "/api/v1/hazards", "enterprise_a", json=self_found(api, deadline=in_days(40))
    )
    assert far.status_code == 422, far.text
    assert far.json()["error"]["rule"] == "case.self_inspection.deadline_exceeds_max"
    assert far.json()["error"]["field"] == "deadline"


async def test_a_self_reported_general_hazard_closes_on_the_enterprises_report(
    isolated_api: ApiHarness,
):
    api = isolated_api
    hazard_id = await register(api)
    reported = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "已自行整改", "evidence": [PHOTO]},
        headers=api.grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    assert reported.json()["status"] == "closed", reported.json()


async def test_only_the_supervising_unit_or_above_accepts_a_self_reported_major_hazard(
    isolated_api: ApiHarness,
):
    api = isolated_api
    matrix = Matrix(api)
    target, own = await asyncio.gather(
        register(api, **MAJOR),
        register(api, **MAJOR),
    )

    def accepted(body: Any) -> None:
        events = api.store.read_stream(case_stream_id(body["hazard_id"]))
        assert events[-1].event_type == "SelfReportAccepted", events[-1]
        assert events[-1].metadata["actor_role"] == "supervisor"

    await matrix.row(
        "POST",
        lambda who: f"/api/v1/hazards/{own if who == 'supervisor_county' else target}/acceptance",
        answers(
            403,
            supervisor_county=(200, accepted),
            supervisor_a=(403, rule("case.self_report.acceptance_unit")),
        ),
        unchanged=lambda: case_version(api, target),
        json={"comments": "已受理"},
    )
    again = await matrix.ask(
        "POST", f"/api/v1/hazards/{own}/acceptance", "supervisor_county", json={}
    )
    assert again.status_code == 409, again.text
    assert again.json()["error"]["rule"] == "case.self_report.not_awaiting_acceptance"
