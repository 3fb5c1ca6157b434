"""The role pages' forms over HTTP (the app over ASGI, real PostgreSQL and Temporal): a form
without its token is refused even for its own role and changes nothing; a form sent twice is
applied once (the API's Idempotency-Key ledger); the API's scope rules hold on every page
(another enterprise's case, another township's enterprise, a case the auditor names wrong).

Another role's session on these routes is refused by the console access matrix
(``test_console_matrix.py`` walks every declared route)."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from api.console.registry import REGISTRY
from tests.api.matrix import in_days
from tests.api.test_api_hazards import hazard
from tests.console.conftest import ROLE_OF, ConsoleHarness, form_token

GROUPS = ("inspector", "enterprise", "audit", "reference")


def head(console: ConsoleHarness) -> tuple[Any, ...]:
    with console.engine.connect() as conn:
        return (
            conn.execute(sa.text("SELECT coalesce(max(position), 0) FROM events")).scalar_one(),
            conn.execute(sa.text("SELECT count(*) FROM grid_units")).scalar_one(),
            conn.execute(sa.text("SELECT count(*) FROM enterprises")).scalar_one(),
            conn.execute(sa.text("SELECT count(*) FROM api_idempotency")).scalar_one(),
        )


async def register(console: ConsoleHarness, **overrides: Any) -> str:
    grid = console.api.grid
    created = await console.api.client.post(
        "/api/v1/hazards",
        json=hazard(grid, deadline=in_days(30), **overrides),
        headers=grid.headers("inspector_a"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["hazard_id"])


def key_of(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


async def test_a_form_without_its_token_is_refused_for_its_own_role_and_changes_nothing(
    console: ConsoleHarness,
):
    hazard_id = await register(console)
    grid = console.api.grid
    bodies = {
        "/console/inspector/register": {
            "credit_code": grid.enterprise_a,
            "category": "thing",
            "description": "伪造的登记",
            "location": "某处",
            "mode": "immediate",
        },
        "/console/enterprise/governance-plan": {"hazard_id": hazard_id},
        "/console/enterprise/rectification-report": {
            "hazard_id": hazard_id,
            "summary": "伪造",
            "evidence": "https://x.example/a " + "ab" * 32,
        },
        "/console/enterprise/extension-request": {"hazard_id": hazard_id},
        "/console/enterprise/credit/objection": {"statement": "伪造"},
        "/console/admin/grid": {"code": "FORGED", "name": "伪造", "level": "province"},
        "/console/admin/enterprises": {"credit_code": grid.enterprise_a},
        "/console/admin/reference-csv": {},
    }
    posts = [s for s in REGISTRY.values() if s.group in GROUPS and s.method == "POST"]
    assert {s.path for s in posts} == set(bodies), "a new form of these pages needs a body here"
    sessions: dict[str, Any] = {}
    for spec in posts:
        assert spec.roles is not None
        allowed = [w for w, role in ROLE_OF.items() if role in spec.roles]
        who = next((w for w in allowed if w.endswith("_a")), allowed[0])
        sessions.setdefault(who, await console.sign_in(who))
        before = head(console)
        answer = await sessions[who].post(spec.path, data=bodies[spec.path])
        assert answer.status_code == 403, (spec.path, answer.status_code, answer.text[:300])
        assert "csrf.invalid" in answer.text, spec.path
        assert head(console) == before, f"a token-less {spec.path} changed something"


async def test_a_registration_sent_twice_registers_one_hazard(console: ConsoleHarness):
    grid = console.api.grid
    client = await console.sign_in("inspector_a")
    page = (await client.get("/console/inspector/register")).text
    form = {
        "csrf_token": form_token(page),
        "idempotency_key": key_of(page),
        "found_at": re.search(r'name="found_at" type="datetime-local" value="([^"]+)"', page)[1],
        "credit_code": grid.enterprise_a,
        "hazard_class": "general",
        "category": "person",
        "source": "grid_patrol",
        "description": "作业人员未佩戴安全帽",
        "location": "装配车间",
        "mode": "immediate",
        "measures": "当场纠正",
        "responsible_person": "王五",
    }
    answers = [await client.post("/console/inspector/register", data=form) for _ in range(2)]
    assert [a.status_code for a in answers] == [303, 303], [a.text[:500] for a in answers]
    with console.engine.connect() as conn:
        registered = conn.execute(
            sa.text(
                "SELECT count(*) FROM events WHERE event_type = 'HazardRegistered'"
                " AND data ->> 'description' = :d"
            ),
            {"d": "作业人员未佩戴安全帽"},
        ).scalar_one()
    assert registered == 1


async def test_an_enterprise_cannot_read_or_act_on_another_enterprises_hazard(
    console: ConsoleHarness,
):
    hazard_id = await register(console)  # enterprise A's
    client = await console.sign_in("enterprise_b")
    page = await client.get(f"/console/enterprise/hazards/case?case={hazard_id}")
    assert page.status_code == 403 and "access.forbidden" in page.text
    own = await client.get("/console/enterprise/hazards")
    before = head(console)
    answer = await client.post(
        "/console/enterprise/rectification-report",
        data={
            "csrf_token": form_token(own.text),
            "hazard_id": hazard_id,
            "summary": "不是我们的隐患",
            "evidence": "https://x.example/a " + "ab" * 32,
        },
    )
    assert answer.status_code == 403 and "access.forbidden" in answer.text
    assert head(console)[0] == before[0]


async def test_the_inspector_finds_only_the_enterprises_of_its_grid(console: ConsoleHarness):
    grid = console.api.grid
    client = await console.sign_in("inspector_a")
    found = (await client.get("/console/inspector/enterprises", params={"q": "诸城"})).text
    assert grid.enterprise_a in found and grid.enterprise_b not in found
    by_code = await client.get("/console/inspector/enterprises", params={"q": grid.enterprise_a})
    assert grid.enterprise_a in by_code.text
    # A registration for another township's enterprise is the API's refusal, in the form.
    page = (await client.get("/console/inspector/register")).text
    refused = await client.post(
        "/console/inspector/register",
        data={
            "csrf_token": form_token(page),
            "credit_code": grid.enterprise_b,
            "category": "thing",
            "description": "越界登记",
            "location": "某处",
            "mode": "immediate",
        },
    )
    assert refused.status_code == 403 and "access.forbidden" in refused.text


async def test_the_auditor_is_told_when_a_case_or_an_instant_is_wrong(console: ConsoleHarness):
    hazard_id = await register(console)
    client = await console.sign_in("auditor")
    missing = await client.get("/console/audit", params={"case": "H-20260101-000000000000"})
    assert missing.status_code == 404
    bad = await client.get("/console/audit", params={"case": hazard_id, "at": "2026-02-30T10:00"})
    assert bad.status_code == 422 and "instant.rfc3339" in bad.text
    assert "<code>at</code>" in bad.text  # the field named
    ok = await client.get("/console/audit", params={"case": hazard_id, "version": 1})
    assert ok.status_code == 200 and "HazardRegistered" in ok.text


async def test_the_role_pages_never_read_the_database_on_the_event_loop(console: ConsoleHarness):
    """Their async routes (a registration, a case page, a case's forms, the objection, the CSV
    load) leave every database read to the thread pool, as the API's own routes do."""
    import httpx

    from tests.api.loop_guard import loop_guard

    grid = console.api.grid
    major = await register(
        console,
        hazard_class="major",
        checklist_clause="工贸企业重大事故隐患判定标准 第四条第（一）项",
        description="粉尘涉爆除尘系统未按规定设置泄爆装置",
    )
    with loop_guard(console.engine, check=False) as guard:

        def browser() -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=guard.wrap(console.app), client=("127.0.0.1", 1))
            client = httpx.AsyncClient(transport=transport, base_url="http://duban.test")
            console.clients.append(client)
            return client

        inspector = await console.sign_in("inspector_a", client=browser())
        page = (await inspector.get("/console/inspector/register")).text
        registered = await inspector.post(
            "/console/inspector/register",
            data={
                "csrf_token": form_token(page),
                "idempotency_key": key_of(page),
                "credit_code": grid.enterprise_a,
                "category": "thing",
                "description": "灭火器过期",
                "location": "仓库",
                "mode": "immediate",
                "responsible_person": "王五",
            },
        )
        assert registered.status_code == 303, registered.text[:500]
        enterprise = await console.sign_in("enterprise_a", client=browser())
        page = (await enterprise.get(f"/console/enterprise/hazards/case?case={major}")).text
        plan = await enterprise.post(
            "/console/enterprise/governance-plan",
            data={"csrf_token": form_token(page), "hazard_id": major, "goal_and_tasks": "x"},
        )
        assert plan.status_code == 422  # five parts missing: refused, named, nothing sent
        objection = await enterprise.post(
            "/console/enterprise/credit/objection",
            data={"csrf_token": form_token(page), "statement": "无程序可异议"},
        )
        assert objection.status_code in (404, 409), objection.text[:500]
        assert "error-summary" in objection.text  # the API's refusal, shown on the page
        admin = await console.sign_in("admin", client=browser())
        page = (await admin.get("/console/admin/enterprises")).text
        loaded = await admin.post(
            "/console/admin/reference-csv",
            data={"csrf_token": form_token(page)},
            files={"enterprises_file": ("e.csv", b"credit_code,name,industry,grid_code\n")},
        )
        assert loaded.status_code == 200
    assert guard.violations == [], guard.report()


