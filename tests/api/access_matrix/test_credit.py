"""The access matrix, credit: the proceedings and the enterprise list × every role.

Each test runs over a database of its own, so a list or a register can be asserted to the row:
what a township's supervisor sees is its township, the county's sees both, an enterprise sees
itself. Refusals change nothing: the version of the case (or credit record) they aimed at is
the same afterwards. The rows' vocabulary is ``tests/api/matrix.py``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.credit_code import make_credit_code
from tests.api.conftest import ApiHarness
from tests.api.matrix import (
    READERS_OF_A,
    Matrix,
    answers,
    each,
    rule,
)
from workflows.ids import credit_stream_id


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
