"""Commands to a hazard case: imperative, each with the acting person (``Actor``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from domain._codec import OMIT_IF_DEFAULT
from domain.case.events import (
    Evidence,
    GovernancePlan,
    HazardCategory,
    HazardClass,
    HazardSource,
    ListingMeasures,
    RectificationMode,
)
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.policy import ListingLevel


class Role(StrEnum):
    INSPECTOR = "inspector"  # 检查员/网格员
    ENTERPRISE = "enterprise"  # 生产经营单位
    SUPERVISOR = "supervisor"  # 监管人员 at a grid unit
    AUDITOR = "auditor"  # reads, changes nothing
    ADMIN = "admin"
    SYSTEM = "system"  # timers


@dataclass(frozen=True)
class Actor:
    id: str
    role: Role
    # The grid unit the person acts for; a supervisor's commands carry it (edition 2).
    unit_code: str | None = None
    # That unit's level, as the caller's grid knows it: a credit record has no grid path to
    # read it from, and [credit] decided_by_level is checked against it. On a case, where the
    # path tells the level, a level that contradicts the path is refused (edition 2). Left
    # out of the data while unset, as in older commands.
    unit_level: GridLevel | None = field(default=None, metadata=OMIT_IF_DEFAULT)


SYSTEM_ACTOR = Actor(id="system", role=Role.SYSTEM)


class CaseCommand:
    COMMAND_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    actor: Actor


@dataclass(frozen=True)
class RegisterHazard(CaseCommand):
    """登记隐患. ``grid_path`` is the enterprise's path, lowest unit first."""

    COMMAND_TYPE: ClassVar[str] = "RegisterHazard"
    actor: Actor
    hazard_id: str
    enterprise: Enterprise
    grid_path: tuple[GridUnit, ...]
    hazard_class: HazardClass
    category: HazardCategory
    source: HazardSource
    description: str
    location: str
    found_by: str
    found_at: datetime
    mode: RectificationMode
    evidence: tuple[Evidence, ...] = ()
    checklist_clause: str | None = None
    deadline: datetime | None = None  # None: the policy's default for the class / listing
    measures: str = ""
    responsible_person: str = ""  # the enterprise's person responsible for the rectification
    listing_level: ListingLevel | None = None
    # 五落实 when a supervisor lists (left out of the data while unset, as in older commands)
    listing_measures: ListingMeasures | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class SubmitGovernancePlan(CaseCommand):
    COMMAND_TYPE: ClassVar[str] = "SubmitGovernancePlan"
    actor: Actor
    plan: GovernancePlan
    # Files cited with it (uploads, issue 17); left out of the data while empty.
    evidence: tuple[Evidence, ...] = field(default=(), metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class ReportRectification(CaseCommand):
    COMMAND_TYPE: ClassVar[str] = "ReportRectification"
    actor: Actor
    summary: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class VerifyRectification(CaseCommand):
    COMMAND_TYPE: ClassVar[str] = "VerifyRectification"
    actor: Actor
    passed: bool
    comments: str = ""
    new_deadline: datetime | None = None  # on failure; None: the policy's rework period
    # Files cited with it (uploads, issue 17); left out of the data while empty.
    evidence: tuple[Evidence, ...] = field(default=(), metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class RequestExtension(CaseCommand):
    COMMAND_TYPE: ClassVar[str] = "RequestExtension"
    actor: Actor
    requested_deadline: datetime
    reasons: str
    interim_safeguards: str


@dataclass(frozen=True)
class DecideExtension(CaseCommand):
    COMMAND_TYPE: ClassVar[str] = "DecideExtension"
    actor: Actor
    approve: bool
    reason: str = ""
    new_deadline: datetime | None = None  # None: the requested deadline


@dataclass(frozen=True)
class ListHazard(CaseCommand):
    """挂牌督办 (or raise the listing level) by a supervisor."""

    COMMAND_TYPE: ClassVar[str] = "ListHazard"
    actor: Actor
    level: ListingLevel
    measures: str = ""
    deadline: datetime | None = None
    # 五落实 (required from edition 2; left out of the data while unset)
    listing_measures: ListingMeasures | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class RecordRefusal(CaseCommand):
    COMMAND_TYPE: ClassVar[str] = "RecordRefusal"
    actor: Actor
    details: str


@dataclass(frozen=True)
class WithdrawCase(CaseCommand):
    COMMAND_TYPE: ClassVar[str] = "WithdrawCase"
    actor: Actor
    reason: str


@dataclass(frozen=True)
class AcknowledgeService(CaseCommand):
    """签收: the enterprise acknowledges a notice served on it (by reading it in its inbox)."""

    COMMAND_TYPE: ClassVar[str] = "AcknowledgeService"
    actor: Actor
    step_key: str  # the notice's outbox step key: which notice was served
    notice_kind: str  # rectification_notice, hazard_listed, case_escalated


@dataclass(frozen=True)
class AcceptSelfReport(CaseCommand):
    """受理 a major hazard the enterprise reported itself (edition 5)."""

    COMMAND_TYPE: ClassVar[str] = "AcceptSelfReport"
    actor: Actor
    comments: str = ""


@dataclass(frozen=True)
class FireTimer(CaseCommand):
    COMMAND_TYPE: ClassVar[str] = "FireTimer"
    actor: Actor
    key: str


COMMAND_CLASSES: tuple[type[CaseCommand], ...] = (
    RegisterHazard,
    AcknowledgeService,
    SubmitGovernancePlan,
    ReportRectification,
    VerifyRectification,
    RequestExtension,
    DecideExtension,
    ListHazard,
    RecordRefusal,
    WithdrawCase,
    FireTimer,
    AcceptSelfReport,
)
