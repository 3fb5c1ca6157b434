"""No request reads the database on the event loop's thread: every operation of the API, asked
once through the loop guard (``tests/api/loop_guard.py``), and the guard itself catching an
``async def`` route that does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from api.app import create_app
from domain.credit_code import make_credit_code
from tests.api.conftest import ApiHarness
from tests.api.loop_guard import loop_guard
from tests.api.matrix import FIVE_IMPLEMENTATIONS, GOVERNANCE_PLAN, register
from tests.api.test_api_hazards import PHOTO, hazard
from tests.blobs.samples import jpeg, png

PERIOD = "2001-01"


def _soon(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


REPORT = "R-" + "0" * 24  # no such report: each route still runs and answers 404


def _requests(
    api: ApiHarness, hazard_id: str, digest: str
) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(method, route, who, path, request options): every operation once, with a body it
    accepts as well formed (the case or record may still refuse it: the route ran)."""
    grid = api.grid
    case = f"/hazards/{hazard_id}"
    credit = f"/enterprises/{grid.enterprise_a}/credit"
    keyed = {"headers": {"Idempotency-Key": f"loop-{hazard_id}"}}
    return [
        ("POST", "/hazards", "inspector_a", "/hazards", {"json": hazard(grid), **keyed}),
        ("GET", "/hazards", "supervisor_a", "/hazards", {}),
        ("GET", "/hazards/{hazard_id}", "enterprise_a", case, {}),
        ("GET", "/hazards/{hazard_id}/history", "auditor", f"{case}/history", {}),
        ("GET", "/hazards/{hazard_id}/documents", "auditor", f"{case}/documents", {}),
        (
            "GET",
            "/hazards/{hazard_id}/documents/{short_code}/pdf",
            "auditor",
            f"{case}/documents/ZZZZ-ZZZZ/pdf",
            {},
        ),
        ("GET", "/public/documents/{short_code}", "anonymous", "/public/documents/ZZZZ-ZZZZ", {}),
        (
            "POST",
            "/files",
            "enterprise_a",
            "/files",
            {"files": {"file": ("整改.png", png(), "image/png")}},
        ),
        ("GET", "/hazards/{hazard_id}/files", "enterprise_a", f"{case}/files", {}),
        (
            "GET",
            "/hazards/{hazard_id}/files/{sha256}",
            "supervisor_a",
            f"{case}/files/{digest}",
            {},
        ),
        (
            "GET",
            "/hazards/{hazard_id}/files/{sha256}/thumbnail",
            "auditor",
            f"{case}/files/{digest}/thumbnail",
            {},
        ),
        (
            "GET",
            "/enterprises/{credit_code}/documents",
            "auditor",
            f"/enterprises/{grid.enterprise_a}/documents",
            {},
        ),
        (
            "GET",
            "/enterprises/{credit_code}/documents/{short_code}/pdf",
            "auditor",
            f"/enterprises/{grid.enterprise_a}/documents/ZZZZ-ZZZZ/pdf",
            {},
        ),
        (
            "GET",
            "/hazards/{hazard_id}/as-of",
            "auditor",
            f"{case}/as-of",
            {"params": {"at": datetime.now(UTC).isoformat()}},
        ),
        (
            "POST",
            "/hazards/{hazard_id}/governance-plan",
            "enterprise_a",
            f"{case}/governance-plan",
            {"json": GOVERNANCE_PLAN, **keyed},
        ),
        (
            "POST",
            "/hazards/{hazard_id}/extension-request",
            "enterprise_a",
            f"{case}/extension-request",
            {
                "json": {
                    "requested_deadline": _soon(120),
                    "reasons": "备件",
                    "interim_safeguards": "警戒",
                }
            },
        ),
        (
            "POST",
            "/hazards/{hazard_id}/extension-decision",
            "supervisor_a",
            f"{case}/extension-decision",
            {"json": {"approve": False, "reason": "理由不足"}},
        ),
        (
            "POST",
            "/hazards/{hazard_id}/listing",
            "supervisor_county",
            f"{case}/listing",
            {"json": {"level": "county", "listing_measures": FIVE_IMPLEMENTATIONS}},
        ),
        (
            "POST",
            "/hazards/{hazard_id}/rectification-report",
            "enterprise_a",
            f"{case}/rectification-report",
            {"json": {"summary": "已更换", "evidence": [PHOTO]}},
        ),
        (
            "POST",
            "/hazards/{hazard_id}/verification",
            "supervisor_a",
            f"{case}/verification",
            {"json": {"passed": False, "comments": "未完成", "new_deadline": _soon(30)}},
        ),
        (
            "POST",
            "/hazards/{hazard_id}/refusal",
            "supervisor_a",
            f"{case}/refusal",
            {"json": {"details": "拒不整改"}},
        ),
        (
            "POST",
            "/hazards/{hazard_id}/withdrawal",
            "supervisor_a",
            f"{case}/withdrawal",
            {"json": {"reason": "重复登记"}},
        ),
        (
            "POST",
            "/hazards/{hazard_id}/acceptance",
            "supervisor_a",
            f"{case}/acceptance",
            {"json": {"comments": "已受理"}},
        ),
        (
            "POST",
            "/grid-units",
            "admin",
            "/grid-units",
            {
                "json": {
                    "code": f"{grid.village_a}-X",
                    "name": "新区社区",
                    "level": "village",
                    "parent_code": grid.township_a,
                    "responsible_person": "网格员 李",
                }
            },
        ),
        ("GET", "/grid-units", "inspector_a", "/grid-units", {}),
        ("GET", "/grid-units/{code}", "inspector_a", f"/grid-units/{grid.township_a}", {}),
        (
            "POST",
            "/enterprises",
            "admin",
            "/enterprises",
            {
                "json": {
                    "credit_code": make_credit_code("91370782" + uuid.uuid4().hex[:9].upper()),
                    "name": "诸城某新材料有限公司",
                    "industry": "化工",
                    "grid_code": grid.village_a,
                }
            },
        ),
        ("GET", "/enterprises", "supervisor_a", "/enterprises", {}),
        (
            "GET",
            "/enterprises/{credit_code}",
            "enterprise_a",
            f"/enterprises/{grid.enterprise_a}",
            {},
        ),
        ("GET", "/enterprises/{credit_code}/credit", "supervisor_a", credit, {}),
        (
            "POST",
            "/enterprises/{credit_code}/credit/proceedings",
            "supervisor_county",
            f"{credit}/proceedings",
            {"json": {"ground": "major_accident", "basis": "《办法》第八条"}, **keyed},
        ),
        (
            "POST",
            "/enterprises/{credit_code}/credit/objection",
            "enterprise_a",
            f"{credit}/objection",
            {"json": {"statement": "事实不清"}},
        ),
        (
            "POST",
            "/enterprises/{credit_code}/credit/decision",
            "supervisor_county",
            f"{credit}/decision",
            {"json": {"list_enterprise": False, "basis": "证据不足"}},
        ),
        (
            "POST",
            "/enterprises/{credit_code}/credit/early-removal",
            "enterprise_a",
            f"{credit}/early-removal",
            {"json": {"statement": "已整改"}},
        ),
        (
            "POST",
            "/enterprises/{credit_code}/credit/early-removal/decision",
            "supervisor_county",
            f"{credit}/early-removal/decision",
            {"json": {"approve": False, "reason": "未满期限"}},
        ),
        (
            "POST",
            "/enterprises/{credit_code}/credit/early-removal/revocation",
            "supervisor_county",
            f"{credit}/early-removal/revocation",
            {"json": {"reason": "虚假材料"}},
        ),
        ("GET", "/blacklist", "anonymous", "/blacklist", {}),
        ("GET", "/public/listings", "anonymous", "/public/listings", {}),
        ("GET", "/public/reports/challenge", "anonymous", "/public/reports/challenge", {}),
        (
            "POST",
            "/public/reports",
            "anonymous",
            "/public/reports",
            {
                "json": {
                    "challenge": "not-issued-by-duban",
                    "nonce": "0",
                    "grid_unit_code": grid.village_a,
                    "place": "农贸市场",
                    "description": "违规存放液化气钢瓶",
                }
            },
        ),
        ("GET", "/public/reports/{receipt_code}", "anonymous", f"/public/reports/{'A' * 24}", {}),
        ("GET", "/public-reports", "supervisor_a", "/public-reports", {}),
        ("GET", "/public-reports/{report_id}", "admin", f"/public-reports/{REPORT}", {}),
        (
            "POST",
            "/public-reports/{report_id}/substantiation",
            "supervisor_a",
            f"/public-reports/{REPORT}/substantiation",
            {"json": {"hazard_ids": [hazard_id], "findings": "属实"}},
        ),
        (
            "POST",
            "/public-reports/{report_id}/dismissal",
            "supervisor_a",
            f"/public-reports/{REPORT}/dismissal",
            {"json": {"reason": "不属实"}},
        ),
        (
            "POST",
            "/public-reports/{report_id}/reward",
            "supervisor_county",
            f"/public-reports/{REPORT}/reward",
            {"json": {"hazard_class": "general"}},
        ),
        (
            "GET",
            "/statistics/{kind}/{unit_code}/{period}",
            "auditor",
            f"/statistics/monthly/{grid.township_a}/{PERIOD}",
            {},
        ),
        (
            "GET",
            "/reports/{kind}/{unit_code}/{period}",
            "auditor",
            f"/reports/monthly/{grid.township_a}/{PERIOD}",
            {},
        ),
        ("GET", "/inbox", "admin", "/inbox?unread=true", {}),
        ("POST", "/inbox/{message_id}/read", "admin", "/inbox/1/read", {}),
        (
            "GET",
            "/ledger/{unit_code}",
            "supervisor_a",
            f"/ledger/{grid.township_a}",
            {"params": {"from": "2026-01-01", "to": "2026-12-31"}},
        ),
    ]


