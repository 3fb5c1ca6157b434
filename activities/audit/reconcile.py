"""Reconcile: for every open case, the state folded from the store must equal the state its
live workflow holds. Any difference means one of them was changed behind the other's back
(a row written directly into the store, a workflow running on the wrong history)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from temporalio.client import Client
from temporalio.service import RPCError

from activities.eventstore import EventStore
from domain.case import event_from_data, fold, state_to_data
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


async def reconcile(store: EventStore, client: Client) -> tuple[int, list[Difference]]:
    """Compare every open case; returns how many were compared and every difference."""
    from workflows.case import CaseView, SupervisedCaseWorkflow

    found: list[Difference] = []
    hazard_ids = open_case_ids(store)
    for hazard_id in hazard_ids:
        events = store.read_stream(case_stream_id(hazard_id))
        state = fold(event_from_data(e.event_type, e.schema_version, e.data) for e in events)
        stored = {"version": len(events), "state": state_to_data(state)}
        try:
            view: CaseView = await client.get_workflow_handle(case_workflow_id(hazard_id)).query(
                SupervisedCaseWorkflow.state
            )
        except RPCError as exc:
            found.append(Difference(hazard_id, "workflow", "open case", f"unreachable: {exc}"))
            continue
        found += differences(hazard_id, stored, {"version": view.version, "state": view.state})
    return len(hazard_ids), found
