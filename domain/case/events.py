"""Value types and events of a hazard case (隐患督办案件).

Events are past-tense facts. Each carries what later decisions need (resolved deadlines,
grid units, listing numbers), so that ``evolve`` never needs the policy or a lookup. ``at`` is
when the fact was recorded (UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from domain._codec import OMIT_IF_DEFAULT
from domain.errors import DomainError
from domain.grid import GridLevel, GridUnit
from domain.policy import CreditEventKind, ListingLevel, Step


class HazardClass(StrEnum):
    GENERAL = "general"  # 一般事故隐患
    MAJOR = "major"  # 重大事故隐患


class HazardCategory(StrEnum):
    THING = "thing"  # 物的不安全状态
    PERSON = "person"  # 人的不安全行为
    MANAGEMENT = "management"  # 管理上的缺陷


class HazardSource(StrEnum):
    SELF_INSPECTION = "self_inspection"  # 企业自查
    GRID_PATROL = "grid_patrol"  # 网格巡查
    ENFORCEMENT_INSPECTION = "enforcement_inspection"  # 执法检查
    UNANNOUNCED_INSPECTION = "unannounced_inspection"  # 四不两直
    PUBLIC_REPORT = "public_report"  # 举报


class RectificationMode(StrEnum):
    IMMEDIATE = "immediate"  # 立改立销
    DEADLINE = "deadline"  # 限期整改
    LISTED = "listed"  # 挂牌督办


class CloseBasis(StrEnum):
    IMMEDIATE = "immediate"  # 立改立销
    VERIFIED = "verified"  # 验收合格销号
    SELF_RECTIFIED = "self_rectified"  # 自查自改销号: on the enterprise's own report (edition 5)


class DelistBasis(StrEnum):
    VERIFIED = "verified"  # 验收合格摘牌
    WITHDRAWN = "withdrawn"  # 撤销督办


class ReferralGround(StrEnum):
    REFUSAL = "refusal"  # 拒不整改
    LADDER_STEP = "ladder_step"  # the rung names 移送执法
    OVERDUE_AT_TOP = "overdue_at_top"  # 升级至顶仍逾期
    LISTING_PERIOD_ENDED = "listing_period_ended"  # 挂牌督办期满仍未整改


class PublicationKind(StrEnum):
    LISTING = "listing"  # 挂牌公告
    DELISTING = "delisting"  # 摘牌公告


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# The URI of a file duban stores itself (an upload, ``POST /api/v1/files``): the scheme and
# the file's SHA-256. Such evidence also records the file's size, type and name.
STORED_FILE_SCHEME = "duban-file:"


def stored_file_uri(sha256: str) -> str:
    return f"{STORED_FILE_SCHEME}{sha256}"


@dataclass(frozen=True)
class Evidence:
    """A photo or document reference (照片/文书) and its SHA-256.

    Two kinds: a reference a person typed (``uri`` anywhere, ``sha256`` as they gave it), or
    a file uploaded to duban's blob store (``uri`` is ``duban-file:<sha256>``, with ``size``,
    ``media_type`` read from the bytes, and the ``name`` it was uploaded as). The three were
    added later: left out of the data while unset, so recorded events read as they were."""

    uri: str
    sha256: str
    size: int | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    media_type: str | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    name: str | None = field(default=None, metadata=OMIT_IF_DEFAULT)

    def __post_init__(self) -> None:
        digest = self.sha256.strip().lower()
        if not _SHA256.match(digest):
            raise DomainError(
                "evidence.sha256_hex", "sha256 must be 64 hexadecimal characters", "sha256"
            )
        if not self.uri.strip():
            raise DomainError("evidence.uri_required", "evidence needs a uri", "uri")
        object.__setattr__(self, "sha256", digest)
        if self.size is not None and self.size < 0:
            raise DomainError("evidence.size_invalid", "a file's size is not negative", "size")

    @property
    def stored(self) -> bool:
        """A file in duban's blob store (uploaded), not a reference typed by a person."""
        return self.uri == stored_file_uri(self.sha256)


@dataclass(frozen=True)
class GovernancePlan:
    """The six-part governance plan (治理方案) of a major hazard (Order 16 Art 15, Hubei)."""

    goal_and_tasks: str  # 治理的目标和任务
    methods_and_measures: str  # 采取的方法和措施
    funds_and_materials: str  # 经费和物资的落实
    organisation_and_people: str  # 负责治理的机构和人员
    time_limit_and_requirements: str  # 治理的时限和要求
    safety_measures_and_emergency_plan: str  # 安全措施和应急预案

    def __post_init__(self) -> None:
        for f in fields(self):
            if not str(getattr(self, f.name)).strip():
                raise DomainError(
                    "case.plan.six_parts_required",
                    "治理方案 needs all six parts; this one is empty",
                    f"plan.{f.name}",
                )


