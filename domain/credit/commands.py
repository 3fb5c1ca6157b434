"""Commands to an enterprise's credit record: imperative, each with the acting person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from domain.case.commands import Actor
from domain.policy import CreditEventKind


class CreditCommand:
    COMMAND_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    actor: Actor


@dataclass(frozen=True)
class OpenCreditRecord(CreditCommand):
    COMMAND_TYPE: ClassVar[str] = "OpenCreditRecord"
    actor: Actor
    credit_code: str
    enterprise_name: str


@dataclass(frozen=True)
class RecordCreditEvent(CreditCommand):
    """Forwarded from a case's ``CreditTriggerRaised``; opens the record if needed."""

    COMMAND_TYPE: ClassVar[str] = "RecordCreditEvent"
    actor: Actor
    credit_code: str
    enterprise_name: str
    case_id: str
    kind: CreditEventKind
    occurred_at: datetime


@dataclass(frozen=True)
class OpenProceeding(CreditCommand):
    """A supervisor opens a proceeding on another ground of Order 11 (e.g. an accident)."""

    COMMAND_TYPE: ClassVar[str] = "OpenProceeding"
    actor: Actor
    ground: str
    basis: str


@dataclass(frozen=True)
class FileObjection(CreditCommand):
    COMMAND_TYPE: ClassVar[str] = "FileObjection"
    actor: Actor
    statement: str


@dataclass(frozen=True)
class DecideListing(CreditCommand):
    COMMAND_TYPE: ClassVar[str] = "DecideListing"
    actor: Actor
    list_enterprise: bool
    basis: str


@dataclass(frozen=True)
class ApplyEarlyRemoval(CreditCommand):
    COMMAND_TYPE: ClassVar[str] = "ApplyEarlyRemoval"
    actor: Actor
    statement: str


@dataclass(frozen=True)
class DecideEarlyRemoval(CreditCommand):
    COMMAND_TYPE: ClassVar[str] = "DecideEarlyRemoval"
    actor: Actor
    approve: bool
    reason: str = ""


@dataclass(frozen=True)
class RevokeEarlyRemoval(CreditCommand):
    COMMAND_TYPE: ClassVar[str] = "RevokeEarlyRemoval"
    actor: Actor
    reason: str


@dataclass(frozen=True)
class AcknowledgeCreditService(CreditCommand):
    """签收: the enterprise acknowledges a credit notice served on it (告知书, 决定书)."""

    COMMAND_TYPE: ClassVar[str] = "AcknowledgeCreditService"
    actor: Actor
    step_key: str
    notice_kind: str


@dataclass(frozen=True)
class FireCreditTimer(CreditCommand):
    COMMAND_TYPE: ClassVar[str] = "FireCreditTimer"
    actor: Actor
    key: str


CREDIT_COMMAND_CLASSES: tuple[type[CreditCommand], ...] = (
    OpenCreditRecord,
    AcknowledgeCreditService,
    RecordCreditEvent,
    OpenProceeding,
    FileObjection,
    DecideListing,
    ApplyEarlyRemoval,
    DecideEarlyRemoval,
    RevokeEarlyRemoval,
    FireCreditTimer,
)
