"""The Idempotency-Key ledger (``api_idempotency``, migration 0009): a command sent under a key
is applied once, and its first answer is given back, byte for byte, to every retry.

The key is claimed for its request (path and body) before the command is sent, so a request
with another body under it is refused even while the first is in flight or its answer was
lost. A retry whose first answer was lost is sent again as the same attempt — the same
Temporal update id — which the workflow answers from its first run. A refusal is not kept as
the answer: it changed nothing, and the next request under the key is a new attempt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Engine

from api.auth import Principal
from api.services.cases import idempotency_digest
from api.services.refusals import Refused

log = structlog.get_logger(__name__)

JSON = "application/json"


@dataclass(frozen=True)
class Attempt:
    """One send of a keyed request. ``resent``: an earlier send of this same attempt may have
    reached its workflow (its answer was never stored)."""

    token_id: str
    key: str
    number: int
    resent: bool
    claimed_at: datetime  # when the key was first claimed (its registration's day)

    @property
    def update_id(self) -> str:
        digest = idempotency_digest(self.token_id, self.key)
        # The first attempt keeps the id of the first release with keyed commands, so a retry
        # across the upgrade still meets the update it repeats.
        return f"api-{digest[:40]}" + (f"-{self.number}" if self.number > 1 else "")


@dataclass(frozen=True)
class Claim:
    attempt: Attempt
    status_code: int
    answer: bytes | None  # the first answer, when there is one


def request_fingerprint(path: str, body: BaseModel) -> str:
    """What a key was first used for: the command's path (which case or enterprise, which
    action) and its body."""
    return hashlib.sha256(f"POST {path}\n{body.model_dump_json()}".encode()).hexdigest()


def registration_fingerprint(body: BaseModel) -> str:
    """POST /hazards keeps the body-only hash of the rows stored before paths were part of
    the fingerprint."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


async def answered_once(
    engine: Engine,
    principal: Principal,
    key: str | None,
    fingerprint: str,
    status_code: int,
    send: Callable[[Attempt | None], Awaitable[Any]],
) -> Response:
    """Run a command once per Idempotency-Key (see the module); without a key it is sent as
    it is. ``send`` is given the attempt (None without a key) and returns the answer."""
    attempt = None
    if key:
        claimed = await run_in_threadpool(claim, engine, principal, key, fingerprint)
        if claimed.answer is not None:
            return Response(claimed.answer, status_code=claimed.status_code, media_type=JSON)
        attempt = claimed.attempt
    try:
        result = await send(attempt)
    except Refused as refusal:
        if attempt is not None and refusal.status < 500:
            await run_in_threadpool(settle, engine, principal, attempt, refusal.status, None)
        raise
    # Serialised once: the first answer and every retry's are the same bytes.
    answer = bytes(JSONResponse(jsonable_encoder(result)).body).decode()
    if attempt is not None:
        await run_in_threadpool(settle, engine, principal, attempt, status_code, answer)
    return Response(answer, status_code=status_code, media_type=JSON)


def claim(engine: Engine, principal: Principal, key: str, fingerprint: str) -> Claim:
    """Claim ``key`` for the request ``fingerprint``, or find what it holds: an answer to give
    back, a send to repeat (in flight, or its answer lost), or a refusal to move past."""
    with engine.begin() as conn:
        inserted = conn.execute(
            text(
                "INSERT INTO api_idempotency (token_id, key, request_hash)"
                " VALUES (:t, :k, :h) ON CONFLICT DO NOTHING RETURNING attempt, created_at"
            ),
            {"t": principal.token_id, "k": key, "h": fingerprint},
        ).first()
        if inserted is not None:
            return Claim(Attempt(principal.token_id, key, inserted[0], False, inserted[1]), 0, None)
        # The row lock orders concurrent retries of one key.
        request_hash, status_code, response, attempt, claimed_at = conn.execute(
            text(
                "SELECT request_hash, status_code, response, attempt, created_at"
                " FROM api_idempotency WHERE token_id = :t AND key = :k FOR UPDATE"
            ),
            {"t": principal.token_id, "k": key},
        ).one()
        refused = status_code is not None and response is None
        if refused:
            # The last send was refused and changed nothing: this request is a new attempt,
            # with an update id Temporal has not answered yet.
            attempt = conn.execute(
                text(
                    "UPDATE api_idempotency SET request_hash = :h, status_code = NULL,"
                    " attempt = attempt + 1 WHERE token_id = :t AND key = :k RETURNING attempt"
                ),
                {"t": principal.token_id, "k": key, "h": fingerprint},
            ).scalar_one()
            return Claim(Attempt(principal.token_id, key, attempt, False, claimed_at), 0, None)
    if request_hash != fingerprint:
        raise Refused(
            422,
            "idempotency.key_reused",
            "this Idempotency-Key was used with another request (path or body)",
            "idempotency-key",
        )
    if response is None:
        return Claim(Attempt(principal.token_id, key, attempt, True, claimed_at), 0, None)
    # The answer is kept as the JSON text it was sent as (a jsonb string: jsonb would reorder
    # an object's keys); an object is a row from before, answered as well as it can be.
    answer = response.encode() if isinstance(response, str) else json.dumps(response).encode()
    return Claim(Attempt(principal.token_id, key, attempt, True, claimed_at), status_code, answer)


def settle(
    engine: Engine,
    principal: Principal,
    attempt: Attempt,
    status_code: int,
    answer: str | None,
) -> None:
    """Keep the answer of ``attempt`` (``None``: it was refused, and changed nothing)."""
    with engine.begin() as conn:
        kept = conn.execute(
            text(
                "UPDATE api_idempotency SET status_code = :s, response = CAST(:r AS jsonb)"
                " WHERE token_id = :t AND key = :k AND attempt = :a AND response IS NULL"
            ),
            {
                "t": principal.token_id,
                "k": attempt.key,
                "a": attempt.number,
                "s": status_code,
                "r": None if answer is None else json.dumps(answer),
            },
        ).rowcount
    if kept == 0 and answer is not None:
        # A send of an attempt the key has moved past (it was refused, then re-claimed) was
        # applied after all: both requests reached the record. Say so; an operator looks.
        log.warning(
            "idempotency.answer_not_kept",
            token_id=principal.token_id,
            attempt=attempt.number,
            status_code=status_code,
        )
