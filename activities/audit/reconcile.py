"""Reconcile: for every open case, the state folded from the store must equal the state its
live workflow holds. Any difference means one of them was changed behind the other's back
(a row written directly into the store, a workflow running on the wrong history).

The live state comes from the case workflow's ``state`` query, asked by its registered name:
an activity never imports a workflow class (the layers run domain ← workflows ← activities).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from temporalio.client import Client
from temporalio.service import RPCError

from activities.eventstore import EventStore, RecordedEvent
from domain.case import event_from_data, fold, state_to_data
from workflows.contracts import CASE_STATE_QUERY, CaseView
from workflows.ids import case_stream_id, case_workflow_id, hazard_id_from_stream

CLOSING_EVENTS = ("CaseClosed", "CaseWithdrawn")


@dataclass(frozen=True)
class Difference:
    hazard_id: str
    path: str
    stored: Any
    live: Any

    def __str__(self) -> str:
        return f"{self.hazard_id} {self.path}: store has {self.stored!r}, workflow {self.live!r}"


def open_case_ids(store: EventStore) -> list[str]:
    with store.engine.connect() as conn:
        streams = conn.execute(
            sa.text(
                "SELECT stream_id FROM events WHERE stream_id LIKE 'case-%' GROUP BY stream_id"
                " HAVING bool_and(event_type NOT IN ('CaseClosed', 'CaseWithdrawn'))"
                " ORDER BY stream_id"
            )
        ).scalars()
        return [hazard_id_from_stream(s) for s in streams]


def differences(hazard_id: str, stored: Any, live: Any, path: str = "") -> list[Difference]:
    if isinstance(stored, dict) and isinstance(live, dict):
        found: list[Difference] = []
        for key in sorted(set(stored) | set(live)):
            found += differences(
                hazard_id, stored.get(key), live.get(key), f"{path}.{key}" if path else key
            )
        return found
    if isinstance(stored, list) and isinstance(live, list) and len(stored) == len(live):
        found = []
        for index, (a, b) in enumerate(zip(stored, live, strict=True)):
            found += differences(hazard_id, a, b, f"{path}[{index}]")
        return found
    return [] if stored == live else [Difference(hazard_id, path or "state", stored, live)]


AfterStoreRead = Callable[[str], Awaitable[None]]


async def reconcile(
    store: EventStore, client: Client, *, after_store_read: AfterStoreRead | None = None
) -> tuple[int, list[Difference]]:
    """Compare every open case; returns how many were compared and every difference.

    On a live system a case can move between reading the store and querying its workflow
    (the workflow records an event, then its query answers one version ahead). So a case that
    differs is checked once more the other way round — query first, then read the store,
    which by then holds at least everything the workflow has recorded — and reported only if
    it still differs. ``after_store_read`` runs between the first read and the first query
    (tests use it to move a case at exactly that moment).
    """
    found: list[Difference] = []
    hazard_ids = await asyncio.to_thread(open_case_ids, store)
    for hazard_id in hazard_ids:
        events = await asyncio.to_thread(store.read_stream, case_stream_id(hazard_id))
        if after_store_read is not None:
            await after_store_read(hazard_id)
        view = await _query(client, hazard_id)
        if isinstance(view, Difference):
            found.append(view)
            continue
        first = differences(hazard_id, _stored(events), _live(view))
        if first:
            found += await _recheck(store, client, hazard_id)
    return len(hazard_ids), found


async def _query(client: Client, hazard_id: str) -> CaseView | Difference:
    try:
        view: CaseView = await client.get_workflow_handle(case_workflow_id(hazard_id)).query(
            CASE_STATE_QUERY, result_type=CaseView
        )
    except RPCError as exc:
        return Difference(hazard_id, "workflow", "open case", f"unreachable: {exc}")
    return view


async def _recheck(store: EventStore, client: Client, hazard_id: str) -> list[Difference]:
    stream = case_stream_id(hazard_id)
    view = await _query(client, hazard_id)
    if isinstance(view, Difference):
        return [view]
    events = await asyncio.to_thread(store.read_stream, stream)
    if len(events) > view.version:
        # The workflow may have recorded more since it answered: ask once more.
        again = await _query(client, hazard_id)
        if isinstance(again, Difference):
            return [again]
        view = again
        if view.version > len(events):
            events = await asyncio.to_thread(store.read_stream, stream)
    return differences(hazard_id, _stored(events), _live(view))


def _stored(events: list[RecordedEvent]) -> dict[str, Any]:
    state = fold(event_from_data(e.event_type, e.schema_version, e.data) for e in events)
    return {"version": len(events), "state": state_to_data(state)}


def _live(view: CaseView) -> dict[str, Any]:
    return {"version": view.version, "state": view.state}
