"""Refusals are answers, never crashes: bad reference data, oversized or chunked bodies, bad
path and query values, Temporal out of reach — each a 4xx or 503 naming the field and the
rule, and nothing changed. A programming error, though, stays a 500: no catch-all hides it."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from temporalio.client import Client
from temporalio.service import RetryConfig
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from activities.reference_data import ReferenceData, ReferenceDataError
from api.app import create_app
from api.body_limit import MAX_BODY_BYTES
from domain.credit_code import make_credit_code
from domain.grid import GridLevel, GridUnit
from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import PHOTO, hazard

BIN = Path(sys.executable).parent


async def test_an_enterprise_with_a_bad_credit_code_is_refused_naming_the_field_and_rule(
    api: ApiHarness,
):
    grid, admin = api.grid, api.grid.headers("admin")

    async def create(**overrides: str) -> httpx.Response:
        body = {
            "credit_code": "",
            "name": "新企业",
            "industry": "机械",
            "grid_code": grid.village_a,
        }
        body.update(overrides)
        return await api.client.post("/api/v1/enterprises", json=body, headers=admin)

    good = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    for code, rule in [
        (wrong_check, "credit_code.gb32100_check"),
        ("91370782MA3C1234I5", "credit_code.gb32100_check"),  # I is not in the alphabet
    ]:
        answer = await create(credit_code=code)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == {
            "rule": rule,
            "message": answer.json()["error"]["message"],
            "field": "credit_code",
        }
        assert "GB 32100" in answer.json()["error"]["message"]
        assert api.services.reference.enterprise(code) is None
    township = await create(credit_code=good, grid_code=grid.township_a)
    assert township.status_code == 422
    assert township.json()["error"]["rule"] == "enterprise.grid.lowest_unit"
    created = await create(credit_code=good.lower())
    assert created.status_code == 201 and created.json()["credit_code"] == good
    again = await create(credit_code=good)
    assert again.status_code == 409 and again.json()["error"]["rule"] == "enterprise.exists"


async def test_an_empty_parent_code_is_refused_not_stored_as_a_reference_to_nothing(
    api: ApiHarness,
):
    admin = api.grid.headers("admin")
    code = f"P{uuid.uuid4().hex[:6].upper()}"
    unit = {"code": code, "name": "某省", "level": "province", "responsible_person": "王"}
    empty = await api.client.post(
        "/api/v1/grid-units", json={**unit, "parent_code": ""}, headers=admin
    )
    assert empty.status_code == 422, empty.text
    assert empty.json()["error"]["field"] == "parent_code"
    assert api.services.reference.grid_unit(code) is None
    with pytest.raises(ReferenceDataError) as refused:
        api.services.reference.add_grid_unit(
            GridUnit(code, "某省", GridLevel.PROVINCE, "", "王"), "test"
        )
    assert refused.value.field == "parent_code"
    assert api.services.reference.grid_unit(code) is None
    province = await api.client.post(
        "/api/v1/grid-units", json={**unit, "parent_code": None}, headers=admin
    )
    assert province.status_code == 201 and province.json()["parent_code"] is None
    nested = await api.client.post(
        "/api/v1/grid-units",
        json={**unit, "code": f"{code}-2", "parent_code": api.grid.province},
        headers=admin,
    )
    assert nested.status_code == 422
    assert nested.json()["error"]["rule"] == "grid.level.one_below_parent"
    blank_person = await api.client.post(
        "/api/v1/grid-units",
        json={**unit, "code": f"{code}-3", "responsible_person": " "},
        headers=admin,
    )
    assert blank_person.status_code == 422
    assert blank_person.json()["error"]["field"] == "responsible_person"


async def test_a_body_over_the_limit_is_refused_even_when_sent_in_chunks(api: ApiHarness):
    inspector = {**api.grid.headers("inspector_a"), "Content-Type": "application/json"}

    async def chunks(total: int) -> AsyncIterator[bytes]:
        yield b'{"description": "'
        sent = 0
        while sent < total:
            yield b"x" * 16384
            sent += 16384
        yield b'"}'

    chunked = await api.client.post(
        "/api/v1/hazards", content=chunks(MAX_BODY_BYTES + 1), headers=inspector
    )
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413, chunked.text
    assert chunked.json()["error"]["rule"] == "request.too_large"
    body = json.dumps(hazard(api.grid)).encode()

    async def small() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 50):
            yield body[start : start + 50]

    fits = await api.client.post("/api/v1/hazards", content=small(), headers=inspector)
    assert fits.status_code == 201, fits.text


async def test_path_query_and_header_values_have_limits_and_errors_name_the_plain_field(
    api: ApiHarness,
):
    auditor = api.grid.headers("auditor")
    cases = [
        ("/api/v1/hazards", {"grid_unit": "X" * 65}, "grid_unit"),
        ("/api/v1/hazards", {"grid_unit": "a/b"}, "grid_unit"),
        ("/api/v1/hazards", {"limit": 0}, "limit"),
        ("/api/v1/hazards", {"offset": -1}, "offset"),
        ("/api/v1/hazards", {"status": "asleep"}, "status.0"),
        ("/api/v1/hazards", {"level": "village"}, "level"),
        ("/api/v1/hazards", {"enterprise": "X" * 19}, "enterprise"),
        ("/api/v1/hazards/" + "H" * 81, {}, "hazard_id"),
        ("/api/v1/hazards/H-x/as-of", {"at": "x" * 65}, "at"),
        ("/api/v1/enterprises/913707", {}, "credit_code"),
        ("/api/v1/enterprises", {"grid_unit": "X" * 65}, "grid_unit"),
        ("/api/v1/grid-units", {"parent": "X" * 65}, "parent"),
        ("/api/v1/reports/weekly/X/2026-10", {}, "kind"),
        ("/api/v1/reports/monthly/X/2026-13", {}, "period"),
        ("/api/v1/reports/monthly/X/2026-10-01", {}, "period"),
        ("/api/v1/blacklist", {"status": "pending"}, "status"),
    ]
    for path, params, field in cases:
        answer = await api.client.get(path, params=params, headers=auditor)
        assert answer.status_code == 422, (path, params, answer.text)
        assert answer.json()["error"]["field"] == field, (path, params, answer.text)
    key = await api.client.post(
        "/api/v1/hazards",
        json=hazard(api.grid),
        headers={**api.grid.headers("inspector_a"), "Idempotency-Key": "k" * 201},
    )
    assert key.status_code == 422 and key.json()["error"]["field"] == "idempotency-key"
    unknown_route = await api.client.get("/api/v1/nothing-here", headers=auditor)
    assert unknown_route.status_code == 404 and unknown_route.json()["error"]["rule"] == "http.404"


async def test_a_programming_error_is_a_500_not_a_refusal(api: ApiHarness):
    async def broken() -> None:
        int("not a number")  # a ValueError no rule of ours means

    api.app.add_api_route("/api/v1/broken", broken)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app, raise_app_exceptions=False),
        base_url="http://duban.test",
    ) as client:
        answer = await client.get("/api/v1/broken")
    assert answer.status_code == 500


@pytest.fixture()
async def unreachable_temporal() -> AsyncIterator[Client]:
    """A real client whose server has gone away (it was started, then shut down)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    client = await Client.connect(
        env.client.service_client.config.target_host,
        retry_config=RetryConfig(
            initial_interval_millis=10, max_interval_millis=20, max_elapsed_time_millis=200
        ),
    )
    await env.shutdown()
    yield client


