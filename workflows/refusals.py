"""How a workflow says no to a person: a domain error becomes the non-retryable
``ApplicationError`` the API turns into its JSON refusal (rule, field, message).

Shared by the case and the credit workflows, whose Updates refuse alike; a refusal records
nothing (validators refuse before anything reaches history).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import CalendarDataMissing, DomainError


def refusal(exc: DomainError) -> ApplicationError:
    """The domain's rule, field and message, as a refusal no retry changes."""
    return ApplicationError(
        exc.message,
        {"rule": exc.rule, "field": exc.field, "message": exc.message},
        type=exc.rule,
        non_retryable=True,
    )


def blocked_refusal(exc: CalendarDataMissing) -> ApplicationError:
    """A command that cannot be decided until the administrator loads a year's calendar."""
    return ApplicationError(
        f"the case is waiting for calendar data before its next step: {exc.message}",
        {"rule": "case.blocked.calendar", "field": exc.field, "message": exc.message},
        type="case.blocked.calendar",
        non_retryable=True,
    )


def refuse_the_system_actor(command: Any) -> None:
    """Only the workflow acts as the system (timers, signals): a person's command may not."""
    if command.actor.role.value == "system":
        raise ApplicationError("people's commands cannot act as the system", type="forbidden")


def refuse_a_persons_unstorable_command(command: Any, exc: ActivityError) -> None:
    """The store refused a person's command for its content (InvalidAppend: a payload over
    the size limit, text it cannot hold): nothing was recorded and the state has not moved,
    so refuse the command to that person instead of retrying the workflow task for ever."""
    cause = exc.cause
    if (
        command.actor.role.value != "system"
        and isinstance(cause, ApplicationError)
        and cause.type == "InvalidAppend"
    ):
        raise DomainError("store.refused", cause.message, "command") from exc
