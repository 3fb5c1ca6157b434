"""Idempotency-Key on every command, not only on registration: a retried report, verification
or objection is applied once, whether the first answer came back or was lost on the way."""

from __future__ import annotations

from typing import Any

from api.auth import Principal, authenticate
from api.services import actor_of
from domain.case_commands import ReportRectification, VerifyRectification
from domain.case_events import Evidence
from domain.credit import FileObjection
from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import PHOTO, hazard
from workflows.ids import case_stream_id, credit_stream_id


def principal_of(api: ApiHarness, who: str) -> Principal:
    principal = authenticate(api.services.engine, api.grid.tokens[who])
    assert principal is not None
    return principal


async def registered(api: ApiHarness) -> str:
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(api.grid), headers=api.grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    return str(created.json()["hazard_id"])


def case_types(api: ApiHarness, hazard_id: str) -> list[str]:
    return api.stream_types(case_stream_id(hazard_id))


async def test_a_retried_case_action_returns_the_first_answer_and_is_recorded_once(
    api: ApiHarness,
):
    grid, client = api.grid, api.client
    hazard_id = await registered(api)
    report = {"summary": "已更换配电箱", "evidence": [PHOTO]}
    headers = {**grid.headers("enterprise_a"), "Idempotency-Key": "report-2026-12-02-1"}
    path = f"/api/v1/hazards/{hazard_id}/rectification-report"

    first = await client.post(path, json=report, headers=headers)
    again = await client.post(path, json=report, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["status"] == "reported"
    assert again.content == first.content  # the same answer, byte for byte
    assert case_types(api, hazard_id).count("RectificationReported") == 1

    # The key names that one request: another body, or the same body on another case or
    # action, is refused and changes nothing.
    other_case = await registered(api)
    for other_path, body in (
        (path, {**report, "summary": "另一份报告"}),
        (f"/api/v1/hazards/{other_case}/rectification-report", report),
    ):
        reused = await client.post(other_path, json=body, headers=headers)
        assert reused.status_code == 422, reused.text
        assert reused.json()["error"]["rule"] == "idempotency.key_reused"
        assert reused.json()["error"]["field"] == "idempotency-key"
    assert "RectificationReported" not in case_types(api, other_case)

    # Without a key a command is sent as it always was: twice is two commands, and a report
    # of a case already reported is the domain's refusal.
    plain = await client.post(path, json=report, headers=grid.headers("enterprise_a"))
    assert plain.status_code == 409, plain.text


async def test_a_retry_whose_first_answer_was_lost_is_not_applied_again(api: ApiHarness):
    """The first request reached the workflow and its answer never came back (a timeout, the
    API restarted): nothing was remembered in ``api_idempotency``. The retry carries the same
    key, so it goes to the workflow under the same update id, and the workflow's first outcome
    is the answer — even for a verification that closed the case in the meantime."""
    grid, client, services = api.grid, api.client, api.services
    hazard_id = await registered(api)
    enterprise = principal_of(api, "enterprise_a")
    supervisor = principal_of(api, "supervisor_a")
    report = {"summary": "已整改", "evidence": [PHOTO]}
    lost = await services.act(
        enterprise,
        hazard_id,
        "report_rectification",
        ("enterprise",),
        lambda actor: ReportRectification(
            actor=actor, summary=report["summary"], evidence=(Evidence(**PHOTO),)
        ),
        update_id=services.update_id(enterprise, "report-lost-1"),
    )
    assert lost["status"] == "reported"
    retried = await client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json=report,
        headers={**grid.headers("enterprise_a"), "Idempotency-Key": "report-lost-1"},
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "reported"
    assert case_types(api, hazard_id).count("RectificationReported") == 1

    closed = await services.act(
        supervisor,
        hazard_id,
        "verify_rectification",
        ("supervisor",),
        lambda actor: VerifyRectification(actor=actor, passed=True),
        update_id=services.update_id(supervisor, "verify-lost-1"),
    )
    assert closed["status"] == "closed"
    retried_verification = await client.post(
        f"/api/v1/hazards/{hazard_id}/verification",
        json={"passed": True},
        headers={**grid.headers("supervisor_a"), "Idempotency-Key": "verify-lost-1"},
    )
    # Not 409 "no longer running": the case closed by this very command.
    assert retried_verification.status_code == 200, retried_verification.text
    assert retried_verification.json()["status"] == "closed"
    assert case_types(api, hazard_id).count("VerificationPassed") == 1


async def test_a_retried_objection_is_filed_once(isolated_api: ApiHarness):
    api, grid, client = isolated_api, isolated_api.grid, isolated_api.client
    code = grid.enterprise_a
    opened = await client.post(
        f"/api/v1/enterprises/{code}/credit/proceedings",
        json={"ground": "major_accident", "basis": "应急管理部令第11号 第五条"},
        headers={**grid.headers("supervisor_county"), "Idempotency-Key": "proceeding-1"},
    )
    assert opened.status_code == 200, opened.text
    reopened = await client.post(
        f"/api/v1/enterprises/{code}/credit/proceedings",
        json={"ground": "major_accident", "basis": "应急管理部令第11号 第五条"},
        headers={**grid.headers("supervisor_county"), "Idempotency-Key": "proceeding-1"},
    )
    # The retried opening is the first answer, not "a proceeding is already open".
    assert reopened.status_code == 200 and reopened.content == opened.content, reopened.text

    objection: dict[str, Any] = {"statement": "事故认定有误, 已提交证明材料"}
    headers = {**grid.headers("enterprise_a"), "Idempotency-Key": "objection-1"}
    path = f"/api/v1/enterprises/{code}/credit/objection"
    answers = [await client.post(path, json=objection, headers=headers) for _ in range(3)]
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    assert answers[0].json()["proceeding"]["objections"] == 1
    types = api.stream_types(credit_stream_id(code))
    assert types.count("ProceedingOpened") == 1
    assert types.count("ObjectionFiled") == 1, types

    # Lost on the way: the workflow answers the retry from its first run.
    enterprise = principal_of(api, "enterprise_a")
    await api.services.credit_update(
        enterprise,
        code,
        "file_objection",
        FileObjection(actor=actor_of(enterprise, api.services.reference), statement="补充材料"),
        update_id=api.services.update_id(enterprise, "objection-lost-2"),
    )
    retried = await client.post(
        path,
        json={"statement": "补充材料"},
        headers={**grid.headers("enterprise_a"), "Idempotency-Key": "objection-lost-2"},
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["proceeding"]["objections"] == 2
    assert api.stream_types(credit_stream_id(code)).count("ObjectionFiled") == 2