async def test_the_enterprise_lodges_an_objection_within_the_window_once(console: ConsoleHarness):
    from activities.projections import Projector

    grid, code = console.api.grid, console.api.grid.enterprise_a
    opened = await console.api.client.post(
        f"/api/v1/enterprises/{code}/credit/proceedings",
        json={"ground": "major_accident", "basis": "应急管理部令第11号 第五条"},
        headers=grid.headers("supervisor_county"),
    )
    assert opened.status_code == 200, opened.text
    Projector(console.api.store).catch_up()
    client = await console.sign_in("enterprise_a")
    page = (await client.get("/console/enterprise/credit")).text
    assert "陈述与申辩内容" in page  # the window is open: the form is there
    form = {
        "csrf_token": form_token(page),
        "idempotency_key": key_of(page),
        "statement": "事故认定有误, 已提交证明材料",
    }
    answers = [await client.post("/console/enterprise/credit/objection", data=form) for _ in "12"]
    assert [a.status_code for a in answers] == [303, 303], [a.text[:300] for a in answers]
    with console.engine.connect() as conn:
        lodged = conn.execute(
            sa.text(
                "SELECT count(*) FROM events WHERE stream_id LIKE 'credit-%'"
                " AND data::text LIKE '%事故认定有误%'"
            )
        ).scalar_one()
    assert lodged == 1  # sent twice, recorded once
