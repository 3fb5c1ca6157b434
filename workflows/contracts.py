"""The dataclasses that cross Temporal's boundary: workflow, update, query and activity
inputs and results.

One dataclass in and one out everywhere, holding JSON-safe values (domain objects travel as
their ``to_data`` dicts), so fields can be added later without breaking running cases, and the
payloads in a workflow's history stay readable to an operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EventToAppend:
    event_id: str
    event_type: str
    schema_version: int
    data: dict[str, Any]
    occurred_at: str  # ISO 8601 with offset


@dataclass
class AppendEventsInput:
    stream_id: str
    expected_version: int
    events: list[EventToAppend]
    actor_id: str
    actor_role: str
    correlation_id: str | None = None
    causation_id: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None


@dataclass
class AppendEventsResult:
    positions: list[int]
    stream_version: int
    already_stored: bool


@dataclass
class ReadStreamInput:
    stream_id: str
    from_version: int = 1


@dataclass
class StoredEvent:
    position: int
    stream_version: int
    event_id: str
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: str
    recorded_at: str


@dataclass
class ReadStreamResult:
    events: list[StoredEvent]


@dataclass
class LoadRulesInput:
    purpose: str = "case"


@dataclass
class RulesSnapshot:
    """The policy and working-day calendar a case runs under, captured in its history so that
    a replay uses exactly the rules the case was decided with."""

    policy: dict[str, Any]
    policy_source: str
    calendar_text: str | None = None
    calendar_source: str | None = None


@dataclass
class NotificationToQueue:
    step_key: str
    recipient_kind: str
    recipient_id: str
    reason: str
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class EnqueueNotificationsInput:
    case_id: str
    workflow_id: str
    notifications: list[NotificationToQueue]


@dataclass
class EnqueueNotificationsResult:
    queued: int


@dataclass
class CreditSignalInput:
    """A case tells its enterprise's credit workflow about an event that counts (信用)."""

    credit_code: str
    enterprise_name: str
    grid_code: str
    event_id: str
    event_type: str
    event: dict[str, Any]
