"""Activities over the event store: the only way a workflow's decisions reach the record.

Idempotent by construction: event ids are chosen by the workflow (``workflow.uuid4()``), so a
retried append finds its events already stored and returns their positions.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.eventstore import (
    EventIdReused,
    EventMetadata,
    EventStore,
    InvalidAppend,
    NewEvent,
    WrongExpectedVersion,
)
from workflows.contracts import (
    AppendEventsInput,
    AppendEventsResult,
    ReadStreamInput,
    ReadStreamResult,
    StoredEvent,
)

log = structlog.get_logger(__name__)


class EventStoreActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="append_events")
    def append_events(self, request: AppendEventsInput) -> AppendEventsResult:
        metadata = EventMetadata(
            actor_id=request.actor_id,
            actor_role=request.actor_role,
            correlation_id=request.correlation_id,
            causation_id=request.causation_id,
            workflow_id=request.workflow_id,
            run_id=request.run_id,
        )
        try:
            events = [
                NewEvent(
                    event_id=UUID(event.event_id),
                    event_type=event.event_type,
                    data=event.data,
                    metadata=metadata,
                    occurred_at=datetime.fromisoformat(event.occurred_at),
                    schema_version=event.schema_version,
                )
                for event in request.events
            ]
            result = self._store.append(request.stream_id, request.expected_version, events)
        except (WrongExpectedVersion, EventIdReused, InvalidAppend, ValueError) as exc:
            # Retrying cannot fix these: the workflow's view of its own stream is wrong.
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        log.info(
            "case.events_recorded",
            stream_id=request.stream_id,
            workflow_id=request.workflow_id,
            run_id=request.run_id,
            event_types=[e.event_type for e in request.events],
            positions=list(result.positions),
            already_stored=result.already_stored,
        )
        return AppendEventsResult(
            list(result.positions), result.stream_version, result.already_stored
        )

    @activity.defn(name="read_stream")
    def read_stream(self, request: ReadStreamInput) -> ReadStreamResult:
        return ReadStreamResult(
            [
                StoredEvent(
                    position=e.position,
                    stream_version=e.stream_version,
                    event_id=str(e.event_id),
                    event_type=e.event_type,
                    schema_version=e.schema_version,
                    data=e.data,
                    metadata=e.metadata,
                    occurred_at=e.occurred_at.isoformat(),
                    recorded_at=e.recorded_at.isoformat(),
                )
                for e in self._store.read_stream(request.stream_id, request.from_version)
            ]
        )
