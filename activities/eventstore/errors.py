"""What the event store refuses, each naming the field and the rule."""

from __future__ import annotations

from uuid import UUID


class EventStoreError(Exception):
    """Base of every error the event store raises on purpose."""


class InvalidAppend(EventStoreError, ValueError):
    """The append was malformed; nothing was written."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class WrongExpectedVersion(EventStoreError):
    """Optimistic concurrency: someone else appended to the stream first. Nothing was written."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, the append expected {expected}; "
            "nothing was written (re-read the stream and decide again)"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class EventIdReused(EventStoreError):
    """An event id is already stored with different content. Nothing was written."""

    def __init__(self, event_id: UUID, reason: str) -> None:
        super().__init__(
            f"event_id {event_id}: already stored with different content ({reason}); "
            "an event id names one event forever"
        )
        self.event_id = event_id
