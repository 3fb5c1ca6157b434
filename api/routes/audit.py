"""A case's record for auditors and every reader in scope: its stored events with their hash
links, and its state as duban knew it at an instant, folded from those events only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import HazardId, Offset, PrincipalDep, ServicesDep
from api.presenters import jsonable, page_of, stored_event
from api.schemas import Page, StoredEventOut
from api.services.refusals import Refused, domain_refusal
from api.text_input import INSTANT_RULE, RFC3339_PATTERN
from domain.durations import utc_instant
from domain.errors import DomainError
from workflows.ids import case_stream_id

router = APIRouter(tags=["audit"])

# A case's history is read whole in one page as a rule: a case records tens of events.
HistoryLimit = Annotated[int, Query(ge=1, le=500)]


@router.get("/hazards/{hazard_id}/history", response_model=Page[StoredEventOut])
def history(
    hazard_id: HazardId,
    services: ServicesDep,
    principal: PrincipalDep,
    limit: HistoryLimit = 500,
    offset: Offset = 0,
) -> Page[StoredEventOut]:
    """The case's full stored history: every event with its position and hash links, in
    the order of the case's stream (``offset`` events skipped)."""
    facts = services.require_read(principal, hazard_id)
    stream = case_stream_id(facts.hazard_id)
    total = services.store.stream_version(stream)
    # No further than the total: an event appended meanwhile waits for the next read.
    last = min(offset + limit, total)
    events = services.store.read_stream(stream, offset + 1, last) if offset < last else []
    return page_of(events, total, limit, offset, stored_event)


@router.get("/hazards/{hazard_id}/as-of")
def as_of(
    hazard_id: HazardId,
    services: ServicesDep,
    principal: PrincipalDep,
    at: Annotated[
        str,
        Query(
            description=f"an instant: {INSTANT_RULE}",
            max_length=64,
            pattern=RFC3339_PATTERN,
            json_schema_extra={"format": "date-time"},  # a day the month has
        ),
    ],
) -> Any:
    """The case's state as duban knew it at ``at``, folded from stored events only."""
    from activities.audit.replay import replay_case

    instant = _parse_instant(at, "at")
    facts = services.require_read(principal, hazard_id)
    replay = replay_case(services.store, facts.hazard_id, as_of=instant)
    return jsonable(replay.to_data())


def _parse_instant(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.upper())  # RFC 3339 allows t and z
    except ValueError:  # the pattern passed: a day the month does not have (2026-06-31)
        raise Refused(422, "instant.rfc3339", f"no such instant: {value}", name) from None
    if moment.tzinfo is None:
        raise Refused(422, "request.invalid", "an instant needs a time zone offset", name)
    try:  # years 1900..9998, as every instant the domain accepts (no overflow past them)
        utc_instant(moment, name)
    except DomainError as exc:
        raise domain_refusal(exc) from exc
    return moment
