"""Property-based requests from the app's own OpenAPI schema (schemathesis strategies, driven
by hypothesis) against the app in-process, as every role: no answer may be a 5xx.

Path parameters and the ids inside bodies are often swapped for ids that exist (a case, an
enterprise, grid units, a stored report), so the generated requests reach past "not found"
into the access rules, the domain and the workflows. The app runs on the test's event loop
(with its worker); hypothesis runs in a thread and hands each request to that loop.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from domain.periods import period_before
from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import hazard
from workflows.contracts import ReportInput
from workflows.ids import report_key
from workflows.reports import ReportWorkflow

ROLES = ("admin", "enterprise_a", "inspector_a", "supervisor_a", "auditor")
EXAMPLES_PER_OPERATION = 4  # per role and generation mode: ~1,000 requests in all
BASE = "http://duban.test"

# Operations with no parameter and no body: a negative request of them cannot be made.
NOTHING_TO_NEGATE = frozenset({"GET /api/v1/public/reports/challenge"})


async def test_generated_requests_of_every_role_never_get_a_server_error(
    isolated_api: ApiHarness,
):
    api, grid = isolated_api, isolated_api.grid
    loop = asyncio.get_running_loop()
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(grid, deadline=(datetime.now(UTC) + timedelta(days=60)).isoformat()),
        headers=grid.headers("inspector_a"),
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    # The last whole month: a report covers a period that has ended.
    period = period_before("monthly", datetime.now(UTC), api.services.policy.tz)
    api.project()
    await api.env.client.execute_workflow(
        ReportWorkflow.run,
        ReportInput("monthly", period, grid.township_a),
        id=report_key("monthly", grid.township_a, period),
        task_queue=api.services.task_queue,
    )
    existing: dict[str, list[str]] = {
        "hazard_id": [hazard_id],
        "credit_code": [grid.enterprise_a, grid.enterprise_b],
        "code": [grid.township_a, grid.village_a, grid.county],
        "unit_code": [grid.township_a, grid.county],
        "grid_code": [grid.village_a, grid.village_b],
        "parent_code": [grid.township_a, grid.county],
        "kind": ["monthly"],
        "period": [period],
    }
    schema = schemathesis.openapi.from_dict(api.app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 27, [op.label for op in operations]
    asked: list[tuple[str, int]] = []

    def send(request: dict[str, Any]) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(api.client.request(**request), loop)
        return future.result(timeout=60)

    def with_existing_ids(case: Any, draw: Any) -> None:
        for name in list(case.path_parameters or {}):
            if name in existing and draw(st.integers(0, 7)) > 0:  # mostly ids that exist
                case.path_parameters[name] = draw(st.sampled_from(existing[name]))
        if isinstance(case.body, dict):
            for name in ("credit_code", "grid_code", "parent_code"):
                if name in case.body and draw(st.booleans()):
                    case.body[name] = draw(st.sampled_from(existing[name]))

    def request_of(case: Any, token: str | None) -> dict[str, Any]:
        kwargs = case.as_transport_kwargs(base_url=BASE)
        headers = {k: v for k, v in kwargs["headers"].items() if k.lower() != "authorization"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request: dict[str, Any] = {
            "method": kwargs["method"],
            "url": kwargs["url"],
            "headers": headers,
            "params": kwargs.get("params"),
        }
        if "json" in kwargs:
            request["json"] = kwargs["json"]
        elif kwargs.get("data") is not None:
            request["content"] = kwargs["data"]
        return request

    def explore(role: str, operation: Any, mode: GenerationMode) -> None:
        token = grid.tokens[role]

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def one(case: Any, data: Any) -> None:
            with_existing_ids(case, data.draw)
            anonymous = data.draw(st.integers(0, 9)) == 0
            request = request_of(case, None if anonymous else token)
            answer = send(request)
            asked.append((operation.label, answer.status_code))
            assert answer.status_code < 500, (
                role,
                request["method"],
                request["url"],
                request.get("params"),
                request.get("json"),
                answer.status_code,
                answer.text[:500],
            )

        one()

    def walk() -> None:
        for role in ROLES:
            for operation in operations:
                explore(role, operation, GenerationMode.POSITIVE)
                try:
                    explore(role, operation, GenerationMode.NEGATIVE)
                except Unsatisfiable:
                    # Nothing to make invalid: no parameter, no body.
                    assert operation.label in NOTHING_TO_NEGATE, operation.label

    await asyncio.to_thread(walk)
    reached = {label for label, status in asked if status < 400}
    assert len(asked) > 1000, len(asked)
    # Deep paths were reached: successful answers on case, credit and report endpoints, and
    # at least one generated action was taken by a case workflow.
    assert "GET /api/v1/hazards/{hazard_id}" in reached, sorted(reached)
    assert any(label.startswith("POST /api/v1/hazards/{hazard_id}/") for label in reached)
    assert "GET /api/v1/reports/{kind}/{unit_code}/{period}" in reached, sorted(reached)
    assert "GET /api/v1/enterprises/{credit_code}/credit" in reached, sorted(reached)
    assert "GET /api/v1/statistics/{kind}/{unit_code}/{period}" in reached, sorted(reached)
    assert "GET /api/v1/public/listings" in reached, sorted(reached)
