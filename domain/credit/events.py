"""Events of an enterprise's credit record (信用记录): past-tense facts, each carrying what
``evolve_credit`` needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from domain._codec import OMIT_IF_DEFAULT
from domain.policy import CreditEventKind


class CreditEvent:
    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    at: datetime


@dataclass(frozen=True)
class CreditRecordOpened(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "CreditRecordOpened"
    credit_code: str
    enterprise_name: str
    at: datetime


@dataclass(frozen=True)
class CreditEventRecorded(CreditEvent):
    """A happening from a case that counts on the record."""

    EVENT_TYPE: ClassVar[str] = "CreditEventRecorded"
    case_id: str
    kind: CreditEventKind
    occurred_at: datetime
    at: datetime


@dataclass(frozen=True)
class ProceedingOpened(CreditEvent):
    """A listing proceeding (列入程序) opened by a trigger of the policy or by a supervisor."""

    EVENT_TYPE: ClassVar[str] = "ProceedingOpened"
    proceeding_no: str
    trigger: str
    rule: str
    case_id: str | None
    opened_by: str
    at: datetime


@dataclass(frozen=True)
class ProceedingNoticeIssued(CreditEvent):
    """告知 (Order 11): the reasons for the intended listing, its legal basis and the
    enterprise's right to state its case and object (陈述申辩) until ``objection_until``."""

    EVENT_TYPE: ClassVar[str] = "ProceedingNoticeIssued"
    proceeding_no: str
    objection_until: datetime
    at: datetime
    # Stated from policy edition 2; left out of the data while empty (older notices).
    reasons: str = field(default="", metadata=OMIT_IF_DEFAULT)  # 事实和理由
    basis: str = field(default="", metadata=OMIT_IF_DEFAULT)  # 依据
    rights: str = field(default="", metadata=OMIT_IF_DEFAULT)  # 陈述、申辩的权利


@dataclass(frozen=True)
class ObjectionFiled(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "ObjectionFiled"
    proceeding_no: str
    statement: str
    filed_by: str
    at: datetime


@dataclass(frozen=True)
class ObjectionWindowClosed(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "ObjectionWindowClosed"
    proceeding_no: str
    timer_key: str
    at: datetime


@dataclass(frozen=True)
class ListingDecided(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "ListingDecided"
    proceeding_no: str
    listed: bool
    decided_by: str
    basis: str
    at: datetime


@dataclass(frozen=True)
class BlacklistPublished(CreditEvent):
    """公示: on the list until ``expires_at``; early removal may be applied for from
    ``early_removal_from``.

    Publication is duban's public register of serious-dishonesty entries, which shows the entry
    as soon as the listing decision (``decided_at``) is recorded; ``publish_by`` is the legal
    deadline (``credit.publish_within`` after the decision) that this publication meets.
    """

    EVENT_TYPE: ClassVar[str] = "BlacklistPublished"
    proceeding_no: str
    expires_at: datetime
    early_removal_from: datetime
    at: datetime
    # Recorded from policy edition 2; left out of the data while unset (older entries).
    decided_at: datetime | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    publish_by: datetime | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class EarlyRemovalApplied(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "EarlyRemovalApplied"
    statement: str
    applied_by: str
    at: datetime


@dataclass(frozen=True)
class EarlyRemovalApproved(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "EarlyRemovalApproved"
    decided_by: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class EarlyRemovalRejected(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "EarlyRemovalRejected"
    decided_by: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class EarlyRemovalRevoked(CreditEvent):
    """False statements (弄虚作假): the listing is restored with its original expiry."""

    EVENT_TYPE: ClassVar[str] = "EarlyRemovalRevoked"
    decided_by: str
    reason: str
    expires_at: datetime
    at: datetime


@dataclass(frozen=True)
class BlacklistExpired(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "BlacklistExpired"
    proceeding_no: str
    timer_key: str
    at: datetime


@dataclass(frozen=True)
class RatingChanged(CreditEvent):
    EVENT_TYPE: ClassVar[str] = "RatingChanged"
    old: str | None
    new: str
    points: int
    at: datetime


@dataclass(frozen=True)
class CreditServiceAcknowledged(CreditEvent):
    """签收/送达: the enterprise acknowledged a credit notice served on it, who and when."""

    EVENT_TYPE: ClassVar[str] = "CreditServiceAcknowledged"
    step_key: str
    notice_kind: str
    acknowledged_by: str
    at: datetime


CREDIT_EVENT_CLASSES: tuple[type[CreditEvent], ...] = (
    CreditRecordOpened,
    CreditEventRecorded,
    ProceedingOpened,
    ProceedingNoticeIssued,
    ObjectionFiled,
    ObjectionWindowClosed,
    ListingDecided,
    BlacklistPublished,
    EarlyRemovalApplied,
    EarlyRemovalApproved,
    EarlyRemovalRejected,
    EarlyRemovalRevoked,
    BlacklistExpired,
    RatingChanged,
    CreditServiceAcknowledged,
)
