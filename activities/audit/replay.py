"""Replay a case from stored events only, as of any instant, with the domain's own ``evolve``.

"As of" means *what duban knew then*: events whose ``recorded_at`` (the database clock at the
append) is at or before the instant. ``by="occurred"`` uses the business time instead. Either
way nothing but the stored events is read: no workflow, no read model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from activities.eventstore import EventStore, RecordedEvent
from domain.case import CaseState, event_from_data, evolve, state_to_data
from domain.case.words import (
    DETAILS,
    EVENT_KINDS,
    GRID_LEVELS,
    STATUSES,
    coded_words,
)
from domain.durations import utc_instant
from domain.errors import DomainError
from workflows.ids import case_stream_id

# The Chinese names live in ``domain.case.words`` (one place); these names stay for readers.
LABELS = EVENT_KINDS
STATUS_LABELS = STATUSES
LEVEL_LABELS = GRID_LEVELS
DETAIL_LABELS = DETAILS
# Fields of an event that say which rule or deadline applied.
DETAIL_FIELDS = tuple(DETAILS)


def describe_detail(key: str, value: Any, zone: Any) -> tuple[str, str]:
    """(Chinese label, readable value) of one timeline detail: levels, steps, bases and timers
    in Chinese, instants in the case's local time."""
    label = DETAILS.get(key, key)
    coded = coded_words(key, value)
    if coded is not None:
        return label, coded
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return label, value
        if moment.tzinfo is not None:
            return label, moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return label, str(value)


@dataclass
class TimelineEntry:
    position: int
    stream_version: int
    event_type: str
    label: str
    actor_id: str
    actor_role: str
    recorded_at: str
    occurred_at: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseReplay:
    hazard_id: str
    as_of: datetime | None
    by: str
    state: CaseState | None
    timeline: list[TimelineEntry]
    events_total: int

    def to_data(self) -> dict[str, Any]:
        return {
            "hazard_id": self.hazard_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "by": self.by,
            "events_applied": len(self.timeline),
            "events_total": self.events_total,
            "state": state_to_data(self.state),
            "timeline": [entry.__dict__ for entry in self.timeline],
        }


def replay_events(
    events: list[RecordedEvent],
    hazard_id: str,
    as_of: datetime | None = None,
    by: Literal["recorded", "occurred"] = "recorded",
) -> CaseReplay:
    cutoff = None
    if as_of is not None:
        try:  # the domain's range of instants: converting one outside it could overflow
            cutoff = utc_instant(as_of, "as_of")
        except DomainError as exc:
            raise ValueError(f"as_of: {exc.message}") from exc
    state: CaseState | None = None
    timeline: list[TimelineEntry] = []
    for event in events:
        moment = event.recorded_at if by == "recorded" else event.occurred_at
        if cutoff is not None and moment > cutoff:
            break
        state = evolve(state, event_from_data(event.event_type, event.schema_version, event.data))
        timeline.append(
            TimelineEntry(
                position=event.position,
                stream_version=event.stream_version,
                event_type=event.event_type,
                label=LABELS.get(event.event_type, event.event_type),
                actor_id=str(event.metadata.get("actor_id", "")),
                actor_role=str(event.metadata.get("actor_role", "")),
                recorded_at=event.recorded_at.isoformat(),
                occurred_at=event.occurred_at.isoformat(),
                details={k: event.data[k] for k in DETAIL_FIELDS if event.data.get(k)},
            )
        )
    return CaseReplay(hazard_id, as_of, by, state, timeline, len(events))


def replay_case(
    store: EventStore,
    hazard_id: str,
    as_of: datetime | None = None,
    by: Literal["recorded", "occurred"] = "recorded",
) -> CaseReplay:
    """The case's state and timeline from its stored events, up to ``as_of``."""
    return replay_events(store.read_stream(case_stream_id(hazard_id)), hazard_id, as_of, by)
