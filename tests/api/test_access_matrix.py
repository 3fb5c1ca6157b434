"""Every endpoint × every role × in and out of scope, and what each must answer.

Scope of the case under test: enterprise A in township A of the county. In scope: inspector_a,
supervisor_a, supervisor_county (the county is above township A), enterprise_a. Out of scope:
inspector_b, supervisor_b (township B), enterprise_b. Everywhere: auditor (read only), admin.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import PHOTO, hazard

WHO = [
    "inspector_a",
    "inspector_b",
    "supervisor_a",
    "supervisor_b",
    "supervisor_county",
    "enterprise_a",
    "enterprise_b",
    "auditor",
    "admin",
    "anonymous",
]
READERS_IN_SCOPE = {
    "inspector_a",
    "supervisor_a",
    "supervisor_county",
    "enterprise_a",
    "auditor",
    "admin",
}


def headers(api: ApiHarness, who: str) -> dict[str, str]:
    return {} if who == "anonymous" else api.grid.headers(who)


def expect(who: str, allowed: set[str], refused_in_scope: int = 403) -> set[int]:
    """Allowed callers get anything but 401/403 (the domain may still say 409/422)."""
    if who == "anonymous":
        return {401}
    if who in allowed:
        return {200, 201, 404, 409, 422}
    return {refused_in_scope}


async def test_every_endpoint_answers_every_role_in_and_out_of_scope(api: ApiHarness):
    grid, client = api.grid, api.client
    created = await client.post(
        "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
    )
    hazard_id = created.json()["hazard_id"]
    later = (datetime.now(UTC) + timedelta(days=90)).isoformat()
    case_actions = {
        "governance-plan": (
            {"enterprise_a"},
            {
                k: "x"
                for k in (
                    "goal_and_tasks",
                    "methods_and_measures",
                    "funds_and_materials",
                    "organisation_and_people",
                    "time_limit_and_requirements",
                    "safety_measures_and_emergency_plan",
                )
            },
        ),
        "extension-request": (
            {"enterprise_a"},
            {"requested_deadline": later, "reasons": "r", "interim_safeguards": "s"},
        ),
        "extension-decision": ({"supervisor_a", "supervisor_county"}, {"approve": False}),
        "listing": ({"supervisor_a", "supervisor_county"}, {"level": "county"}),
        "verification": ({"supervisor_a", "supervisor_county"}, {"passed": False}),
        "rectification-report": ({"enterprise_a"}, {"summary": "done", "evidence": [PHOTO]}),
        "refusal": ({"supervisor_a", "supervisor_county"}, {"details": "拒不整改"}),
        "withdrawal": ({"supervisor_a", "supervisor_county"}, {"reason": "误报"}),
    }
    seen: list[tuple[str, str, int]] = []

    async def check(method: str, path: str, who: str, allowed: set[int], **kwargs) -> None:  # type: ignore[no-untyped-def]
        answer = await client.request(method, path, headers=headers(api, who), **kwargs)
        seen.append((f"{method} {path}", who, answer.status_code))
        assert answer.status_code in allowed, (method, path, who, answer.status_code, answer.text)
        assert answer.status_code < 500

    for who in WHO:
        await check(
            "POST",
            "/api/v1/hazards",
            who,
            expect(who, {"inspector_a", "supervisor_a", "supervisor_county"}),
            json=hazard(grid),
        )
        await check("GET", f"/api/v1/hazards/{hazard_id}", who, expect(who, READERS_IN_SCOPE))
        await check(
            "GET", f"/api/v1/hazards/{hazard_id}/history", who, expect(who, READERS_IN_SCOPE)
        )
        await check(
            "GET",
            f"/api/v1/hazards/{hazard_id}/as-of",
            who,
            expect(who, READERS_IN_SCOPE),
            params={"at": datetime.now(UTC).isoformat()},
        )
        await check("GET", "/api/v1/hazards", who, expect(who, set(WHO) - {"anonymous"}))
        await check(
            "GET", f"/api/v1/enterprises/{grid.enterprise_a}", who, expect(who, READERS_IN_SCOPE)
        )
        await check(
            "GET",
            f"/api/v1/enterprises/{grid.enterprise_a}/credit",
            who,
            expect(who, READERS_IN_SCOPE),
        )
        await check(
            "POST",
            f"/api/v1/enterprises/{grid.enterprise_a}/credit/objection",
            who,
            expect(who, {"enterprise_a"}),
            json={"statement": "异议"},
        )
        await check(
            "POST",
            f"/api/v1/enterprises/{grid.enterprise_a}/credit/decision",
            who,
            expect(who, {"supervisor_a", "supervisor_county"}),
            json={"list_enterprise": False, "basis": "依据"},
        )
        await check("GET", "/api/v1/grid-units", who, expect(who, set(WHO) - {"anonymous"}))
        await check(
            "GET",
            f"/api/v1/grid-units/{grid.township_a}",
            who,
            expect(who, set(WHO) - {"anonymous"}),
        )
        code = f"{grid.village_a}-N{uuid.uuid4().hex[:4]}"
        await check(
            "POST",
            "/api/v1/grid-units",
            who,
            expect(who, {"admin"}),
            json={
                "code": code,
                "name": "新社区",
                "level": "village",
                "parent_code": grid.township_a,
                "responsible_person": "郑",
            },
        )
        await check(
            "POST",
            "/api/v1/enterprises",
            who,
            expect(who, {"admin"}),
            json={
                "credit_code": grid.enterprise_b,
                "name": "重复",
                "industry": "x",
                "grid_code": grid.village_b,
            },
        )
        await check("GET", "/api/v1/enterprises", who, expect(who, set(WHO) - {"anonymous"}))
        await check(
            "GET",
            f"/api/v1/reports/monthly/{grid.township_a}/2026-10",
            who,
            expect(who, READERS_IN_SCOPE - {"enterprise_a", "inspector_a"} | {"inspector_a"}),
        )
        await check("GET", "/api/v1/blacklist", who, {200})
    # Case actions last: an allowed one may change the case (a withdrawal closes it).
    for action, (allowed, body) in case_actions.items():
        for who in WHO:
            await check(
                "POST",
                f"/api/v1/hazards/{hazard_id}/{action}",
                who,
                expect(who, allowed),
                json=body,
            )

    # Scoped lists show only what is in scope.
    listed = await client.get(
        "/api/v1/hazards",
        headers=grid.headers("supervisor_b"),
        params={"grid_unit": grid.township_a},
    )
    assert listed.status_code == 403
    own = await client.get(
        "/api/v1/hazards",
        headers=grid.headers("enterprise_b"),
        params={"enterprise": grid.enterprise_a},
    )
    assert own.status_code == 403
    assert len(seen) == len(WHO) * (16 + len(case_actions))
