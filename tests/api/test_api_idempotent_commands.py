"""Idempotency-Key on every command, not only on registration: a retried report, verification
or objection is applied once, whether the first answer came back or was lost on the way, and
a key names one request only, even while that request's answer is missing."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.api.conftest import AnswerLost, ApiHarness
from tests.api.test_api_hazards import PHOTO, hazard
from workflows.contracts import CreditWorkflowInput
from workflows.credit import EnterpriseCreditWorkflow
from workflows.ids import case_stream_id, credit_stream_id, credit_workflow_id


async def registered(api: ApiHarness) -> str:
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(api.grid), headers=api.grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    return str(created.json()["hazard_id"])


def case_types(api: ApiHarness, hazard_id: str) -> list[str]:
    return api.stream_types(case_stream_id(hazard_id))


def keyed(api: ApiHarness, who: str, key: str) -> dict[str, str]:
    return {**api.grid.headers(who), "Idempotency-Key": key}


async def lost(client: httpx.AsyncClient, path: str, body: Any, headers: Any) -> None:
    with pytest.raises(AnswerLost):
        await client.post(path, json=body, headers=headers)


async def test_a_retried_case_action_returns_the_first_answer_and_is_recorded_once(
    api: ApiHarness,
):
    client = api.client
    hazard_id = await registered(api)
    report = {"summary": "已更换配电箱", "evidence": [PHOTO]}
    headers = keyed(api, "enterprise_a", "report-2026-12-02-1")
    path = f"/api/v1/hazards/{hazard_id}/rectification-report"

    first = await client.post(path, json=report, headers=headers)
    again = await client.post(path, json=report, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["status"] == "reported"
    assert again.content == first.content  # the same answer, byte for byte
    assert case_types(api, hazard_id).count("RectificationReported") == 1
    (reported,) = [
        e
        for e in api.store.read_stream(case_stream_id(hazard_id))
        if e.event_type == "RectificationReported"
    ]
    assert reported.metadata["correlation_id"].startswith("api-")  # the request, on record

    # The key names that one request: another body, or the same body on another case, is
    # refused and changes nothing.
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

    # Without a key a command is sent as it always was: a second report is the domain's.
    plain = await client.post(path, json=report, headers=api.grid.headers("enterprise_a"))
    assert plain.status_code == 409, plain.text


async def test_a_retry_whose_first_answer_was_lost_is_applied_once(
    api: ApiHarness, lose_next_answer: Any
):
    """The first request reached the workflow and its answer never came back. The retry
    carries the same key, so it is sent under the same update id and answered from the first
    run — even for a verification that closed the case meanwhile."""
    client = api.client
    hazard_id = await registered(api)
    report = {"summary": "已整改", "evidence": [PHOTO]}
    report_path = f"/api/v1/hazards/{hazard_id}/rectification-report"
    lose_next_answer()
    await lost(client, report_path, report, keyed(api, "enterprise_a", "report-lost"))
    assert case_types(api, hazard_id).count("RectificationReported") == 1  # it did arrive
    retried = await client.post(
        report_path, json=report, headers=keyed(api, "enterprise_a", "report-lost")
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "reported"
    assert case_types(api, hazard_id).count("RectificationReported") == 1

    verify_path = f"/api/v1/hazards/{hazard_id}/verification"
    headers = keyed(api, "supervisor_a", "verify-lost")
    lose_next_answer()
    await lost(client, verify_path, {"passed": True}, headers)
    # While the answer is missing the key still names that request: another body is refused.
    other = await client.post(
        verify_path, json={"passed": False, "comments": "返工"}, headers=headers
    )
    assert other.status_code == 422, other.text
    assert other.json()["error"]["rule"] == "idempotency.key_reused"
    retried_verification = await client.post(verify_path, json={"passed": True}, headers=headers)
    # Not 409 "no longer running": the case closed by this very command.
    assert retried_verification.status_code == 200, retried_verification.text
    assert retried_verification.json()["status"] == "closed"
    types = case_types(api, hazard_id)
    assert types.count("VerificationPassed") == 1 and "VerificationFailed" not in types


async def test_identical_retries_racing_apply_once(api: ApiHarness):
    hazard_id = await registered(api)
    path = f"/api/v1/hazards/{hazard_id}/rectification-report"
    body = {"summary": "同时重试", "evidence": [PHOTO]}
    headers = keyed(api, "enterprise_a", "race-1")
    answers = await asyncio.gather(
        *(api.client.post(path, json=body, headers=headers) for _ in range(4))
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1  # one answer, whoever settled it
    assert case_types(api, hazard_id).count("RectificationReported") == 1
    stored = await api.client.post(path, json=body, headers=headers)
    assert stored.content == answers[0].content


async def test_a_refused_request_leaves_its_key_free_for_the_next_attempt(api: ApiHarness):
    """A refusal changed nothing, so it is not kept as the key's answer: the same request
    sent again once the case allows it is judged again (not answered from Temporal's memory
    of the refused update), and so is a corrected one."""
    client = api.client
    hazard_id = await registered(api)
    verify_path = f"/api/v1/hazards/{hazard_id}/verification"
    headers = keyed(api, "supervisor_a", "verify-early")
    early = await client.post(verify_path, json={"passed": True}, headers=headers)
    assert early.status_code == 409, early.text  # nothing reported yet
    reported = await client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "已整改", "evidence": [PHOTO]},
        headers=api.grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    corrected = await client.post(
        verify_path, json={"passed": True, "comments": "现场复核合格"}, headers=headers
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "closed"
    again = await client.post(
        verify_path, json={"passed": True, "comments": "现场复核合格"}, headers=headers
    )
    assert again.status_code == 200 and again.content == corrected.content
    # The corrected request went out as the key's second attempt, under an update id of its
    # own, and the record names it.
    (passed,) = [
        e
        for e in api.store.read_stream(case_stream_id(hazard_id))
        if e.event_type == "VerificationPassed"
    ]
    first_attempt = passed.metadata["correlation_id"].removesuffix("-2")
    assert passed.metadata["correlation_id"] == f"{first_attempt}-2"


async def test_a_retried_objection_is_filed_once_even_across_a_continue_as_new(
    isolated_api: ApiHarness, lose_next_answer: Any
):
    api, client = isolated_api, isolated_api.client
    code = api.grid.enterprise_a
    enterprise = api.services.reference.enterprise(code)
    assert enterprise is not None
    # The record continues as new after every few events, as a long-lived one does after
    # 2,000: Temporal forgets a run's update ids when the run ends.
    await api.env.client.start_workflow(
        EnterpriseCreditWorkflow.run,
        CreditWorkflowInput(
            code, enterprise.name, enterprise.grid_code, continue_as_new_after_events=1
        ),
        id=credit_workflow_id(code),
        task_queue=api.services.task_queue,
    )
    proceeding = {"ground": "major_accident", "basis": "应急管理部令第11号 第五条"}
    headers = keyed(api, "supervisor_county", "proceeding-1")
    opened = await client.post(
        f"/api/v1/enterprises/{code}/credit/proceedings", json=proceeding, headers=headers
    )
    assert opened.status_code == 200, opened.text
    reopened = await client.post(
        f"/api/v1/enterprises/{code}/credit/proceedings", json=proceeding, headers=headers
    )
    # The retried opening is the first answer, not "a proceeding is already open".
    assert reopened.status_code == 200 and reopened.content == opened.content, reopened.text

    path = f"/api/v1/enterprises/{code}/credit/objection"
    objection = {"statement": "事故认定有误, 已提交证明材料"}
    first_run = (
        await api.env.client.get_workflow_handle(credit_workflow_id(code)).describe()
    ).run_id
    lose_next_answer()
    await lost(client, path, objection, keyed(api, "enterprise_a", "objection-1"))
    handle = api.env.client.get_workflow_handle(credit_workflow_id(code))
    for _ in range(100):
        if (await handle.describe()).run_id != first_run:
            break
        await asyncio.sleep(0.05)
    assert (await handle.describe()).run_id != first_run, "the record continued as new"

    answers = [
        await client.post(path, json=objection, headers=keyed(api, "enterprise_a", "objection-1"))
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json()["proceeding"]["objections"] == 1, answers[0].json()
    assert answers[1].content == answers[0].content
    types = api.stream_types(credit_stream_id(code))
    assert types.count("ProceedingOpened") == 1
    assert types.count("ObjectionFiled") == 1, types


async def test_a_lost_answer_retried_after_retention_is_answered_from_the_record(
    api: ApiHarness, lose_next_answer: Any
):
    """The verification closed the case and its answer was lost; by the retry, the namespace's
    retention has deleted the workflow (a server that never saw it answers the same). The
    event store holds the command under the key's update id: the retry is answered with the
    case as recorded, not 409 "no longer running", and nothing is applied twice."""
    hazard_id = await registered(api)
    reported = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "已整改", "evidence": [PHOTO]},
        headers=api.grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    path = f"/api/v1/hazards/{hazard_id}/verification"
    headers = keyed(api, "supervisor_a", "verify-before-retention")
    lose_next_answer()
    await lost(api.client, path, {"passed": True}, headers)
    empty = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server")
    )
    try:
        app = create_app(services=replace(api.services, temporal=empty.client))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://duban.test"
        ) as client:
            retried = await client.post(path, json={"passed": True}, headers=headers)
            unkeyed = await client.post(
                path, json={"passed": True}, headers=api.grid.headers("supervisor_a")
            )
    finally:
        await empty.shutdown()
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "closed"
    assert retried.json()["answered_from"] == "event store"
    assert unkeyed.status_code == 409, "a command the record does not hold is not answered"
    assert case_types(api, hazard_id).count("VerificationPassed") == 1


async def test_a_registration_whose_first_state_could_not_be_read_keeps_its_key(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
):
    """The case started, but its first state could not be read back (a failed query): that
    is not a refusal of the registration, so the key stays claimed for its body — another
    body under it is refused, and the same body is answered with the case it started."""
    from api.services import Services
    from api.services.refusals import Refused

    wait = Services._wait_registered
    failures = iter([Refused(409, "workflow.query_failed", "query failed")])

    async def first_read_fails(self: Services, handle: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return await wait(self, handle)

    monkeypatch.setattr(Services, "_wait_registered", first_read_fails)
    headers = keyed(api, "inspector_a", "patrol-unread-1")
    body = hazard(api.grid)
    first = await api.client.post("/api/v1/hazards", json=body, headers=headers)
    assert first.status_code == 503 and first.json()["error"]["rule"] == "case.starting"
    other = await api.client.post(
        "/api/v1/hazards", json=hazard(api.grid, location="二号车间"), headers=headers
    )
    assert other.status_code == 422 and other.json()["error"]["rule"] == "idempotency.key_reused"
    again = await api.client.post("/api/v1/hazards", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert case_types(api, again.json()["hazard_id"]).count("HazardRegistered") == 1
