"""Public reports (举报) through the API: filed with no sign-in after a proof-of-work, followed
by a receipt code and by nothing else, protected against floods; listed, read, verified and
rewarded by the grid, with the reporter's identity shown to the policy's roles alone — every
endpoint × every caller."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from tests.api.conftest import ApiHarness
from tests.api.matrix import (
    SUPERVISORS_OF_A,
    Matrix,
    answers,
    each,
    register,
    rule,
)
from tests.api.test_api_hazards import PHOTO
from workflows.ids import public_report_stream_id


def solve(challenge: str, bits: int) -> str:
    for n in itertools.count():
        digest = hashlib.sha256(f"{challenge}:{n}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(n)
    raise AssertionError("unreachable")


async def challenge(api: ApiHarness) -> dict[str, Any]:
    answer = await api.client.get("/api/v1/public/reports/challenge")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def file(api: ApiHarness, **overrides: Any) -> dict[str, Any]:
    issued = await challenge(api)
    body = {
        "challenge": issued["challenge"],
        "nonce": solve(issued["challenge"], issued["bits"]),
        "credit_code": api.grid.enterprise_a,
        "place": "一号车间后门",
        "description": "车间内堆放大量易燃物, 消防通道堵塞",
        "evidence": [PHOTO],
        "reporter_name": "张某",
        "reporter_contact": "138****0000",
    } | overrides
    answer = await api.client.post("/api/v1/public/reports", json=body)
    assert answer.status_code == 201, answer.text
    filed: dict[str, Any] = answer.json()
    return filed


async def test_a_report_is_filed_without_sign_in_and_followed_by_its_receipt_alone(
    isolated_api: ApiHarness,
):
    api = isolated_api
    filed = await file(api)
    assert filed["status"] == "received" and len(filed["receipt_code"]) >= 24
    followed = await api.client.get(f"/api/v1/public/reports/{filed['receipt_code']}")
    assert followed.status_code == 200, followed.text
    assert followed.json()["status"] == "received"
    assert "张某" not in followed.text and "description" not in followed.json()
    # Another's receipt, a guess, or the report id itself reads nothing.
    for guess in ("A" * 24, filed["report_id"].replace("-", "_") + "xx"):
        assert (await api.client.get(f"/api/v1/public/reports/{guess}")).status_code == 404
    events = api.stream_types(public_report_stream_id(filed["report_id"]))
    assert events == ["PublicReportReceived"]
    first = api.store.read_stream(public_report_stream_id(filed["report_id"]))[0]
    assert "张某" not in str(first.data) and first.data["identity_digest"]


async def test_floods_are_refused_by_proof_of_work_spent_challenges_and_the_hourly_limit(
    isolated_api: ApiHarness,
):
    api = isolated_api
    issued = await challenge(api)
    body = {
        "challenge": issued["challenge"],
        "nonce": "not-a-solution",
        "grid_unit_code": api.grid.village_a,
        "place": "农贸市场北侧",
        "description": "违规存放液化气钢瓶",
    }
    wrong = next(
        n
        for n in ("a", "b", "c")
        if hashlib.sha256(f"{issued['challenge']}:{n}".encode()).digest()[:2] != b"\0\0"
    )
    unsolved = await api.client.post("/api/v1/public/reports", json=body | {"nonce": wrong})
    assert unsolved.status_code == 422, unsolved.text
    assert unsolved.json()["error"]["rule"] == "public_report.proof_of_work"
    body["nonce"] = solve(issued["challenge"], issued["bits"])
    assert (await api.client.post("/api/v1/public/reports", json=body)).status_code == 201
    spent = await api.client.post("/api/v1/public/reports", json=body)
    assert spent.status_code == 409 and spent.json()["error"]["rule"] == (
        "public_report.challenge_spent"
    )
    unknown = await api.client.post("/api/v1/public/reports", json=body | {"challenge": "x" * 20})
    assert unknown.json()["error"]["rule"] == "public_report.challenge_unknown"
    for _ in range(4):  # per_address_per_hour = 5
        await file(api, credit_code=None, grid_unit_code=api.grid.village_a)
    issued = await challenge(api)
    body |= {"challenge": issued["challenge"], "nonce": solve(issued["challenge"], issued["bits"])}
    flooded = await api.client.post("/api/v1/public/reports", json=body)
    assert flooded.status_code == 429, flooded.text
    assert flooded.json()["error"]["rule"] == "public_report.rate_limited"
    township = await api.client.post(
        "/api/v1/public/reports", json=body | {"grid_unit_code": api.grid.township_a}
    )
    assert township.status_code in (422, 429)


async def test_every_caller_on_the_grids_side_of_a_report(isolated_api: ApiHarness):
    api = isolated_api
    matrix = Matrix(api)
    target = (await file(api))["report_id"]
    own = {who: (await file(api))["report_id"] for who in SUPERVISORS_OF_A}
    rewarded = {who: (await file(api))["report_id"] for who in ("supervisor_county",)}
    api.project()

    def listed(*expected: str) -> Any:
        def check(page: Any) -> None:
            ids = {item["report_id"] for item in page["items"]}
            assert ids == set(expected), page

        return check

    everything = (target, *own.values(), *rewarded.values())
    await matrix.row(
        "GET",
        "/api/v1/public-reports",
        answers(
            403,
            **each(
                ("inspector_a", *SUPERVISORS_OF_A, "auditor", "admin"), (200, listed(*everything))
            ),
            **each(("inspector_b", "supervisor_b"), (200, listed())),
        ),
    )

    def identity(shown: bool) -> Any:
        def check(body: Any) -> None:
            assert (body["reporter"] is not None) is shown, body
            if shown:
                assert body["reporter"] == {
                    "name": "张某",
                    "contact": "138****0000",
                    "matches_record": True,
                }

        return check

    await matrix.row(
        "GET",
        f"/api/v1/public-reports/{target}",
        answers(
            403,
            **each(("inspector_a", "auditor"), (200, identity(False))),
            **each((*SUPERVISORS_OF_A, "admin"), (200, identity(True))),
        ),
    )
    hazards = {who: await register(api, who, source="public_report") for who in SUPERVISORS_OF_A}

    def version() -> int:
        return len(api.store.read_stream(public_report_stream_id(target)))

    await matrix.row(
        "POST",
        lambda who: f"/api/v1/public-reports/{own.get(who, target)}/substantiation",
        answers(403, **each(SUPERVISORS_OF_A, 200)),
        unchanged=version,
        json={"hazard_ids": [hazards["supervisor_county"]], "findings": "属实, 已登记隐患"},
    )
    # The reward: at the county (reward_decided_by_level) or above, once substantiated.
    await api.client.post(
        f"/api/v1/public-reports/{rewarded['supervisor_county']}/substantiation",
        json={"hazard_ids": [hazards["supervisor_county"]], "findings": "属实"},
        headers=api.grid.headers("supervisor_county"),
    )

    def reward_of(amount: int) -> Any:
        def check(body: Any) -> None:
            assert (body["status"], body["reward_yuan"]) == ("rewarded", amount), body

        return check

    await matrix.row(
        "POST",
        lambda who: f"/api/v1/public-reports/{rewarded.get(who, own['supervisor_a'])}/reward",
        answers(
            403,
            supervisor_county=(200, reward_of(15_000)),
            supervisor_a=(403, rule("public_report.reward.level")),
        ),
        json={"hazard_class": "major", "fine_yuan": 100_000},
    )
    followed_receipts = await file(api)
    elsewhere = {
        "supervisor_a": followed_receipts["report_id"],
        "supervisor_county": own["supervisor_county"],
    }
    await matrix.row(
        "POST",
        lambda who: f"/api/v1/public-reports/{elsewhere.get(who, target)}/dismissal",
        answers(
            403,
            supervisor_a=200,
            supervisor_county=(409, rule("public_report.verify.already_verified")),
        ),
        unchanged=version,
        json={"reason": "现场核查未发现所述情况"},
    )
    followed = await api.client.get(f"/api/v1/public/reports/{followed_receipts['receipt_code']}")
    assert followed.json()["status"] == "dismissed"
    assert followed.json()["dismissal_reason"] == "现场核查未发现所述情况"


async def test_a_reports_evidence_is_typed_and_never_a_stored_files_reference(
    isolated_api: ApiHarness,
):
    """A reporter has no account to upload with: evidence without an address, or citing a
    stored file, is a 422 naming the item's uri (once a 500), and nothing is filed."""
    api = isolated_api
    for item, rule_id in (
        ({"sha256": PHOTO["sha256"], "name": "现场.jpg"}, "evidence.uri_required"),
        (
            {"uri": f"duban-file:{PHOTO['sha256']}", "sha256": PHOTO["sha256"]},
            "evidence.uri_reserved",
        ),
    ):
        issued = await challenge(api)
        answer = await api.client.post(
            "/api/v1/public/reports",
            json={
                "challenge": issued["challenge"],
                "nonce": solve(issued["challenge"], issued["bits"]),
                "credit_code": api.grid.enterprise_a,
                "place": "一号车间后门",
                "description": "消防通道堵塞",
                "evidence": [item],
            },
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["rule"] == rule_id and error["field"] == "evidence.0.uri", error
