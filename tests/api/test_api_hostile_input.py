"""Hostile input gets a 4xx in the project's error shape that names the field and the rule,
never a 500, and changes nothing: NUL and lone surrogates in any string, bytes that are not
UTF-8, duplicated keys, deep nesting, instants that are not RFC 3339 strings, deadlines beyond
the policy, filters naming what does not exist, a bad Authorization header, an undeclared
method."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.credit_code import make_credit_code
from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import PHOTO, hazard

JSON = {"Content-Type": "application/json"}


def raw(body: dict[str, Any]) -> bytes:
    """The body as JSON text with ASCII escapes: a lone surrogate travels as \\ud800."""
    return json.dumps(body, ensure_ascii=True).encode()


def refused(answer: httpx.Response, status: int, rule: str, field: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers["content-type"] == "application/json", answer.headers
    error = answer.json()["error"]
    assert (error["rule"], error["field"]) == (rule, field), error
    assert error["message"], error


async def test_nul_and_lone_surrogates_in_any_string_are_refused_naming_the_field(
    api: ApiHarness,
):
    grid = api.grid
    inspector, admin = grid.headers("inspector_a"), grid.headers("admin")
    before = api.store.head().position
    for value in ("9137\x00" + "0" * 13, "\x00", "\ud800", "a\udfffb"):
        for path, body, headers, field in [
            ("/api/v1/hazards", hazard(grid, credit_code=value), inspector, "credit_code"),
            ("/api/v1/hazards", hazard(grid, description=value), inspector, "description"),
            (
                "/api/v1/grid-units",
                {"code": "U1", "name": value, "level": "province", "responsible_person": "王"},
                admin,
                "name",
            ),
            (
                "/api/v1/grid-units",
                {"code": "U1", "name": "省", "level": "province", "responsible_person": value},
                admin,
                "responsible_person",
            ),
            (
                "/api/v1/enterprises",
                {
                    "credit_code": grid.enterprise_a,
                    "name": value,
                    "industry": "机械",
                    "grid_code": grid.village_a,
                },
                admin,
                "name",
            ),
            (
                "/api/v1/enterprises",
                {
                    "credit_code": grid.enterprise_a,
                    "name": "新企业",
                    "industry": value,
                    "grid_code": grid.village_a,
                },
                admin,
                "industry",
            ),
        ]:
            answer = await api.client.post(path, content=raw(body), headers={**headers, **JSON})
            refused(answer, 422, "input.text_invalid", field)
    nested = hazard(grid, evidence=[{"uri": "s3://x\x00", "sha256": "a" * 64}])
    answer = await api.client.post(
        "/api/v1/hazards", content=raw(nested), headers={**inspector, **JSON}
    )
    refused(answer, 422, "input.text_invalid", "evidence.0.uri")
    assert api.store.head().position == before, "nothing was recorded"


async def test_nul_in_a_query_or_path_parameter_is_refused_naming_it(api: ApiHarness):
    auditor = api.grid.headers("auditor")
    for path, params, field in [
        ("/api/v1/hazards", {"enterprise": "9137\x00" + "0" * 13}, "enterprise"),
        ("/api/v1/hazards", {"grid_unit": "P\x00"}, "grid_unit"),
        ("/api/v1/enterprises", {"grid_unit": "P\x00"}, "grid_unit"),
        ("/api/v1/grid-units", {"parent": "P\x00"}, "parent"),
        ("/api/v1/hazards/H-1/as-of", {"at": "2026-12-08T09:30:00\x00+08:00"}, "at"),
        ("/api/v1/hazards/H-%00", {}, "hazard_id"),
        ("/api/v1/enterprises/9137%00" + "0" * 13, {}, "credit_code"),
        ("/api/v1/reports/monthly/X/2026%0010", {}, "period"),
    ]:
        answer = await api.client.get(path, params=params, headers=auditor)
        assert answer.status_code == 422, (path, params, answer.text)
        assert answer.json()["error"]["field"] == field, (path, answer.text)


async def test_a_body_that_is_not_utf8_or_too_deep_is_refused_in_the_error_shape(
    api: ApiHarness,
):
    headers = {**api.grid.headers("inspector_a"), **JSON}
    text = json.dumps(hazard(api.grid), ensure_ascii=False).encode()
    broken = text.replace("配电箱".encode(), b"\xff\xfe")
    answer = await api.client.post("/api/v1/hazards", content=broken, headers=headers)
    refused(answer, 422, "request.body.not_utf8", "description")
    answer = await api.client.post("/api/v1/hazards", content=b"\xff{}", headers=headers)
    refused(answer, 422, "request.body.not_utf8", "body")
    for depth in (40, 5000):
        deep = b'{"listing_measures": ' + b"[" * depth + b"]" * depth + b"}"
        answer = await api.client.post("/api/v1/hazards", content=deep, headers=headers)
        refused(answer, 422, "request.json.too_deep", "listing_measures" + ".0" * 32)
    for not_json in (b'{"description": ', b'{"description": NaN}', b'{"n": 1' + b"0" * 5000 + b"}"):
        answer = await api.client.post("/api/v1/hazards", content=not_json, headers=headers)
        refused(answer, 422, "request.json.invalid", "body")
    missing = await api.client.post("/api/v1/hazards", headers=api.grid.headers("inspector_a"))
    refused(missing, 422, "request.invalid", "body")


async def test_a_duplicated_key_is_refused_naming_it_not_resolved_to_its_last_value(
    api: ApiHarness,
):
    headers = {**api.grid.headers("inspector_a"), **JSON}
    body = raw(hazard(api.grid))
    twice = body[:-1] + b', "location": "\\u4e8c\\u53f7\\u8f66\\u95f4"}'
    answer = await api.client.post("/api/v1/hazards", content=twice, headers=headers)
    refused(answer, 422, "request.json.duplicate_key", "location")
    five = {"responsibility": "厂长", "measures": "更换", "funds": "1万元"}
    five_text = json.dumps(five)[:-1] + ', "funds": "2万元", "time_limit": "30日"}'
    nested = body[:-1] + b', "listing_measures": ' + five_text.encode() + b"}"
    answer = await api.client.post("/api/v1/hazards", content=nested, headers=headers)
    refused(answer, 422, "request.json.duplicate_key", "listing_measures.funds")


async def test_instants_are_rfc3339_strings_only(api: ApiHarness):
    headers = api.grid.headers("inspector_a")
    for value in (4102444800, 4102444800.5, "4102444800", "2026-12-08", "2026-12-08T09:30:00"):
        for field in ("found_at", "deadline"):
            answer = await api.client.post(
                "/api/v1/hazards", json=hazard(api.grid, **{field: value}), headers=headers
            )
            refused(answer, 422, "instant.rfc3339", field)
    created = await api.client.post("/api/v1/hazards", json=hazard(api.grid), headers=headers)
    hazard_id = created.json()["hazard_id"]
    answer = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/as-of",
        params={"at": "4102444800"},
        headers=api.grid.headers("auditor"),
    )
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "at", answer.text


async def test_a_deadline_beyond_the_policys_longest_period_is_refused_where_it_is_given(
    api: ApiHarness,
):
    """Not the year 2200: a registration's deadline, a listing's, a failed verification's,
    an extension asked for — each at most the policy's longest period (P1Y) ahead."""
    grid = api.grid
    far = (datetime.now(UTC).replace(year=2200)).isoformat()
    two_years = (datetime.now(UTC) + timedelta(days=730)).isoformat()
    for deadline in (far, two_years):
        answer = await api.client.post(
            "/api/v1/hazards",
            json=hazard(grid, deadline=deadline),
            headers=grid.headers("inspector_a"),
        )
        refused(answer, 422, "case.deadline.beyond_policy", "deadline")
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
    )
    case = f"/api/v1/hazards/{created.json()['hazard_id']}"
    version = (await api.client.get(case, headers=grid.headers("auditor"))).json()["version"]
    supervisor, enterprise = grid.headers("supervisor_county"), grid.headers("enterprise_a")
    five = {
        "responsibility": "厂长 张",
        "measures": "停用并更换",
        "funds": "20万元",
        "time_limit": "30日",
        "emergency_plan": "专项预案",
    }
    listing = {"level": "county", "deadline": far, "listing_measures": five}
    answer = await api.client.post(f"{case}/listing", json=listing, headers=supervisor)
    refused(answer, 422, "case.deadline.beyond_policy", "deadline")
    extension = {
        "requested_deadline": two_years,
        "reasons": "设备到货延迟",
        "interim_safeguards": "停用",
    }
    answer = await api.client.post(f"{case}/extension-request", json=extension, headers=enterprise)
    refused(answer, 422, "case.deadline.beyond_policy", "requested_deadline")
    reported = await api.client.post(
        f"{case}/rectification-report",
        json={"summary": "已整改", "evidence": [PHOTO]},
        headers=enterprise,
    )
    assert reported.status_code == 200, reported.text
    failed = {"passed": False, "comments": "未整改到位", "new_deadline": far}
    answer = await api.client.post(f"{case}/verification", json=failed, headers=supervisor)
    refused(answer, 422, "case.deadline.beyond_policy", "new_deadline")
    after = (await api.client.get(case, headers=grid.headers("auditor"))).json()["version"]
    assert after == version + 1, "only the report was recorded"


