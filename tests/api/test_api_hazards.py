"""The HTTP API over a real stack: register, steer and read a case; refusals are 4xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import ApiHarness

PHOTO = {"uri": "s3://evidence/1.jpg", "sha256": "a" * 64}


def hazard(grid, **overrides):  # type: ignore[no-untyped-def]
    body = {
        "credit_code": grid.enterprise_a,
        "category": "thing",
        "source": "grid_patrol",
        "description": "配电箱门未关闭, 线路裸露",
        "location": "一号车间",
        "found_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "evidence": [PHOTO],
        "measures": "更换配电箱",
        "responsible_person": "张三 (设备科)",
    }
    body.update(overrides)
    return body


async def test_a_hazard_is_registered_steered_and_closed_through_the_api(api: ApiHarness):
    grid, client = api.grid, api.client
    created = await client.post(
        "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    assert created.json()["case"]["status"] == "rectifying"

    live = await client.get(f"/api/v1/hazards/{hazard_id}", headers=grid.headers("enterprise_a"))
    assert live.status_code == 200 and live.json()["version"] == 2

    reported = await client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "已更换", "evidence": [PHOTO]},
        headers=grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    assert reported.json()["status"] == "reported"
    verified = await client.post(
        f"/api/v1/hazards/{hazard_id}/verification",
        json={"passed": True},
        headers=grid.headers("supervisor_a"),
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "closed"

    history = await client.get(
        f"/api/v1/hazards/{hazard_id}/history", headers=grid.headers("auditor")
    )
    events = history.json()["items"]
    assert [e["event_type"] for e in events][-2:] == ["VerificationPassed", "CaseClosed"]
    assert events[2]["metadata"]["actor_role"] == "enterprise"
    assert events[2]["metadata"]["actor_id"].startswith("enterprise_a-")


async def test_a_retried_post_with_the_same_idempotency_key_returns_the_first_result(
    api: ApiHarness,
):
    grid, client = api.grid, api.client
    body = hazard(grid)
    headers = {**grid.headers("inspector_a"), "Idempotency-Key": "patrol-2026-11-22-001"}
    first = await client.post("/api/v1/hazards", json=body, headers=headers)
    again = await client.post("/api/v1/hazards", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content  # the same answer, byte for byte
    assert again.headers["content-type"] == first.headers["content-type"]
    other = await client.post(
        "/api/v1/hazards", json=hazard(grid, location="二号车间"), headers=headers
    )
    assert other.status_code == 422 and other.json()["error"]["rule"] == "idempotency.key_reused"
    stream = api.services.store.read_stream(f"case-{first.json()['hazard_id']}")
    assert [e.event_type for e in stream].count("HazardRegistered") == 1


async def test_a_domain_refusal_is_a_4xx_with_the_rule_never_a_500(api: ApiHarness):
    grid, client = api.grid, api.client
    created = await client.post(
        "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
    )
    hazard_id = created.json()["hazard_id"]
    early = await client.post(
        f"/api/v1/hazards/{hazard_id}/verification",
        json={"passed": True},
        headers=grid.headers("supervisor_a"),
    )
    assert early.status_code == 409
    assert early.json()["error"]["rule"] == "case.verify.requires_report"


async def test_bad_input_is_refused_naming_the_field(api: ApiHarness):
    grid, client = api.grid, api.client
    inspector = grid.headers("inspector_a")
    cases = [
        (hazard(grid, credit_code="91370782MA3C12345X"), 422, "credit_code"),
        (hazard(grid, credit_code="91370782MA3C123450"), 422, "credit_code"),
        (
            hazard(grid, deadline=(datetime.now(UTC) - timedelta(days=1)).isoformat()),
            422,
            "deadline",
        ),
        (hazard(grid, found_at="2026-13-01"), 422, "found_at"),
        (hazard(grid, found_at="2026-11-01T08:00:00"), 422, "found_at"),
        (hazard(grid, description=""), 422, "description"),
        (hazard(grid, evidence=[{"uri": "x", "sha256": "nothex"}]), 422, "evidence.0.sha256"),
        (hazard(grid, unknown_field=1), 422, "unknown_field"),
        (hazard(grid, hazard_class="major"), 422, "checklist_clause"),
    ]
    for body, status, field in cases:
        answer = await client.post("/api/v1/hazards", json=body, headers=inspector)
        assert answer.status_code == status, (field, answer.text)
        assert answer.json()["error"]["field"] == field, answer.text
    huge = await client.post(
        "/api/v1/hazards",
        content=b"{" + b" " * 300_000 + b"}",
        headers={**inspector, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    bad_as_of = await client.get(
        "/api/v1/hazards/H-x/as-of", params={"at": "yesterday"}, headers=grid.headers("auditor")
    )
    assert bad_as_of.status_code == 422 and bad_as_of.json()["error"]["field"] == "at"


async def test_the_public_register_needs_no_token_but_everything_else_does(api: ApiHarness):
    assert (await api.client.get("/api/v1/blacklist")).status_code == 200
    assert (await api.client.get("/api/v1/hazards")).status_code == 401
    bad = await api.client.get("/api/v1/hazards", headers={"Authorization": "Bearer dbn_x_y"})
    assert bad.status_code == 401 and bad.json()["error"]["rule"] == "auth.invalid"


async def test_health_readiness_and_metrics_answer_for_probes(api: ApiHarness):
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    metrics = await api.client.get("/metrics")
    assert metrics.status_code == 200 and "process_" in metrics.text


async def test_text_the_record_cannot_hold_is_refused_at_the_door_and_the_case_goes_on(
    api: ApiHarness,
):
    """A NUL or a lone surrogate in a person's text is a 422 naming the field, at once — for
    a registration and for an action on a running case — and the case stays usable."""
    grid, client = api.grid, api.client
    bad = await client.post(
        "/api/v1/hazards",
        json=hazard(grid, description="配电箱\u0000门未关闭"),
        headers=grid.headers("inspector_a"),
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["rule"] == "input.text_invalid"
    assert bad.json()["error"]["field"] == "description"

    created = await client.post(
        "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
    )
    hazard_id = created.json()["hazard_id"]
    refusal = await client.post(
        f"/api/v1/hazards/{hazard_id}/refusal",
        json={"details": "拒不整改\u0000"},
        headers=grid.headers("supervisor_a"),
    )
    assert refusal.status_code == 422, refusal.text
    assert refusal.json()["error"]["rule"] == "input.text_invalid"
    assert refusal.json()["error"]["field"] == "details"
    # A lone surrogate is not even valid JSON text: the request's own validation refuses it.
    surrogate = await client.post(
        f"/api/v1/hazards/{hazard_id}/refusal",
        content='{"details": "拒不整改\\ud931"}',
        headers={**grid.headers("supervisor_a"), "Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422, surrogate.text
    assert surrogate.json()["error"]["field"] == "details"
    withdrawn = await client.post(
        f"/api/v1/hazards/{hazard_id}/withdrawal",
        json={"reason": "经复核为误报"},
        headers=grid.headers("supervisor_a"),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
