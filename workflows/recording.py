"""Recording a decision, as both long-lived workflows do it: the events become one batch with
ids from ``workflow.uuid4()`` (a retried append stores nothing twice), appended through the
``append_events`` activity at the version the workflow holds; the notices they cause go to the
outbox after the record; the rules come in through ``load_rules``, captured in the history.

The timeouts and retries are the same for every one of these calls: a storage outage must not
lose a decision, so they retry (backing off to a minute) until the database is back; only
errors no retry can fix are non-retryable (see activities/events.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        AppendEventsInput,
        EnqueueNotificationsInput,
        EventToAppend,
        LoadRulesInput,
        NotificationToQueue,
        RulesSnapshot,
    )
    from workflows.refusals import refuse_a_persons_unstorable_command

RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))


async def load_rules(purpose: str) -> RulesSnapshot:
    """The policy and calendar in force now (``purpose``: case, credit or calendar)."""
    rules: RulesSnapshot = await workflow.execute_activity(
        "load_rules",
        LoadRulesInput(purpose),
        result_type=RulesSnapshot,
        start_to_close_timeout=RECORD_TIMEOUT,
        retry_policy=RECORD_RETRY,
    )
    return rules


def to_append(event: Any, data: dict[str, Any], now: datetime) -> EventToAppend:
    """A domain event (``data``: its codec's form) as it is appended, under a fresh id."""
    return EventToAppend(
        event_id=str(workflow.uuid4()),
        event_type=event.EVENT_TYPE,
        schema_version=event.SCHEMA_VERSION,
        data=data,
        occurred_at=now.isoformat(),
    )


async def append_events(
    command: Any,
    stream_id: str,
    expected_version: int,
    batch: list[EventToAppend],
    *,
    correlation_id: str | None,
    causation_id: str | None = None,
    when_unrecordable: Callable[[ActivityError], None] | None = None,
) -> list[str]:
    """Append ``batch`` as ``command``'s record; returns the events' ids.

    When the store refuses the batch for a reason no retry fixes: a person's command whose
    content it cannot hold is refused to that person (DomainError, nothing recorded);
    ``when_unrecordable`` may raise a refusal of its own; otherwise the workflow task fails
    (and is retried): acting without recording would break "the state is the fold of the
    stored events", so an operator looks, the workflow is not failed, nothing is lost.
    """
    info = workflow.info()
    try:
        await workflow.execute_activity(
            "append_events",
            AppendEventsInput(
                stream_id=stream_id,
                expected_version=expected_version,
                events=batch,
                actor_id=command.actor.id,
                actor_role=command.actor.role.value,
                correlation_id=correlation_id,
                causation_id=causation_id or f"{command.COMMAND_TYPE}:{batch[0].event_id}",
                workflow_id=info.workflow_id,
                run_id=info.run_id,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
    except ActivityError as exc:
        refuse_a_persons_unstorable_command(command, exc)
        if when_unrecordable is not None:
            when_unrecordable(exc)
        raise RuntimeError(f"could not record {command.COMMAND_TYPE}: {exc.cause}") from exc
    return [event.event_id for event in batch]


async def enqueue_notifications(case_id: str, notices: list[NotificationToQueue]) -> None:
    """Queue the notices a record caused in the outbox (keyed by step: queued once)."""
    await workflow.execute_activity(
        "enqueue_notifications",
        EnqueueNotificationsInput(case_id, workflow.info().workflow_id, notices),
        start_to_close_timeout=RECORD_TIMEOUT,
        retry_policy=RECORD_RETRY,
    )
