"""A keyed registration always finds its case: a resent POST /hazards whose first answer was lost
is answered with the case it started — before its body is judged again, so a deadline that
passed meanwhile refuses nothing — and the key stays bound to that request. Keyed and unkeyed
registrations name their hazards in one format; a key claimed under the earlier format still
finds its case."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from api.auth import authenticate
from api.schemas import HazardIn
from api.services import Services
from api.services.cases import legacy_keyed_hazard_id
from api.services.refusals import Refused
from tests.api.conftest import AnswerLost, ApiHarness
from tests.api.test_api_hazards import hazard
from workflows.ids import case_stream_id

HAZARD_ID = re.compile(r"^H-(\d{8})-[0-9a-f]{12}$")


def keyed(api: ApiHarness, key: str) -> dict[str, str]:
    return {**api.grid.headers("inspector_a"), "Idempotency-Key": key}


@pytest.fixture()
def moved_clock(api: ApiHarness) -> Iterator[Any]:
    """Move the API's clock ``by`` ahead of the real one (the time-skipping server's is moved
    with ``env.sleep``); put back after the test."""
    services = api.services

    def move(by: timedelta) -> None:
        services.clock = lambda: datetime.now(UTC) + by

    yield move
    services.clock = lambda: datetime.now(UTC)


async def test_a_resent_registration_finds_its_case_although_its_deadline_has_passed(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch, moved_clock: Any
):
    """Temporal went away while the case started: the case was recorded, the answer was a 503.
    The inspector resends the same request hours later, after the deadline passed and the case
    escalated by itself: the answer is that case, not "the deadline is in the past"; and the
    key, now answered, refuses another body instead of handing out the case."""
    wait = Services._wait_registered
    outage = iter([Refused(503, "temporal.unavailable", "the workflow service did not answer")])

    async def answer_lost_in_an_outage(self: Services, handle: Any) -> Any:
        failure = next(outage, None)
        if failure is not None:
            raise failure
        return await wait(self, handle)

    monkeypatch.setattr(Services, "_wait_registered", answer_lost_in_an_outage)
    deadline = datetime.now(UTC) + timedelta(hours=2)
    body = hazard(api.grid, deadline=deadline.isoformat())
    headers = keyed(api, "patrol-outage-1")
    first = await api.client.post("/api/v1/hazards", json=body, headers=headers)
    assert first.status_code == 503, first.text

    await api.env.sleep(timedelta(hours=3))  # the deadline passes: the case escalates
    moved_clock(timedelta(hours=3))
    resent = await api.client.post("/api/v1/hazards", json=body, headers=headers)
    assert resent.status_code == 201, resent.text
    hazard_id = resent.json()["hazard_id"]
    types = api.stream_types(case_stream_id(hazard_id))
    assert types.count("HazardRegistered") == 1
    assert "DeadlineMissed" in types, types
    assert resent.json()["case"]["status"] == "escalated", resent.json()["case"]

    other = await api.client.post(
        "/api/v1/hazards",
        json=hazard(api.grid, location="二号车间", deadline=deadline.isoformat()),
        headers=headers,
    )
    assert other.status_code == 422, other.text
    assert other.json()["error"]["rule"] == "idempotency.key_reused"
    again = await api.client.post("/api/v1/hazards", json=body, headers=headers)
    assert again.status_code == 201 and again.content == resent.content
    assert api.stream_types(case_stream_id(hazard_id)).count("HazardRegistered") == 1


async def test_keyed_and_unkeyed_registrations_name_their_hazards_in_one_format(api: ApiHarness):
    plain = await api.client.post(
        "/api/v1/hazards", json=hazard(api.grid), headers=api.grid.headers("inspector_a")
    )
    keyed_answer = await api.client.post(
        "/api/v1/hazards", json=hazard(api.grid), headers=keyed(api, "patrol-format-1")
    )
    assert plain.status_code == keyed_answer.status_code == 201, keyed_answer.text
    today = datetime.now(api.services.policy.tz).strftime("%Y%m%d")
    for answer in (plain, keyed_answer):
        match = HAZARD_ID.match(answer.json()["hazard_id"])
        assert match, answer.json()["hazard_id"]
        assert match.group(1) == today


async def test_a_retry_after_midnight_finds_the_same_case_and_never_starts_a_second(
    api: ApiHarness, lose_next_answer: Any, moved_clock: Any
):
    """The first answer was lost; the client retries the next day. The retry names the same
    hazard — whose id carries the day its key was claimed, not the retry's — also for an
    immediate rectification, whose case closed at once."""
    principal = authenticate(api.services.engine, api.grid.tokens["inspector_a"])
    assert principal is not None
    claimed_on = datetime.now(api.services.policy.tz).strftime("%Y%m%d")
    for mode in ("deadline", "immediate"):
        body = hazard(api.grid, mode=mode)
        headers = keyed(api, f"patrol-midnight-{mode}")
        lose_next_answer()
        with pytest.raises(AnswerLost):
            await api.client.post("/api/v1/hazards", json=body, headers=headers)
        moved_clock(timedelta(days=1))
        try:
            retried = await api.client.post("/api/v1/hazards", json=body, headers=headers)
        finally:
            moved_clock(timedelta(0))
        assert retried.status_code == 201, retried.text
        hazard_id = retried.json()["hazard_id"]
        match = HAZARD_ID.match(hazard_id)
        assert match and match.group(1) == claimed_on, hazard_id
        types = api.stream_types(case_stream_id(hazard_id))
        assert types.count("HazardRegistered") == 1
        assert retried.json()["case"]["version"] == len(types)
        # The id the first send started its case under: the key's, on the day it was claimed.
        with api.services.engine.connect() as conn:
            claimed_at = conn.execute(
                text("SELECT created_at FROM api_idempotency WHERE token_id = :t AND key = :k"),
                {"t": principal.token_id, "k": f"patrol-midnight-{mode}"},
            ).scalar_one()
        expected = api.services.keyed_hazard_id(
            principal.token_id, f"patrol-midnight-{mode}", 1, claimed_at
        )
        assert hazard_id == expected


async def test_a_key_claimed_before_one_id_format_still_finds_its_case(api: ApiHarness):
    """What the earlier release left behind: the key claimed for the request and its case
    started under the ``H-K…`` id, the answer lost. The retry after the upgrade finds it."""
    principal = authenticate(api.services.engine, api.grid.tokens["inspector_a"])
    assert principal is not None
    key = "patrol-before-upgrade-1"
    body = hazard(api.grid)
    model = HazardIn.model_validate(body)
    with api.services.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO api_idempotency (token_id, key, request_hash) VALUES (:t, :k, :h)"),
            {
                "t": principal.token_id,
                "k": key,
                "h": hashlib.sha256(model.model_dump_json().encode()).hexdigest(),
            },
        )
    legacy = legacy_keyed_hazard_id(principal.token_id, key)
    assert legacy.startswith("H-K")
    await api.services.register(principal, model.model_dump(), key, hazard_id=legacy)

    retried = await api.client.post("/api/v1/hazards", json=body, headers=keyed(api, key))
    assert retried.status_code == 201, retried.text
    assert retried.json()["hazard_id"] == legacy
    assert api.stream_types(case_stream_id(legacy)).count("HazardRegistered") == 1