async def test_no_operation_reads_the_database_on_the_event_loop(isolated_api: ApiHarness):
    """Every operation of the API, asked once with a well-formed request: what reads the
    database runs in the thread pool, and the loop stays free for every other request."""
    api = isolated_api
    uploaded = await api.client.post(
        "/api/v1/files",
        files={"file": ("现场.jpg", jpeg(), "image/jpeg")},
        headers=api.grid.headers("inspector_a"),
    )
    digest = uploaded.json()["sha256"]
    hazard_id = await register(api, "inspector_a", evidence=[{"sha256": digest}])
    asked = _requests(api, hazard_id, digest)
    operations = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, declared in api.app.openapi()["paths"].items()
        for method in declared
    }
    # A new operation is asked here too, or this fails: the guard must see it.
    assert {(method, route) for method, route, *_ in asked} == operations
    with loop_guard(api.store.engine, check=False) as guard:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=guard.wrap(api.app)), base_url="http://duban.test"
        ) as client:
            for method, _, who, path, options in asked:
                headers = {} if who == "anonymous" else dict(api.grid.headers(who))
                headers |= options.pop("headers", {})
                answer = await client.request(method, f"/api/v1{path}", headers=headers, **options)
                # Handled by the route (not refused for its form before it ran).
                assert answer.status_code not in (401, 405), (method, path, answer.text)
                refusal = answer.json().get("error") or {} if answer.status_code >= 400 else {}
                assert refusal.get("rule") != "request.invalid", (method, path, answer.text)
            for probe in ("/healthz", "/readyz", "/metrics"):
                assert (await client.get(probe)).status_code == 200
    assert guard.violations == [], guard.report()


