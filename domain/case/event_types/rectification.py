"""Events of rectification: the governance plan, the report, verification (验收), extensions
(延期), withdrawal and closing (销号)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from domain._codec import OMIT_IF_DEFAULT
from domain.case.event_types.values import CaseEvent, CloseBasis, Evidence, GovernancePlan


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
class CaseWithdrawn(CaseEvent):
    EVENT_TYPE: ClassVar[str] = "CaseWithdrawn"
    withdrawn_by: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class CaseClosed(CaseEvent):
    """销号."""

    EVENT_TYPE: ClassVar[str] = "CaseClosed"
    basis: CloseBasis
    at: datetime
