"""What goes into the event store and what comes out of it: an event to append with who
caused it, an event as stored, the result of an append and the store's head."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """Who caused an event and in which flow: kept with the event forever."""

    actor_id: str
    actor_role: str
    correlation_id: str | None = None
    causation_id: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"actor_id": self.actor_id, "actor_role": self.actor_role}
        for name in ("correlation_id", "causation_id", "workflow_id", "run_id"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.extra:
            data["extra"] = dict(self.extra)
        return data


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. Its id is chosen by the caller so that a retry can be recognised."""

    event_id: UUID
    event_type: str
    data: Mapping[str, Any]
    metadata: EventMetadata
    occurred_at: datetime
    schema_version: int = 1


class RecordedEvent(NamedTuple):
    """An event as stored. A named tuple rather than a frozen dataclass: a case's whole
    stream is rebuilt on every replay, and a frozen dataclass costs ~3 µs per event to build."""

    position: int
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    positions: tuple[int, ...]
    stream_version: int
    already_stored: bool = False


@dataclass(frozen=True, slots=True)
class Head:
    position: int
    hash: bytes