async def test_the_guard_catches_an_async_route_that_reads_the_database_on_the_loop(
    api: ApiHarness,
):
    """What the guard is for: an ``async def`` route reading the database synchronously —
    the regression it must catch — is named, with the code that did it."""
    engine = api.store.engine
    app = create_app(services=api.services)

    async def blocking() -> dict[str, int]:
        with engine.connect() as conn:  # the mistake: sync I/O on the event loop
            return {"one": conn.execute(text("SELECT 1")).scalar_one()}

    def in_the_pool() -> dict[str, int]:
        with engine.connect() as conn:
            return {"one": conn.execute(text("SELECT 1")).scalar_one()}

    app.add_api_route("/api/v1/blocking", blocking)
    app.add_api_route("/api/v1/in-the-pool", in_the_pool)
    with loop_guard(engine, check=False) as guard:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=guard.wrap(app)), base_url="http://duban.test"
        ) as client:
            assert (await client.get("/api/v1/in-the-pool")).json() == {"one": 1}
            assert guard.violations == []
            assert (await client.get("/api/v1/blocking")).json() == {"one": 1}
    assert len(guard.violations) == 1, guard.report()
    assert guard.violations[0].startswith("GET /api/v1/blocking read the database on the event")
    assert "the mistake: sync I/O on the event loop" in guard.violations[0]
