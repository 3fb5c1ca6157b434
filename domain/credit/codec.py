"""Credit record data: events, commands and state as JSON-safe data and back."""

from __future__ import annotations

from typing import Any

from domain._codec import check_text, from_data, to_data
from domain.credit.commands import CREDIT_COMMAND_CLASSES, CreditCommand
from domain.credit.events import CREDIT_EVENT_CLASSES, CreditEvent
from domain.credit.state import CreditState
from domain.errors import DomainError

_EVENTS = {cls.EVENT_TYPE: cls for cls in CREDIT_EVENT_CLASSES}
_COMMANDS = {cls.COMMAND_TYPE: cls for cls in CREDIT_COMMAND_CLASSES}


def credit_event_to_data(event: CreditEvent) -> dict[str, Any]:
    data: dict[str, Any] = to_data(event)
    return data


def credit_event_from_data(
    event_type: str, schema_version: int, data: dict[str, Any]
) -> CreditEvent:
    cls = _EVENTS.get(event_type)
    if cls is None or schema_version != cls.SCHEMA_VERSION:
        raise DomainError(
            "data.event_type_unknown",
            f"unknown credit event {event_type} v{schema_version}",
            "event_type",
        )
    event: CreditEvent = from_data(cls, data)
    return event


def credit_command_to_data(command: CreditCommand) -> dict[str, Any]:
    data: dict[str, Any] = to_data(command)
    return data


def credit_command_from_data(
    command_type: str, schema_version: int, data: dict[str, Any]
) -> CreditCommand:
    cls = _COMMANDS.get(command_type)
    if cls is None or schema_version != cls.SCHEMA_VERSION:
        raise DomainError(
            "data.command_type_unknown",
            f"unknown credit command {command_type} v{schema_version}",
            "command_type",
        )
    command: CreditCommand = from_data(cls, data)
    return command


def check_credit_command_text(data: dict[str, Any]) -> None:
    """As ``domain.case.check_command_text``: refuse text the record cannot hold where a
    command is accepted, never when a recorded command is read again."""
    check_text(data)


def credit_state_to_data(state: CreditState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    data: dict[str, Any] = to_data(state)
    data["is_blacklisted"] = state.is_blacklisted
    return data
