"""Every endpoint × every role × in and out of scope, and the exact answer each must get.

Each test runs over a database of its own, so a list or a register can be asserted to the row:
what a township's supervisor sees is its township, the county's sees both, an enterprise sees
itself. Refusals change nothing: the version of the case (or credit record) they aimed at is
the same afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.reports import content_bytes
from domain.credit_code import make_credit_code
from tests.api.conftest import ApiHarness
from tests.api.matrix import (
    OUTSIDE_A,
    READERS_OF_A,
    SUPERVISORS_OF_A,
    Matrix,
    answers,
    credit_codes,
    each,
    hazard_ids,
    rule,
)
from tests.api.test_api_hazards import PHOTO, hazard
from workflows.ids import case_stream_id, credit_stream_id
from workflows.reports import ReportInput, ReportWorkflow, period_before, report_key

GOVERNANCE_PLAN = {
    key: f"{key} 的具体内容"
    for key in (
        "goal_and_tasks",
        "methods_and_measures",
        "funds_and_materials",
        "organisation_and_people",
        "time_limit_and_requirements",
        "safety_measures_and_emergency_plan",
    )
}


FIVE_IMPLEMENTATIONS = {
    "responsibility": "厂长负总责, 设备科长具体负责",
    "measures": "更换配电箱, 线路穿管",
    "funds": "专项资金 2 万元",
    "time_limit": "30 日内完成",
    "emergency_plan": "临时断电, 设置警戒区",
}


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def register(api: ApiHarness, who: str = "inspector_a", **overrides: Any) -> str:
    body = hazard(api.grid, deadline=in_days(90), **overrides)
    created = await api.client.post("/api/v1/hazards", json=body, headers=api.grid.headers(who))
    assert created.status_code == 201, created.text
    hazard_id: str = created.json()["hazard_id"]
    return hazard_id


def case_version(api: ApiHarness, hazard_id: str) -> int:
    return len(api.store.read_stream(case_stream_id(hazard_id)))


# ---------------------------------------------------------------------- reading


async def test_every_reading_endpoint_answers_each_role_exactly_what_its_scope_holds(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    matrix = Matrix(api)
    found_at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    in_a = await register(api, "inspector_a", found_at=found_at)
    in_b = await register(api, "inspector_b", credit_code=grid.enterprise_b, found_at=found_at)
    # The last whole month: a report covers a period that has ended.
    period = period_before("monthly", datetime.now(UTC), api.services.policy.tz)
    api.project()
    await api.env.client.execute_workflow(
        ReportWorkflow.run,
        ReportInput("monthly", period, grid.township_a),
        id=report_key("monthly", grid.township_a, period),
        task_queue=api.services.task_queue,
    )
    api.project()
    a, b = grid.enterprise_a, grid.enterprise_b
    unknown_code = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())

    def case_of_a(body: Any) -> None:
        assert body["hazard_id"] == in_a and body["status"] == "rectifying", body

    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}",
        answers(403, **each(READERS_OF_A, (200, case_of_a))),
    )

    def history_of_a(body: Any) -> None:
        types = [e["event_type"] for e in body["items"]]
        assert body["items"][0]["data"]["hazard_id"] == in_a, body  # the page of in_a's stream
        assert types[0] == "HazardRegistered" and body["total"] == len(types), body
        assert body["items"][0]["metadata"]["actor_role"] == "inspector"

    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/history",
        answers(403, **each(READERS_OF_A, (200, history_of_a))),
    )

    def state_of_a(body: Any) -> None:
        assert body["state"]["status"] == "rectifying", body

    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/as-of",
        answers(403, **each(READERS_OF_A, (200, state_of_a))),
        params={"at": datetime.now(UTC).isoformat()},
    )
    await matrix.row("GET", "/api/v1/hazards/H-no-such-case", answers(404))
    both = hazard_ids(in_a, in_b)
    await matrix.row(
        "GET",
        "/api/v1/hazards",
        answers(
            (200, both),
            **each(("inspector_a", "supervisor_a", "enterprise_a"), (200, hazard_ids(in_a))),
            **each(OUTSIDE_A, (200, hazard_ids(in_b))),
        ),
    )
    await matrix.row(
        "GET",
        "/api/v1/hazards",
        answers(
            (200, hazard_ids(in_a)),
            inspector_b=403,
            supervisor_b=403,
            enterprise_b=(200, hazard_ids()),
        ),
        params={"grid_unit": grid.township_a},
    )
    await matrix.row(
        "GET",
        "/api/v1/hazards",
        answers(
            (200, hazard_ids(in_a)),
            inspector_b=(200, hazard_ids()),
            supervisor_b=(200, hazard_ids()),
            enterprise_b=403,
        ),
        params={"enterprise": a},
    )

    def enterprise_a(body: Any) -> None:
        assert body == {
            "credit_code": a,
            "name": "诸城某机械有限公司",
            "industry": "机械",
            "grid_code": grid.village_a,
        }

    await matrix.row(
        "GET",
        f"/api/v1/enterprises/{a}",
        answers(403, **each(READERS_OF_A, (200, enterprise_a))),
    )
    await matrix.row("GET", f"/api/v1/enterprises/{unknown_code}", answers(404))

    def credit_of_a(body: Any) -> None:
        assert body["credit_code"] == a and body["grid_code"] == grid.village_a, body
        assert (body["cases_registered"], body["open_cases"], body["overdue_cases"]) == (1, 1, 0)
        assert body["blacklisted"] is False and body["entries"] == [], body

    await matrix.row(
        "GET",
        f"/api/v1/enterprises/{a}/credit",
        answers(403, **each(READERS_OF_A, (200, credit_of_a))),
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, credit_codes(a, b)),
            **each(("inspector_a", "supervisor_a", "enterprise_a"), (200, credit_codes(a))),
            **each(OUTSIDE_A, (200, credit_codes(b))),
        ),
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, credit_codes(a)),
            inspector_b=403,
            supervisor_b=403,
            enterprise_b=(200, credit_codes()),
        ),
        params={"grid_unit": grid.township_a},
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers((200, credit_codes(a, b)), **each(("inspector_a", "supervisor_a"), 403))
        | {
            "inspector_b": 403,
            "supervisor_b": 403,
            "enterprise_a": (200, credit_codes(a)),
            "enterprise_b": (200, credit_codes(b)),
        },
        params={"grid_unit": grid.county},
    )

    # The enterprise list is the read model's: each line with its cases and its credit.
    line_of_a = {
        "credit_code": a,
        "name": "诸城某机械有限公司",
        "industry": "机械",
        "grid_code": grid.village_a,
        "grid_path": [grid.village_a, grid.township_a, grid.county, grid.city, grid.province],
        "cases_registered": 1,
        "open_cases": 1,
        "overdue_cases": 0,
        "credit_state": "no_record",
        # Every enterprise has a grade: with no credit record, the default policy's grade for
        # nothing recorded (100 base points: A). It read None before.
        "rating": "A",
        "rating_points": 100,
        "blacklisted": False,
        "blacklisted_until": None,
        "open_proceeding_no": None,
    }

    def only_line_of_a(body: Any) -> None:
        assert body["items"] == [line_of_a], body

    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            403,
            **each(READERS_OF_A, (200, only_line_of_a)),
            enterprise_b=(200, credit_codes()),
        ),
        params={"grid_unit": grid.village_a},
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, credit_codes()),
            **each(("inspector_b", "supervisor_b"), 403),
            **each(("inspector_a", "supervisor_a"), 403),
        ),
        params={"grid_unit": grid.county, "rating": "D"},
    )
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, credit_codes(a, b)),
            **each(("inspector_a", "supervisor_a", "enterprise_a"), (200, credit_codes(a))),
            **each(OUTSIDE_A, (200, credit_codes(b))),
        ),
        params={"blacklisted": "false"},
    )
    await matrix.row("GET", "/api/v1/enterprises", answers(404), params={"grid_unit": "NO-SUCH"})
    paged = await api.client.get(
        "/api/v1/enterprises", params={"limit": 1, "offset": 1}, headers=grid.headers("auditor")
    )
    assert [e["credit_code"] for e in paged.json()["items"]] == [max(a, b)], paged.json()
    assert paged.json()["total"] == 2

    def all_units(body: Any) -> None:
        assert sorted(u["code"] for u in body["items"]) == grid.unit_codes, body

    await matrix.row("GET", "/api/v1/grid-units", answers((200, all_units)))

    def villages_of_a(body: Any) -> None:
        assert [u["code"] for u in body["items"]] == [grid.village_a], body

    await matrix.row(
        "GET",
        "/api/v1/grid-units",
        answers((200, villages_of_a)),
        params={"parent": grid.township_a},
    )

    def township_a(body: Any) -> None:
        assert body["code"] == grid.township_a and body["level"] == "township", body
        path = [u["code"] for u in body["path"]]
        assert path == [grid.township_a, grid.county, grid.city, grid.province], body

    await matrix.row("GET", f"/api/v1/grid-units/{grid.township_a}", answers((200, township_a)))
    await matrix.row("GET", "/api/v1/grid-units/NO-SUCH-UNIT", answers(404))

    def monthly_of_a(body: Any) -> None:
        assert (body["kind"], body["unit_code"], body["period"]) == (
            "monthly",
            grid.township_a,
            period,
        )
        assert body["content"]["unit"]["code"] == grid.township_a
        assert body["content"]["found"] == 0, body["content"]  # the cases are this month's
        assert body["content_sha256"] == hashlib.sha256(content_bytes(body["content"])).hexdigest()

    report_readers = ("inspector_a", "supervisor_a", "supervisor_county", "auditor", "admin")
    await matrix.row(
        "GET",
        f"/api/v1/reports/monthly/{grid.township_a}/{period}",
        answers(403, **each(report_readers, (200, monthly_of_a))),
    )
    await matrix.row(
        "GET",
        f"/api/v1/reports/monthly/{grid.township_a}/2001-01",
        answers(403, **each(report_readers, 404)),
    )

    # The statistics page computes what the stored report holds, for the same readers.
    stored = api.store.read_stream(report_key("monthly", grid.township_a, period))[0].data

    def statistics_of_a(body: Any) -> None:
        assert (body["kind"], body["unit_code"], body["period"]) == (
            "monthly",
            grid.township_a,
            period,
        )
        assert body["period_ended"] is True and body["content"] == stored["content"], body

    await matrix.row(
        "GET",
        f"/api/v1/statistics/monthly/{grid.township_a}/{period}",
        answers(403, **each(report_readers, (200, statistics_of_a))),
    )

    def found_this_month(body: Any) -> None:
        assert body["period_ended"] is False and body["content"]["found"] == 2, body

    this_month = datetime.now(api.services.policy.tz).strftime("%Y-%m")
    await matrix.row(
        "GET",
        f"/api/v1/statistics/monthly/{grid.county}/{this_month}",
        answers(403, **each(("supervisor_county", "auditor", "admin"), (200, found_this_month))),
    )
    await matrix.row(
        "GET",
        f"/api/v1/statistics/yearly/{grid.township_a}/2026-13",
        answers((422, rule("report.period.invalid"))),
    )
    await matrix.row(
        "GET",
        "/api/v1/statistics/yearly/NO-SUCH-UNIT/2026",
        answers(403, **each(("auditor", "admin"), 404)),
    )

    def empty_register(body: Any) -> None:
        assert body == {"total": 0, "limit": 50, "offset": 0, "items": []}, body

    await matrix.row(
        "GET", "/api/v1/blacklist", answers((200, empty_register), anonymous=(200, empty_register))
    )
    await matrix.row(
        "GET",
        "/api/v1/public/listings",
        answers((200, empty_register), anonymous=(200, empty_register)),
    )
    assert len(matrix.rows) == 29


# ---------------------------------------------------------------------- acting on cases


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


# ---------------------------------------------------------------------- credit and the list


async def test_credit_proceedings_run_through_the_api_for_their_roles_and_no_one_else(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    matrix = Matrix(api)
    env = api.env
    reference = api.services.reference
    a = grid.enterprise_a
    # A second enterprise in village A for the county's supervisor to act on (and its token,
    # needed to apply for its early removal).
    from api.auth import create_token
    from domain.grid import Enterprise

    a2 = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    reference.add_enterprise(Enterprise(a2, "诸城某食品有限公司", "食品", grid.village_a), "setup")
    grid.tokens["enterprise_a2"] = create_token(
        api.store.engine, reference, "enterprise", a2, "enterprise_a2"
    )[1]
    target_of = {"supervisor_county": a2}

    def on(path: str) -> Any:
        return lambda who: f"/api/v1/enterprises/{target_of.get(who, a)}/credit/{path}"

    def credit_versions() -> list[int]:
        return [len(api.store.read_stream(credit_stream_id(code))) for code in (a, a2)]

    def proceeding_opened(body: Any) -> None:
        assert body["proceeding"]["trigger"] == "major_accident", body
        assert [t["kind"] for t in body["pending_timers"]] == ["objection_window"], body
        assert body["is_blacklisted"] is False

    # [credit] decided_by_level = "county": the township's supervisor is refused, naming the
    # rule; the county bureau acts (on A2 in the row, then on A).
    below_county = (403, rule("credit.authority.level_below"))

    async def county_acts_on_a(path: str, body: dict[str, Any], check: Any) -> None:
        answer = await api.client.post(
            f"/api/v1/enterprises/{a}/credit/{path}",
            json=body,
            headers=grid.headers("supervisor_county"),
        )
        assert answer.status_code == 200, answer.text
        check(answer.json())

    county_only = answers(
        403, supervisor_a=below_county, supervisor_county=(200, proceeding_opened)
    )
    proceeding = {"ground": "major_accident", "basis": "应急管理部令第11号 第五条"}
    await matrix.row(
        "POST", on("proceedings"), county_only, unchanged=credit_versions, json=proceeding
    )
    await county_acts_on_a("proceedings", proceeding, proceeding_opened)
    opened = api.stream_types(credit_stream_id(a))
    assert opened[0] == "CreditRecordOpened", opened  # started by the supervisor's request
    assert [t for t in opened if t.startswith("Proceeding")] == [
        "ProceedingOpened",
        "ProceedingNoticeIssued",
    ]
    again = await api.client.post(
        f"/api/v1/enterprises/{a}/credit/proceedings",
        json={"ground": "major_accident", "basis": "重复"},
        headers=grid.headers("supervisor_county"),
    )
    assert again.status_code == 409 and again.json()["error"]["rule"] == (
        "credit.proceeding.already_open"
    )
    no_record = await api.client.post(
        f"/api/v1/enterprises/{grid.enterprise_b}/credit/objection",
        json={"statement": "异议"},
        headers=grid.headers("enterprise_b"),
    )
    assert no_record.status_code == 409 and no_record.json()["error"]["rule"] == "credit.no_record"

    def objected(body: Any) -> None:
        assert body["proceeding"]["objections"] == 1, body

    await matrix.row(
        "POST",
        f"/api/v1/enterprises/{a}/credit/objection",
        answers(403, enterprise_a=(200, objected)),
        unchanged=credit_versions,
        json={"statement": "事故认定有误, 已提交证明材料"},
    )
    early = await api.client.post(
        f"/api/v1/enterprises/{a}/credit/decision",
        json={"list_enterprise": True, "basis": "应急管理部令第11号"},
        headers=grid.headers("supervisor_county"),
    )
    assert early.status_code == 409, early.text
    assert early.json()["error"]["rule"] == "credit.decide.objection_window_open"

    await env.sleep(timedelta(days=10))  # the objection window (5 working days) closes
    api.project()

    def lines(state: str, *codes: str) -> Any:
        def check(body: Any) -> None:
            assert [line["credit_code"] for line in body["items"]] == sorted(codes), body
            assert {line["credit_state"] for line in body["items"]} <= {state}, body

        return check

    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, lines("proceeding_open", a, a2)),
            **each(("inspector_b", "supervisor_b"), 403),
            enterprise_a=(200, lines("proceeding_open", a)),
            enterprise_b=(200, lines("-")),
        ),
        params={"grid_unit": grid.village_a},
    )

    def listed(body: Any) -> None:
        assert body["is_blacklisted"] is True and body["rating"] == "D", body
        assert [t["kind"] for t in body["pending_timers"]] == ["expiry"], body

    await matrix.row(
        "POST",
        on("decision"),
        answers(403, supervisor_a=below_county, supervisor_county=(200, listed)),
        unchanged=credit_versions,
        json={"list_enterprise": True, "basis": "应急管理部令第11号 第五条"},
    )
    await county_acts_on_a(
        "decision", {"list_enterprise": True, "basis": "应急管理部令第11号 第五条"}, listed
    )
    api.project()

    def register_of(status: str) -> Any:
        def check(body: Any) -> None:
            assert body["total"] == 2, body
            assert sorted(e["credit_code"] for e in body["items"]) == sorted([a, a2]), body
            assert {e["status"] for e in body["items"]} == {status}, body

        return check

    await matrix.row(
        "GET",
        "/api/v1/blacklist",
        answers((200, register_of("listed")), anonymous=(200, register_of("listed"))),
    )

    def blacklisted(*codes: str) -> Any:
        def check(body: Any) -> None:
            assert [line["credit_code"] for line in body["items"]] == sorted(codes), body
            for line in body["items"]:
                assert (line["credit_state"], line["rating"]) == ("blacklisted", "D"), line
                assert line["blacklisted"] is True and line["open_proceeding_no"] is None
                assert datetime.fromisoformat(line["blacklisted_until"]) > datetime.now(UTC)

        return check

    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, blacklisted(a, a2)),
            **each(("inspector_b", "supervisor_b", "enterprise_b"), (200, blacklisted())),
            enterprise_a=(200, blacklisted(a)),
        ),
        params={"blacklisted": "true", "rating": "D"},
    )

    def credit_listed(body: Any) -> None:
        assert body["credit_code"] == a and body["blacklisted"] is True, body
        assert body["rating"] == "D" and body["record_opened"] is True, body
        assert datetime.fromisoformat(body["blacklisted_until"]) > datetime.now(UTC)

    await matrix.row(
        "GET",
        f"/api/v1/enterprises/{a}/credit",
        answers(403, **each(READERS_OF_A, (200, credit_listed))),
    )
    too_early = await api.client.post(
        f"/api/v1/enterprises/{a}/credit/early-removal",
        json={"statement": "已整改"},
        headers=grid.headers("enterprise_a"),
    )
    assert too_early.status_code == 409, too_early.text
    assert too_early.json()["error"]["rule"] == "credit.early_removal.too_early"

    await env.sleep(timedelta(days=375))  # 12 months on the list: early removal may be asked

    def applied(body: Any) -> None:
        assert body["blacklist"]["removal_applied"] is True, body

    await matrix.row(
        "POST",
        f"/api/v1/enterprises/{a}/credit/early-removal",
        answers(403, enterprise_a=(200, applied)),
        unchanged=credit_versions,
        json={"statement": "已完成整改并通过复查, 申请信用修复"},
    )
    applied_a2 = await api.client.post(
        f"/api/v1/enterprises/{a2}/credit/early-removal",
        json={"statement": "申请信用修复"},
        headers=grid.headers("enterprise_a2"),
    )
    assert applied_a2.status_code == 200, applied_a2.text

    def removed(body: Any) -> None:
        assert body["is_blacklisted"] is False and body["blacklist"]["removed_early"], body

    await matrix.row(
        "POST",
        on("early-removal/decision"),
        answers(403, supervisor_a=below_county, supervisor_county=(200, removed)),
        unchanged=credit_versions,
        json={"approve": True, "reason": "整改到位"},
    )
    await county_acts_on_a(
        "early-removal/decision", {"approve": True, "reason": "整改到位"}, removed
    )
    api.project()
    await matrix.row(
        "GET",
        "/api/v1/blacklist",
        answers((200, register_of("removed_early")), anonymous=(200, register_of("removed_early"))),
        params={"status": "removed_early"},
    )
    named = {"a": a, "a2": a2, "b": grid.enterprise_b}

    def states(**expected: str) -> Any:
        def check(body: Any) -> None:
            got = {line["credit_code"]: line["credit_state"] for line in body["items"]}
            wanted = {code: expected[name] for name, code in named.items() if name in expected}
            assert got == wanted, body
            assert [line["credit_code"] for line in body["items"]] == sorted(got), body

        return check

    removed_or_none = states(a="in_good_standing", a2="in_good_standing", b="no_record")
    await matrix.row(
        "GET",
        "/api/v1/enterprises",
        answers(
            (200, removed_or_none),
            **each(
                ("inspector_a", "supervisor_a"),
                (200, states(a="in_good_standing", a2="in_good_standing")),
            ),
            **each(("inspector_b", "supervisor_b", "enterprise_b"), (200, states(b="no_record"))),
            enterprise_a=(200, states(a="in_good_standing")),
        ),
        params={"blacklisted": "false"},
    )

    def restored(body: Any) -> None:
        assert body["is_blacklisted"] is True and body["rating"] == "D", body

    await matrix.row(
        "POST",
        on("early-removal/revocation"),
        answers(403, supervisor_a=below_county, supervisor_county=(200, restored)),
        unchanged=credit_versions,
        json={"reason": "复查材料弄虚作假"},
    )
    await county_acts_on_a("early-removal/revocation", {"reason": "复查材料弄虚作假"}, restored)
    api.project()
    register = await api.client.get("/api/v1/blacklist", params={"status": "listed"})
    listed_again = register.json()
    assert sorted(e["credit_code"] for e in listed_again["items"]) == sorted([a, a2])
    assert all(e["removal_revoked_at"] for e in listed_again["items"]), listed_again
    assert len(matrix.rows) == 12
