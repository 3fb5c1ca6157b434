"""The access matrix, acting on cases: every case action × every role × in and out of scope.

Each test runs over a database of its own, so a list or a register can be asserted to the row:
what a township's supervisor sees is its township, the county's sees both, an enterprise sees
itself. Refusals change nothing: the version of the case (or credit record) they aimed at is
the same afterwards. The rows' vocabulary is ``tests/api/matrix.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from domain.credit_code import make_credit_code
from tests.api.conftest import ApiHarness
from tests.api.matrix import (
    FIVE_IMPLEMENTATIONS,
    GOVERNANCE_PLAN,
    SUPERVISORS_OF_A,
    Matrix,
    answers,
    case_version,
    each,
    in_days,
    register,
    rule,
)
from tests.api.test_api_hazards import PHOTO, hazard
from workflows.ids import case_stream_id, credit_stream_id


async def test_every_case_action_succeeds_for_its_role_in_scope_and_is_refused_to_all_others(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    matrix = Matrix(api)
    headers = grid.headers

    # One case per caller that may act (its action changes the case), one shared target for
    # everyone who may not (a refusal changes nothing).
    target, plan_case, report_case, request_case = await asyncio.gather(
        register(api),
        register(api, hazard_class="major", checklist_clause="工贸企业重大事故隐患判定标准 第四条"),
        register(api),
        register(api),
    )
    own: dict[str, dict[str, str]] = {}
    for action in ("verification", "extension-decision", "listing", "refusal", "withdrawal"):
        ids = await asyncio.gather(*(register(api) for _ in SUPERVISORS_OF_A))
        own[action] = dict(zip(SUPERVISORS_OF_A, ids, strict=True))
    for hazard_id in own["verification"].values():
        reported = await api.client.post(
            f"/api/v1/hazards/{hazard_id}/rectification-report",
            json={"summary": "已整改", "evidence": [PHOTO]},
            headers=headers("enterprise_a"),
        )
        assert reported.status_code == 200, reported.text
    requested_deadline = in_days(120)
    for hazard_id in own["extension-decision"].values():
        requested = await api.client.post(
            f"/api/v1/hazards/{hazard_id}/extension-request",
            json={
                "requested_deadline": requested_deadline,
                "reasons": "设备到货延迟",
                "interim_safeguards": "临时隔离",
            },
            headers=headers("enterprise_a"),
        )
        assert requested.status_code == 200, requested.text
    before = case_version(api, target)

    def target_version() -> int:
        return case_version(api, target)

    def on_own_case(action: str) -> Any:
        return lambda who: f"/api/v1/hazards/{own[action].get(who, target)}/{action}"

    def status(expected: str) -> Any:
        def check(body: Any) -> None:
            assert body["status"] == expected, body

        return check

    def last_event(event_type: str, role: str) -> Any:
        def check(body: Any) -> None:
            events = api.store.read_stream(case_stream_id(body["hazard_id"]))
            assert event_type in [e.event_type for e in events[-3:]], body
            assert events[-1].metadata["actor_role"] == role

        return check

    def registered(body: Any) -> None:
        assert body["case"]["status"] == "rectifying", body
        events = api.store.read_stream(case_stream_id(body["hazard_id"]))
        assert events[0].event_type == "HazardRegistered"
        assert events[0].metadata["actor_role"] in ("inspector", "supervisor")

    await matrix.row(
        "POST",
        "/api/v1/hazards",
        answers(403, **each(("inspector_a", *SUPERVISORS_OF_A), (201, registered))),
        json=hazard(grid, deadline=in_days(90)),
    )
    await matrix.row(
        "POST",
        f"/api/v1/hazards/{plan_case}/governance-plan",
        answers(403, enterprise_a=(200, last_event("GovernancePlanSubmitted", "enterprise"))),
        unchanged=lambda: case_version(api, plan_case),
        json=GOVERNANCE_PLAN,
    )
    await matrix.row(
        "POST",
        f"/api/v1/hazards/{report_case}/rectification-report",
        answers(403, enterprise_a=(200, status("reported"))),
        unchanged=lambda: case_version(api, report_case),
        json={"summary": "已更换配电箱", "evidence": [PHOTO]},
    )
    await matrix.row(
        "POST",
        f"/api/v1/hazards/{request_case}/extension-request",
        answers(403, enterprise_a=(200, last_event("ExtensionRequested", "enterprise"))),
        unchanged=lambda: case_version(api, request_case),
        json={
            "requested_deadline": in_days(120),
            "reasons": "停产检修",
            "interim_safeguards": "专人值守",
        },
    )
    await matrix.row(
        "POST",
        on_own_case("verification"),
        answers(403, **each(SUPERVISORS_OF_A, (200, status("closed")))),
        unchanged=target_version,
        json={"passed": True, "comments": "现场复查合格"},
    )

    def extended(body: Any) -> None:
        assert datetime.fromisoformat(body["deadline"]) == datetime.fromisoformat(
            requested_deadline
        ), body

    await matrix.row(
        "POST",
        on_own_case("extension-decision"),
        answers(403, **each(SUPERVISORS_OF_A, (200, extended))),
        unchanged=target_version,
        json={"approve": True, "reason": "理由充分"},
    )

    def listed(body: Any) -> None:
        assert body["listed_level"] == "county", body

    # A county listing is the county's to make: the township's supervisor is refused by the
    # domain (the case unchanged), the county's lists it.
    township_listing = own["listing"]["supervisor_a"]
    listing_before = case_version(api, township_listing)
    await matrix.row(
        "POST",
        on_own_case("listing"),
        answers(
            403,
            supervisor_a=(403, rule("case.list.level_above_actor")),
            supervisor_county=(200, listed),
        ),
        unchanged=target_version,
        json={
            "level": "county",
            "measures": "更换配电箱",
            "listing_measures": FIVE_IMPLEMENTATIONS,
        },
    )
    assert case_version(api, township_listing) == listing_before
    await matrix.row(
        "POST",
        on_own_case("refusal"),
        answers(403, **each(SUPERVISORS_OF_A, (200, status("referred")))),
        unchanged=target_version,
        json={"details": "拒不整改, 拒绝签收整改通知书"},
    )
    await matrix.row(
        "POST",
        on_own_case("withdrawal"),
        answers(403, **each(SUPERVISORS_OF_A, (200, status("withdrawn")))),
        unchanged=target_version,
        json={"reason": "误报: 隐患不存在"},
    )
    assert case_version(api, target) == before, "a refused action changed the case"

    # Reference data: only an admin adds units and enterprises.
    new_unit = f"{grid.township_a}-V9"

    def unit_added(body: Any) -> None:
        assert body == {
            "code": new_unit,
            "name": "新社区",
            "level": "village",
            "parent_code": grid.township_a,
            "responsible_person": "郑网格员",
        }

    await matrix.row(
        "POST",
        "/api/v1/grid-units",
        answers(403, admin=(201, unit_added)),
        json={
            "code": new_unit,
            "name": "新社区",
            "level": "village",
            "parent_code": grid.township_a,
            "responsible_person": "郑网格员",
        },
    )
    new_code = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())

    def enterprise_added(body: Any) -> None:
        assert body["credit_code"] == new_code and body["grid_code"] == new_unit, body

    await matrix.row(
        "POST",
        "/api/v1/enterprises",
        answers(403, admin=(201, enterprise_added)),
        json={"credit_code": new_code, "name": "新企业", "industry": "食品", "grid_code": new_unit},
    )
    listed_units = await api.client.get(
        "/api/v1/grid-units", params={"parent": grid.township_a}, headers=headers("auditor")
    )
    assert [u["code"] for u in listed_units.json()["items"]] == sorted([grid.village_a, new_unit])
    assert len(matrix.rows) == 11

    # Both refusals reached enterprise A's credit record (拒不整改 is a credit event): the
    # credit read is JSON of its own, not reprs of domain objects.
    refused_cases = sorted(own["refusal"].values())

    def refusals_recorded() -> list[str]:
        stream = api.store.read_stream(credit_stream_id(grid.enterprise_a))
        return sorted(
            e.data["case_id"]
            for e in stream
            if e.event_type == "CreditEventRecorded" and e.data["kind"] == "refusal"
        )

    for _ in range(200):
        if refusals_recorded() == refused_cases:
            break
        await asyncio.sleep(0.05)
    api.project()
    credit = await api.client.get(
        f"/api/v1/enterprises/{grid.enterprise_a}/credit", headers=headers("supervisor_county")
    )
    assert credit.status_code == 200, credit.text
    body = credit.json()
    entries = body["entries"]
    assert sorted(e["case_id"] for e in entries if e["kind"] == "refusal") == refused_cases, body
    assert {e["case_id"] for e in entries} == set(refused_cases), body
    for entry in body["entries"]:
        assert datetime.fromisoformat(entry["occurred_at"]).tzinfo is not None
    assert body["record_opened"] is True and body["open_proceeding_no"], body
    assert body["rating"] in ("B", "C", "D"), body
