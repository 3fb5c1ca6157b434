"""Events and commands of a public report (举报): what the public reported, the reminders and
escalation while nobody verifies it (核实), its outcome (linked hazard cases, or dismissed with
a reason) and the reward decided (奖励). A report's stream is ``public-report-<report_id>``.

The reporter's identity is not in these events: the record holds its SHA-256
(``identity_digest``) and the identity itself is kept apart, for the roles the policy names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from domain.case.commands import Actor
from domain.case.events import Evidence, HazardClass
from domain.grid import GridUnit


class RewardBasis(StrEnum):
    MAJOR_FINE_SHARE = "major_fine_share"  # 重大隐患/非法违法: a share of the fine, min and max
    GENERAL_FIXED = "general_fixed"  # 一般隐患: the local fixed reward
    NOT_FIRST_REPORTER = "not_first_reporter"  # only the first valid reporter is rewarded


class PublicReportEvent:
    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    at: datetime


@dataclass(frozen=True)
class PublicReportReceived(PublicReportEvent):
    """举报受理: received and assigned to the grid unit of its enterprise or place."""

    EVENT_TYPE: ClassVar[str] = "PublicReportReceived"
    report_id: str
    grid_path: tuple[GridUnit, ...]  # the assigned unit first, root last
    credit_code: str | None  # the enterprise reported, if the reporter named one
    enterprise_name: str | None
    place: str
    description: str
    evidence: tuple[Evidence, ...]
    identity_digest: str | None  # SHA-256 of the identity kept apart; None: anonymous
    verify_by: datetime
    policy_name: str
    policy_fingerprint: str
    time_zone: str
    at: datetime


@dataclass(frozen=True)
class PublicReportReminderDue(PublicReportEvent):
    EVENT_TYPE: ClassVar[str] = "PublicReportReminderDue"
    timer_key: str
    verify_by: datetime
    at: datetime


@dataclass(frozen=True)
class PublicReportVerificationOverdue(PublicReportEvent):
    """核实超时: alert ``alert_no`` to ``alerted_unit_code``, one grid level up each time."""

    EVENT_TYPE: ClassVar[str] = "PublicReportVerificationOverdue"
    timer_key: str
    verify_by: datetime
    alert_no: int
    alerted_unit_code: str
    at: datetime


@dataclass(frozen=True)
class PublicReportSubstantiated(PublicReportEvent):
    """核实属实: the report led to the linked hazard cases."""

    EVENT_TYPE: ClassVar[str] = "PublicReportSubstantiated"
    hazard_ids: tuple[str, ...]
    findings: str
    verified_by: str
    unit_code: str
    at: datetime


@dataclass(frozen=True)
class PublicReportDismissed(PublicReportEvent):
    """核实不属实 (or not a matter for supervision): dismissed with its reason."""

    EVENT_TYPE: ClassVar[str] = "PublicReportDismissed"
    reason: str
    verified_by: str
    unit_code: str
    at: datetime


@dataclass(frozen=True)
class PublicReportRewardDecided(PublicReportEvent):
    """奖励决定: the amount per the policy's scheme, and its basis."""

    EVENT_TYPE: ClassVar[str] = "PublicReportRewardDecided"
    amount_yuan: int
    basis: RewardBasis
    hazard_class: HazardClass
    fine_yuan: int | None
    decided_by: str
    unit_code: str
    at: datetime


REPORT_EVENT_CLASSES: tuple[type[PublicReportEvent], ...] = (
    PublicReportReceived,
    PublicReportReminderDue,
    PublicReportVerificationOverdue,
    PublicReportSubstantiated,
    PublicReportDismissed,
    PublicReportRewardDecided,
)


class PublicReportCommand:
    COMMAND_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    actor: Actor


@dataclass(frozen=True)
class ReceivePublicReport(PublicReportCommand):
    COMMAND_TYPE: ClassVar[str] = "ReceivePublicReport"
    actor: Actor
    report_id: str
    grid_path: tuple[GridUnit, ...]
    credit_code: str | None
    enterprise_name: str | None
    place: str
    description: str
    evidence: tuple[Evidence, ...] = ()
    identity_digest: str | None = None


@dataclass(frozen=True)
class FireReportTimer(PublicReportCommand):
    COMMAND_TYPE: ClassVar[str] = "FireReportTimer"
    actor: Actor
    key: str


@dataclass(frozen=True)
class SubstantiateReport(PublicReportCommand):
    COMMAND_TYPE: ClassVar[str] = "SubstantiateReport"
    actor: Actor
    hazard_ids: tuple[str, ...]
    findings: str


@dataclass(frozen=True)
class DismissReport(PublicReportCommand):
    COMMAND_TYPE: ClassVar[str] = "DismissReport"
    actor: Actor
    reason: str


@dataclass(frozen=True)
class DecideReward(PublicReportCommand):
    COMMAND_TYPE: ClassVar[str] = "DecideReward"
    actor: Actor
    hazard_class: HazardClass
    fine_yuan: int | None = None  # a major hazard's reward is a share of the fine imposed
    first_reporter: bool = True  # only the first valid reporter of a matter is rewarded


REPORT_COMMAND_CLASSES: tuple[type[PublicReportCommand], ...] = (
    ReceivePublicReport,
    FireReportTimer,
    SubstantiateReport,
    DismissReport,
    DecideReward,
)