async def test_filters_naming_what_does_not_exist_answer_as_the_enterprise_list_does(
    api: ApiHarness,
):
    grid = api.grid
    unregistered = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    wrong_check = unregistered[:17] + ("0" if unregistered[17] != "0" else "1")
    for who in ("auditor", "supervisor_county", "inspector_a"):
        headers = grid.headers(who)
        for path, params, status, field in [
            ("/api/v1/hazards", {"grid_unit": "NO-SUCH-UNIT"}, 404, "grid_unit"),
            ("/api/v1/hazards", {"enterprise": wrong_check}, 422, "enterprise"),
            ("/api/v1/hazards", {"enterprise": unregistered}, 404, "enterprise"),
            ("/api/v1/grid-units", {"parent": "NO-SUCH-UNIT"}, 404, "parent"),
            ("/api/v1/enterprises", {"grid_unit": "NO-SUCH-UNIT"}, 404, "grid_unit"),
        ]:
            answer = await api.client.get(path, params=params, headers=headers)
            assert answer.status_code == status, (who, path, params, answer.text)
            assert answer.json()["error"]["field"] == field, (who, path, answer.text)
    wrong = await api.client.get(
        "/api/v1/hazards", params={"enterprise": wrong_check}, headers=grid.headers("auditor")
    )
    assert wrong.json()["error"]["rule"] == "credit_code.gb32100_check"
    for path in ("/api/v1/blacklist", "/api/v1/public/listings"):
        answer = await api.client.get(path, params={"grid_unit": "NO-SUCH-UNIT"})
        refused(answer, 404, "not_found", "grid_unit")
    own = await api.client.get(
        "/api/v1/hazards",
        params={"enterprise": grid.enterprise_b},
        headers=grid.headers("enterprise_a"),
    )
    assert own.status_code == 403, "another enterprise's hazards stay forbidden"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer " + "x" * 400,
        "Bearer " + "dbn_" + "x" * 5000,
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "dbn_x",
    ],
    ids=["long", "very-long", "basic", "no-token", "no-scheme"],
)
async def test_an_over_long_or_malformed_authorization_header_is_401(
    api: ApiHarness, authorization: str
):
    answer = await api.client.get("/api/v1/hazards", headers={"Authorization": authorization})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["field"] == "authorization"
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_an_undeclared_method_is_405_with_allow_naming_every_method_of_the_path(
    api: ApiHarness,
):
    auditor = api.grid.headers("auditor")
    for method, path, allowed in [
        ("TRACE", "/api/v1/hazards", "GET, HEAD, POST"),
        ("DELETE", "/api/v1/hazards/H-1", "GET, HEAD"),
        ("PUT", "/api/v1/hazards/H-1/verification", "POST"),
        ("PATCH", "/api/v1/public/listings", "GET, HEAD"),
    ]:
        answer = await api.client.request(method, path, headers=auditor)
        assert answer.status_code == 405, (method, path, answer.text)
        assert answer.headers["allow"] == allowed, (method, path, answer.headers)
        assert answer.json()["error"]["rule"] == "http.405"


def test_the_openapi_document_states_every_refusal_and_the_rules_of_text_and_time(
    api: ApiHarness,
):
    document = api.app.openapi()
    assert document["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "dbn_…",
        "description": "a token issued by `duban token create`",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "404", "413", "422", "503"} <= statuses, (method, path, statuses)
            public = path in (
                "/api/v1/blacklist",
                "/api/v1/public/listings",
                "/api/v1/public/documents/{short_code}",
            ) or path.startswith("/api/v1/public/reports")
            assert ("security" in operation) is not public, (method, path)
            names = {p["name"] for p in operation.get("parameters", [])}
            assert "authorization" not in {n.lower() for n in names}, (method, path)
    hazard_in = document["components"]["schemas"]["HazardIn"]["properties"]
    assert hazard_in["found_at"]["format"] == "date-time" and "pattern" in hazard_in["found_at"]
    assert "\\x00" in hazard_in["description"]["pattern"]
    assert hazard_in["credit_code"]["pattern"] == "^[0-9A-Za-z]{18}$"
