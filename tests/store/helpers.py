"""Small builders for event-store tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from activities.eventstore import EventMetadata, NewEvent

INSPECTOR = EventMetadata("inspector-7", "inspector", correlation_id="corr-1")


def new_event(
    event_type: str = "HazardRegistered", data: dict[str, Any] | None = None, **overrides: Any
) -> NewEvent:
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "event_type": event_type,
        "data": data if data is not None else {"description": "消防通道堵塞", "n": 1},
        "metadata": INSPECTOR,
        "occurred_at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    }
    fields.update(overrides)
    return NewEvent(**fields)


def unique_stream(prefix: str = "case") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"
