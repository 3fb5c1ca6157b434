"""Events of a case's beginning: registration (登记), the rectification notice and its
service (送达), and the acceptance of a major hazard an enterprise reported itself (受理)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from domain._codec import OMIT_IF_DEFAULT
from domain.case.event_types.values import (
    CaseEvent,
    Evidence,
    HazardCategory,
    HazardClass,
    HazardSource,
    ListingMeasures,
    RectificationMode,
)
from domain.grid import GridUnit
from domain.policy import ListingLevel


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
class ServiceAcknowledged(CaseEvent):
    """签收/送达: the enterprise acknowledged a notice served on it, with who and when."""

    EVENT_TYPE: ClassVar[str] = "ServiceAcknowledged"
    step_key: str
    notice_kind: str
    acknowledged_by: str
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