async def test_temporal_out_of_reach_is_a_503_and_readiness_says_so_without_details(
    api: ApiHarness, unreachable_temporal: Client
):
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(api.grid), headers=api.grid.headers("inspector_a")
    )
    hazard_id = created.json()["hazard_id"]
    cut_off = replace(api.services, temporal=unreachable_temporal)
    app = create_app(services=cut_off)
    target = unreachable_temporal.service_client.config.target_host
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://duban.test"
    ) as client:
        show = await client.get(
            f"/api/v1/hazards/{hazard_id}", headers=api.grid.headers("enterprise_a")
        )
        report = await client.post(
            f"/api/v1/hazards/{hazard_id}/rectification-report",
            json={"summary": "已整改", "evidence": [PHOTO]},
            headers=api.grid.headers("enterprise_a"),
        )
        register = await client.post(
            "/api/v1/hazards", json=hazard(api.grid), headers=api.grid.headers("inspector_a")
        )
        proceeding = await client.post(
            f"/api/v1/enterprises/{api.grid.enterprise_b}/credit/proceedings",
            json={"ground": "major_accident", "basis": "令第11号"},
            headers=api.grid.headers("supervisor_county"),  # a proceeding is the county's
        )
        ready = await client.get("/readyz")
    for answer in (show, report, register, proceeding):
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["rule"] == "temporal.unavailable"
        assert target not in answer.text
    assert ready.status_code == 503
    assert ready.json() == {
        "ready": False,
        "checks": {
            "database": {"ok": True, "reason": "ok"},
            "temporal": {"ok": False, "reason": "unreachable"},
        },
    }
    assert len(api.store.read_stream(f"case-{hazard_id}")) == 2  # the report changed nothing


