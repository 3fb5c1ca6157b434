"""Events of a case the clock or the enterprise lets down: reminders, a missed deadline,
escalation up the grid (升级), refusal (拒不整改), referral (移送执法) and the credit trigger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from domain.case.event_types.values import CaseEvent, HazardClass, ReferralGround
from domain.grid import GridLevel
from domain.policy import CreditEventKind, Step


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
class RefusalRecorded(CaseEvent):
    """拒不整改, recorded by a supervisor."""

    EVENT_TYPE: ClassVar[str] = "RefusalRecorded"
    recorded_by: str
    details: str
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
class CreditTriggerRaised(CaseEvent):
    """Something that counts on the enterprise's credit record; the workflow forwards it."""

    EVENT_TYPE: ClassVar[str] = "CreditTriggerRaised"
    credit_code: str
    kind: CreditEventKind
    hazard_class: HazardClass
    at: datetime