@dataclass(frozen=True)
class ListingMeasures:
    """The 五落实 of a listing (挂牌督办): responsibility, measures, funds, time limit and
    emergency plan, each stated (Qingdao)."""

    responsibility: str  # 责任落实: who answers for the rectification
    measures: str  # 措施落实
    funds: str  # 资金落实
    time_limit: str  # 时限落实
    emergency_plan: str  # 应急预案落实

    def __post_init__(self) -> None:
        for f in fields(self):
            if not str(getattr(self, f.name)).strip():
                raise DomainError(
                    "case.list.five_implementations_required",
                    "挂牌督办 states all five of 五落实; this one is empty",
                    f"listing_measures.{f.name}",
                )


class CaseEvent:
    """Base of every case event."""

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    at: datetime


@dataclass(frozen=True)
class HazardRegistered(CaseEvent):
    """A hazard was found and registered (隐患登记); the case begins."""

    EVENT_TYPE: ClassVar[str] = "HazardRegistered"
    hazard_id: str
    credit_code: str
    enterprise_name: str
    industry: str
    grid_path: tuple[GridUnit, ...]  # lowest unit (village) first, root last
    hazard_class: HazardClass
    checklist_clause: str | None  # 重大事故隐患判定标准 clause
    category: HazardCategory
    source: HazardSource
    description: str
    location: str
    found_by: str
    found_at: datetime
    evidence: tuple[Evidence, ...]
    mode: RectificationMode
    registered_by: str
    policy_name: str
    policy_version: str
    policy_fingerprint: str
    time_zone: str
    at: datetime
    # Registered by the enterprise itself (企业自查, edition 5); left out of the data while
    # False, so that every registration recorded before reads and hashes as it was.
    self_reported: bool = field(default=False, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class RectificationNoticeIssued(CaseEvent):
    """整改通知书: the deadline, the measures, the enterprise's responsible person."""

    EVENT_TYPE: ClassVar[str] = "RectificationNoticeIssued"
    notice_no: str
    deadline: datetime
    deadline_no: int
    measures: str
    responsible_person: str
    issued_by: str
    at: datetime
    # A notice that waited for a year's holiday data (NoticeAwaitingCalendar): that year, and
    # the SHA-256 of its working days (``WorkingCalendar.year_digest``) the deadline was counted
    # with. Left out of every other notice's data, which stays as it was recorded.
    awaited_year: int | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    calendar_digest: str | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class NoticeAwaitingCalendar(CaseEvent):
    """The hazard is recorded, but its rectification notice (整改通知书) — and the listing a
    major or listed hazard takes at registration — waits: counting its deadline needs the
    holidays (节假日安排) of ``missing_year``, which the administrator has not loaded. Once they
    are, the notice is issued (RectificationNoticeIssued with ``awaited_year``) and its period
    counts from then. What the person gave for the notice is kept here: nothing is lost."""

    EVENT_TYPE: ClassVar[str] = "NoticeAwaitingCalendar"
    missing_year: int
    measures: str
    responsible_person: str
    deadline: datetime | None  # the deadline the person set, if any
    listing_level: ListingLevel | None  # the listing the registration makes, if any
    listing_measures: ListingMeasures | None
    issued_by: str  # who registered the hazard: the notice is theirs
    at: datetime


@dataclass(frozen=True)
class HazardListed(CaseEvent):
    """挂牌督办 at a level, by the grid unit at that level; ``deadline`` None keeps the current."""

    EVENT_TYPE: ClassVar[str] = "HazardListed"
    listing_no: str
    level: ListingLevel
    authority_unit_code: str
    authority_name: str
    authority_person: str
    measures: str
    deadline: datetime | None
    deadline_no: int | None
    supersedes: str | None  # the lower listing this one replaces (提级挂牌)
    publish_by: datetime
    listed_by: str
    at: datetime
    # 五落实 (edition 2: when a person lists). Fields added after edition 1 are left out of
    # the data while they hold their default, so that recorded events stay byte-identical.
    listing_measures: ListingMeasures | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class GovernancePlanSubmitted(CaseEvent):
    EVENT_TYPE: ClassVar[str] = "GovernancePlanSubmitted"
    plan: GovernancePlan
    submitted_by: str
    at: datetime
    # The files (or references) that came with it, when any (uploads, issue 17): left out of
    # the data while empty, so recorded events read as they were.
    evidence: tuple[Evidence, ...] = field(default=(), metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class RectificationReported(CaseEvent):
    """The enterprise reports the rectification done and applies for 验收/复查."""

    EVENT_TYPE: ClassVar[str] = "RectificationReported"
    summary: str
    evidence: tuple[Evidence, ...]
    reported_by: str
    review_by: datetime
    at: datetime


@dataclass(frozen=True)
class VerificationPassed(CaseEvent):
    EVENT_TYPE: ClassVar[str] = "VerificationPassed"
    verified_by: str
    comments: str
    at: datetime
    # The files (or references) that came with it, when any (uploads, issue 17): left out of
    # the data while empty, so recorded events read as they were.
    evidence: tuple[Evidence, ...] = field(default=(), metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class VerificationFailed(CaseEvent):
    """验收不合格: back to rectification with a new deadline.

    ``counts_as_missed``: the failure came at or after the deadline that the report stopped;
    ``deadline`` is then that deadline, and the DeadlineMissed and escalation that follow in
    the same batch set the next one (edition 2).
    """

    EVENT_TYPE: ClassVar[str] = "VerificationFailed"
    verified_by: str
    comments: str
    deadline: datetime
    deadline_no: int
    at: datetime
    counts_as_missed: bool = field(default=False, metadata=OMIT_IF_DEFAULT)
    # The files (or references) that came with it, when any (uploads, issue 17): left out of
    # the data while empty, so recorded events read as they were.
    evidence: tuple[Evidence, ...] = field(default=(), metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class ExtensionRequested(CaseEvent):
    EVENT_TYPE: ClassVar[str] = "ExtensionRequested"
    requested_by: str
    requested_deadline: datetime
    reasons: str
    interim_safeguards: str  # 临时安全防范措施
    decide_by: datetime
    at: datetime


@dataclass(frozen=True)
class ExtensionApproved(CaseEvent):
    EVENT_TYPE: ClassVar[str] = "ExtensionApproved"
    decided_by: str
    reason: str
    deadline: datetime
    deadline_no: int
    at: datetime


@dataclass(frozen=True)
class ExtensionRejected(CaseEvent):
    EVENT_TYPE: ClassVar[str] = "ExtensionRejected"
    decided_by: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class RefusalRecorded(CaseEvent):
    """拒不整改, recorded by a supervisor."""

    EVENT_TYPE: ClassVar[str] = "RefusalRecorded"
    recorded_by: str
    details: str
    at: datetime


@dataclass(frozen=True)
class ServiceAcknowledged(CaseEvent):
    """签收/送达: the enterprise acknowledged a notice served on it, with who and when."""

    EVENT_TYPE: ClassVar[str] = "ServiceAcknowledged"
    step_key: str
    notice_kind: str
    acknowledged_by: str
    at: datetime


@dataclass(frozen=True)
class EnforcementReferred(CaseEvent):
    """移送执法 to the enforcement team of the policy's grid level."""

    EVENT_TYPE: ClassVar[str] = "EnforcementReferred"
    ground: ReferralGround
    authority_unit_code: str
    authority_person: str
    referred_by: str
    at: datetime


@dataclass(frozen=True)
class ExtensionDecisionOverdue(CaseEvent):
    """The authority has not decided an extension request by ``decide_by`` (延期审批超时).

    The first alert (``alert_no`` 1) goes to the deciding unit and the unit above it; while the
    request stays undecided the alert repeats every ``decide_within``, each time one grid level
    further up (``alerted_unit_code``) until the top of the path, where it stays (催办).
    """

    EVENT_TYPE: ClassVar[str] = "ExtensionDecisionOverdue"
    timer_key: str
    decide_by: datetime
    deciding_unit_code: str
    at: datetime
    # Repeated alerts only; the first leaves them out of its data, as recorded before.
    alert_no: int = field(default=1, metadata=OMIT_IF_DEFAULT)
    alerted_unit_code: str | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class ListingPublished(CaseEvent):
    """挂牌/摘牌公告: the listing or de-listing entered on duban's public register of listed
    hazards, which is its publication; ``publish_by`` is the legal deadline it meets."""

    EVENT_TYPE: ClassVar[str] = "ListingPublished"
    listing_no: str
    kind: PublicationKind
    level: ListingLevel
    authority_unit_code: str
    publish_by: datetime
    at: datetime


@dataclass(frozen=True)
class CaseWithdrawn(CaseEvent):
    EVENT_TYPE: ClassVar[str] = "CaseWithdrawn"
    withdrawn_by: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class ReminderDue(CaseEvent):
    """A reminder timer fired before a deadline (到期提醒)."""

    EVENT_TYPE: ClassVar[str] = "ReminderDue"
    timer_key: str
    deadline: datetime
    before: str
    at: datetime


@dataclass(frozen=True)
class ReminderLapsed(CaseEvent):
    """A reminder was never sent: its deadline had passed by the time duban could send it (the
    worker was down), so it is recorded as lapsed (到期提醒未能发出) instead (edition 4).

    ``due_at`` is when it should have gone out; ``at`` is when duban noticed, on its catch-up.
    """

    EVENT_TYPE: ClassVar[str] = "ReminderLapsed"
    timer_key: str
    deadline: datetime
    before: str
    due_at: datetime
    at: datetime


@dataclass(frozen=True)
class DeadlineMissed(CaseEvent):
    """The deadline passed with no rectification report (逾期未整改)."""

    EVENT_TYPE: ClassVar[str] = "DeadlineMissed"
    timer_key: str
    deadline: datetime
    deadline_no: int
    escalation_index: int
    extension_lapsed: bool
    at: datetime


@dataclass(frozen=True)
class VerificationOverdue(CaseEvent):
    """The review (复查/验收) was not done within the policy's window."""

    EVENT_TYPE: ClassVar[str] = "VerificationOverdue"
    timer_key: str
    review_by: datetime
    at: datetime


@dataclass(frozen=True)
class CaseEscalated(CaseEvent):
    """逐级督办: the case moved up to the grid unit of ladder rung ``escalation_index``."""

    EVENT_TYPE: ClassVar[str] = "CaseEscalated"
    escalation_index: int  # 1 = first rung of the ladder
    grid_level: GridLevel
    unit_code: str
    unit_name: str
    responsible_person: str
    steps: tuple[Step, ...]
    deadline: datetime
    deadline_no: int
    at: datetime


@dataclass(frozen=True)
class HazardDelisted(CaseEvent):
    """摘牌 by the listing authority."""

    EVENT_TYPE: ClassVar[str] = "HazardDelisted"
    listing_no: str
    level: ListingLevel
    authority_unit_code: str
    basis: DelistBasis
    publish_by: datetime
    delisted_by: str
    at: datetime


@dataclass(frozen=True)
class CreditTriggerRaised(CaseEvent):
    """Something that counts on the enterprise's credit record; the workflow forwards it."""

    EVENT_TYPE: ClassVar[str] = "CreditTriggerRaised"
    credit_code: str
    kind: CreditEventKind
    hazard_class: HazardClass
    at: datetime


@dataclass(frozen=True)
class CaseClosed(CaseEvent):
    """销号."""

    EVENT_TYPE: ClassVar[str] = "CaseClosed"
    basis: CloseBasis
    at: datetime


@dataclass(frozen=True)
class SelfReportAwaitingAcceptance(CaseEvent):
    """A major hazard the enterprise found itself is reported to the supervising unit, which
    must accept it (受理) by ``accept_by`` (edition 5; Order 16 Art 14)."""

    EVENT_TYPE: ClassVar[str] = "SelfReportAwaitingAcceptance"
    unit_code: str  # the unit that accepts: the listing authority of a major hazard
    accept_by: datetime
    at: datetime


@dataclass(frozen=True)
class SelfReportAccepted(CaseEvent):
    """受理: the supervising unit (or one above it) accepted the self-reported major hazard and
    supervises its rectification from now on."""

    EVENT_TYPE: ClassVar[str] = "SelfReportAccepted"
    accepted_by: str
    unit_code: str
    comments: str
    at: datetime


@dataclass(frozen=True)
class SelfReportAcceptanceOverdue(CaseEvent):
    """受理超时: the self-reported major hazard was not accepted by ``accept_by``; alert
    ``alert_no`` goes to ``alerted_unit_code``, one grid level further up each time (催办)."""

    EVENT_TYPE: ClassVar[str] = "SelfReportAcceptanceOverdue"
    timer_key: str
    accept_by: datetime
    alert_no: int
    alerted_unit_code: str
    at: datetime


EVENT_CLASSES: tuple[type[CaseEvent], ...] = (
    HazardRegistered,
    RectificationNoticeIssued,
    HazardListed,
    GovernancePlanSubmitted,
    RectificationReported,
    VerificationPassed,
    VerificationFailed,
    ExtensionRequested,
    ExtensionApproved,
    ExtensionRejected,
    RefusalRecorded,
    EnforcementReferred,
    CaseWithdrawn,
    ReminderDue,
    DeadlineMissed,
    VerificationOverdue,
    CaseEscalated,
    HazardDelisted,
    CreditTriggerRaised,
    CaseClosed,
    ExtensionDecisionOverdue,
    ListingPublished,
    ReminderLapsed,
    NoticeAwaitingCalendar,
    ServiceAcknowledged,
    SelfReportAwaitingAcceptance,
    SelfReportAccepted,
    SelfReportAcceptanceOverdue,
)
