"""A case's events, commands and state as JSON-safe data and back: what the event store, the
workflow's history and the API carry. Reading recorded data never checks more than it did
when the data was written."""

from __future__ import annotations

from typing import Any

from domain._codec import check_text, from_data, to_data
from domain.case.commands import COMMAND_CLASSES, CaseCommand
from domain.case.events import EVENT_CLASSES, CaseEvent
from domain.case.state import CaseState
from domain.errors import DomainError

_EVENTS: dict[str, type[CaseEvent]] = {cls.EVENT_TYPE: cls for cls in EVENT_CLASSES}
_COMMANDS: dict[str, type[CaseCommand]] = {cls.COMMAND_TYPE: cls for cls in COMMAND_CLASSES}


def event_to_data(event: CaseEvent) -> dict[str, Any]:
    """JSON-safe fields of ``event`` (type and version: ``EVENT_TYPE``, ``SCHEMA_VERSION``)."""
    data: dict[str, Any] = to_data(event)
    return data


def event_from_data(event_type: str, schema_version: int, data: dict[str, Any]) -> CaseEvent:
    cls = _EVENTS.get(event_type)
    if cls is None:
        raise DomainError(
            "data.event_type_unknown", f"unknown case event type {event_type!r}", "event_type"
        )
    if schema_version != cls.SCHEMA_VERSION:
        raise DomainError(
            "data.schema_version_unknown",
            f"{event_type} v{schema_version} is not known",
            "schema_version",
        )
    event: CaseEvent = from_data(cls, data)
    return event


def command_to_data(command: CaseCommand) -> dict[str, Any]:
    data: dict[str, Any] = to_data(command)
    return data


def command_from_data(command_type: str, schema_version: int, data: dict[str, Any]) -> CaseCommand:
    cls = _COMMANDS.get(command_type)
    if cls is None:
        raise DomainError(
            "data.command_type_unknown", f"unknown case command {command_type!r}", "command_type"
        )
    if schema_version != cls.SCHEMA_VERSION:
        raise DomainError(
            "data.schema_version_unknown",
            f"{command_type} v{schema_version} is not known",
            "schema_version",
        )
    command: CaseCommand = from_data(cls, data)
    return command


def check_command_text(data: dict[str, Any]) -> None:
    """Refuse (``input.text_invalid``, naming the field) a command whose text the record cannot
    hold. Called where a command is accepted — the API, the workflow's update validators and a
    new case's registration — and never on reading a recorded command: a command accepted
    before this check existed must still read, and replay, as it was decided."""
    check_text(data)


def state_to_data(state: CaseState | None) -> dict[str, Any] | None:
    """The state as JSON-safe data, with the derived ``status``."""
    if state is None:
        return None
    data: dict[str, Any] = to_data(state)
    data["status"] = state.status.value
    return data


def state_from_data(data: dict[str, Any] | None) -> CaseState | None:
    if data is None:
        return None
    fields = {k: v for k, v in data.items() if k != "status"}
    state: CaseState = from_data(CaseState, fields)
    return state