async def test_readiness_hides_the_database_error_from_unauthenticated_callers(api: ApiHarness):
    dead = sa.create_engine("postgresql+psycopg2://duban_nobody@127.0.0.1:1/none")
    app = create_app(services=replace(api.services, engine=dead))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://duban.test"
    ) as client:
        ready = await client.get("/readyz")
    dead.dispose()
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == {"ok": False, "reason": "unreachable"}
    assert "127.0.0.1" not in ready.text and "duban_nobody" not in ready.text
    assert ready.json()["checks"]["temporal"] == {"ok": True, "reason": "ok"}


async def test_the_database_out_of_reach_is_a_503_that_names_no_address(api: ApiHarness):
    """Every request needs the database (the token is looked up there): with it gone each
    answers 503 ``database.unavailable``, reads and writes alike, and hides where it was."""
    dead = sa.create_engine("postgresql+psycopg2://duban_nobody@127.0.0.1:1/none")
    store = EventStore(dead)
    cut_off = replace(api.services, engine=dead, store=store, reference=ReferenceData(dead, store))
    app = create_app(services=cut_off)
    grid = api.grid
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://duban.test"
    ) as client:
        answers = [
            await client.get("/api/v1/hazards", headers=grid.headers("supervisor_county")),
            await client.post(
                "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
            ),
            await client.get("/api/v1/blacklist"),  # public: no token to look up
        ]
    dead.dispose()
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["rule"] == "database.unavailable", answer.text
        assert "127.0.0.1" not in answer.text and "duban_nobody" not in answer.text


async def test_a_case_whose_workflow_temporal_has_deleted_is_answered_from_the_record(
    api: ApiHarness,
):
    """After the namespace's retention Temporal deletes a closed case's workflow; the case is
    still duban's record. A server that has never seen the workflow answers NOT_FOUND exactly
    as one that deleted it, so the API is pointed at a second, empty one."""
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(api.grid, mode="immediate"),
        headers=api.grid.headers("inspector_a"),
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    live = await api.client.get(
        f"/api/v1/hazards/{hazard_id}", headers=api.grid.headers("enterprise_a")
    )
    assert live.status_code == 200 and live.json()["status"] == "closed", live.text
    empty = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    try:
        app = create_app(services=replace(api.services, temporal=empty.client))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://duban.test"
        ) as client:
            kept = await client.get(
                f"/api/v1/hazards/{hazard_id}", headers=api.grid.headers("enterprise_a")
            )
            outsider = await client.get(
                f"/api/v1/hazards/{hazard_id}", headers=api.grid.headers("enterprise_b")
            )
            # An open case's workflow is never deleted by retention: not found is a fault.
            opened = await api.client.post(
                "/api/v1/hazards", json=hazard(api.grid), headers=api.grid.headers("inspector_a")
            )
            still_open = await client.get(
                f"/api/v1/hazards/{opened.json()['hazard_id']}",
                headers=api.grid.headers("enterprise_a"),
            )
    finally:
        await empty.shutdown()
    assert kept.status_code == 200, kept.text
    answer = kept.json()
    assert answer.pop("answered_from") == "event store"
    assert answer == live.json(), "the record's fold is the state the workflow held"
    assert outsider.status_code == 403, "access is decided as before"
    assert still_open.status_code == 503, still_open.text
    assert still_open.json()["error"]["rule"] == "case.workflow_missing"


async def test_an_unregistered_enterprise_or_an_unknown_grid_unit_is_refused_naming_the_field(
    api: ApiHarness,
):
    grid = api.grid
    unregistered = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    before = api.store.head().position
    answer = await api.client.post(
        "/api/v1/hazards",
        json=hazard(grid, credit_code=unregistered),
        headers=grid.headers("inspector_a"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == {
        "rule": "enterprise.unknown",
        "message": f"no enterprise {unregistered}",
        "field": "credit_code",
    }
    nowhere = await api.client.post(
        "/api/v1/enterprises",
        json={
            "credit_code": unregistered,
            "name": "无处企业",
            "industry": "机械",
            "grid_code": "NO-SUCH-UNIT",
        },
        headers=grid.headers("admin"),
    )
    assert nowhere.status_code == 422, nowhere.text
    assert nowhere.json()["error"]["field"] == "grid_code", nowhere.text
    assert api.services.reference.enterprise(unregistered) is None
    assert api.store.head().position == before, "nothing was recorded"
