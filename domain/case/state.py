"""A hazard case's state (案件状态) and ``evolve``: what the recorded events make of a case.

``evolve`` needs no policy and no calendar: every event carries what the state needs, so the
same fold rebuilds a case for its workflow and for an auditor, at any moment in the past.

The hazard's own deadline (整改期限, ``rectification_deadline``) is kept apart from the deadline
in force (``deadline``): escalation sets new supervision deadlines (督办函) for a hazard that
is already overdue, and being overdue (逾期) is judged against the hazard's deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain._codec import OMIT_IF_DEFAULT
from domain.case.events import (
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseWithdrawn,
    CreditTriggerRaised,
    DeadlineMissed,
    EnforcementReferred,
    ExtensionApproved,
    ExtensionDecisionOverdue,
    ExtensionRejected,
    ExtensionRequested,
    GovernancePlanSubmitted,
    HazardCategory,
    HazardClass,
    HazardDelisted,
    HazardListed,
    HazardRegistered,
    HazardSource,
    ListingMeasures,
    ListingPublished,
    NoticeAwaitingCalendar,
    RectificationMode,
    RectificationNoticeIssued,
    RectificationReported,
    RefusalRecorded,
    ReminderDue,
    ReminderLapsed,
    SelfReportAcceptanceOverdue,
    SelfReportAccepted,
    SelfReportAwaitingAcceptance,
    ServiceAcknowledged,
    VerificationFailed,
    VerificationOverdue,
    VerificationPassed,
)
from domain.errors import DomainError
from domain.grid import GridLevel, GridUnit
from domain.policy import CreditEventKind, ListingLevel


class CaseStatus(StrEnum):
    RECTIFYING = "rectifying"  # 整改中
    REPORTED = "reported"  # 已申请验收, awaiting verification
    ESCALATED = "escalated"  # 整改中, after at least one escalation
    REFERRED = "referred"  # 已移送执法, still open
    CLOSED = "closed"  # 已销号
    WITHDRAWN = "withdrawn"  # 已撤销


@dataclass(frozen=True)
class ListingRecord:
    listing_no: str
    level: ListingLevel
    authority_unit_code: str
    authority_person: str
    listed_at: datetime
    # When the hazard was first listed: a raised listing keeps the original 1-year limit.
    first_listed_at: datetime | None = None
    measures: ListingMeasures | None = None  # 五落实

    @property
    def period_start(self) -> datetime:
        return self.first_listed_at or self.listed_at


@dataclass(frozen=True)
class PendingExtension:
    requested_deadline: datetime
    decide_by: datetime
    requested_at: datetime


@dataclass(frozen=True)
class CaseState:
    hazard_id: str
    credit_code: str
    enterprise_name: str
    grid_path: tuple[GridUnit, ...]
    hazard_class: HazardClass
    checklist_clause: str | None
    category: HazardCategory
    source: HazardSource
    mode: RectificationMode
    time_zone: str
    policy_fingerprint: str
    registered_at: datetime
    supervising_unit_code: str
    supervising_level: GridLevel
    supervising_person: str
    closed: bool = False
    withdrawn: bool = False
    deadline: datetime | None = None
    deadline_no: int = 0
    deadline_set_at: datetime | None = None
    escalation_index: int = 0
    listing: ListingRecord | None = None
    plan_submitted: bool = False
    reports: int = 0
    reported_at: datetime | None = None
    review_by: datetime | None = None
    pending_extension: PendingExtension | None = None
    extensions_granted: int = 0
    verifications_failed: int = 0
    refused: bool = False
    referred: bool = False
    fired_timers: tuple[str, ...] = ()
    version: int = 0
    extension_requests: int = 0
    raised_credit_kinds: tuple[CreditEventKind, ...] = ()
    # 整改期限: the deadline in force for the enterprise until the case first misses one (see
    # ``_follow_rectification_deadline``); then the one it missed, for good.
    rectification_deadline: datetime | None = None
    rectification_missed: bool = False
    # The registration's notice waiting for a year's holiday data (NoticeAwaitingCalendar);
    # left out of the data while there is none, as in every state recorded before.
    notice_pending: NoticeAwaitingCalendar | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    # 企业自查 (edition 5): registered by the enterprise itself; a major hazard's report awaiting
    # the supervising unit's acceptance (受理). Left out of the data at their defaults.
    self_reported: bool = field(default=False, metadata=OMIT_IF_DEFAULT)
    acceptance_pending: SelfReportAwaitingAcceptance | None = field(
        default=None, metadata=OMIT_IF_DEFAULT
    )

    @property
    def is_open(self) -> bool:
        return not (self.closed or self.withdrawn)

    @property
    def status(self) -> CaseStatus:
        if self.closed:
            return CaseStatus.CLOSED
        if self.withdrawn:
            return CaseStatus.WITHDRAWN
        if self.reported_at is not None:
            return CaseStatus.REPORTED
        if self.referred:
            return CaseStatus.REFERRED
        if self.escalation_index > 0:
            return CaseStatus.ESCALATED
        return CaseStatus.RECTIFYING

    @property
    def current_deadline(self) -> datetime | None:
        return self.deadline

    @property
    def escalation_grid_level(self) -> GridLevel:
        return self.supervising_level

    @property
    def listed_level(self) -> ListingLevel | None:
        return self.listing.level if self.listing else None

    @property
    def deadline_running(self) -> bool:
        """A deadline is in force and has not been missed yet (its timer has not fired)."""
        return self.deadline is not None and f"deadline:{self.deadline_no}" not in set(
            self.fired_timers
        )

    def overdue_since(self, now: datetime) -> datetime | None:
        """逾期: since when the hazard is overdue at ``now`` (its rectification deadline), or
        None. Overdue: open, and its rectification deadline has passed without the hazard being
        rectified by it — also after escalation has set the case new supervision deadlines.
        Not overdue while a rectification reported by that deadline awaits verification, nor
        while an extension asked for in time awaits its decision (a late authority costs the
        enterprise nothing); a failed verification or a rejection then makes it overdue from
        the deadline itself."""
        deadline = self.rectification_deadline
        if not self.is_open or deadline is None or now < deadline:
            return None
        if self.reported_at is not None and self.reported_at <= deadline:
            return None
        if self.pending_extension is not None and not self.rectification_missed:
            return None
        return deadline

    def is_overdue(self, now: datetime) -> bool:
        """逾期 at ``now`` (``overdue_since``)."""
        return self.overdue_since(now) is not None

    def unit_at(self, level: GridLevel) -> GridUnit | None:
        return next((u for u in self.grid_path if u.level is level), None)

    def unit(self, code: str) -> GridUnit | None:
        return next((u for u in self.grid_path if u.code == code), None)

    def unit_above(self, code: str) -> GridUnit | None:
        """The next unit up the grid path from ``code``."""
        codes = [u.code for u in self.grid_path]
        if code not in codes:
            return None
        i = codes.index(code)
        return self.grid_path[i + 1] if i + 1 < len(self.grid_path) else None


def days_overdue(since: datetime, now: datetime, time_zone: str) -> int:
    """逾期天数 at ``now`` of a hazard overdue ``since`` its deadline: calendar days in
    ``time_zone`` from the deadline's day to today, at least 1. A deadline at 24:00 belongs to
    the day it closes (24:00 on 18 March: 19 March is the first day overdue)."""
    zone = ZoneInfo(time_zone)
    deadline_day = (since - timedelta(microseconds=1)).astimezone(zone).date()
    return max(1, (now.astimezone(zone).date() - deadline_day).days)


def in_time_zone(moment: datetime, time_zone: str) -> datetime:
    """``moment`` on the wall clock of ``time_zone`` (the same instant), as people read it."""
    return moment.astimezone(ZoneInfo(time_zone))


def evolve(state: CaseState | None, event: CaseEvent) -> CaseState:
    """Apply one event. Total on the events ``decide`` produces; needs no policy."""
    if state is None:
        if not isinstance(event, HazardRegistered):
            raise DomainError(
                "case.evolve.not_registered", f"{event.EVENT_TYPE} before HazardRegistered"
            )
        lowest = event.grid_path[0]
        return CaseState(
            hazard_id=event.hazard_id,
            credit_code=event.credit_code,
            enterprise_name=event.enterprise_name,
            grid_path=event.grid_path,
            hazard_class=event.hazard_class,
            checklist_clause=event.checklist_clause,
            category=event.category,
            source=event.source,
            mode=event.mode,
            time_zone=event.time_zone,
            policy_fingerprint=event.policy_fingerprint,
            registered_at=event.at,
            supervising_unit_code=lowest.code,
            supervising_level=lowest.level,
            supervising_person=lowest.responsible_person,
            version=1,
            self_reported=event.self_reported,
        )
    after = _apply(replace(state, version=state.version + 1), event)
    return _follow_rectification_deadline(state, after, event)


def _apply(s: CaseState, event: CaseEvent) -> CaseState:
    match event:
        case HazardRegistered():
            raise DomainError("case.evolve.already_registered", "a case is registered once")
        case RectificationNoticeIssued():
            s = replace(s, notice_pending=None) if s.notice_pending is not None else s
            return _set_deadline(s, event.deadline, event.deadline_no, event.at)
        case NoticeAwaitingCalendar():
            return replace(s, notice_pending=event)
        case HazardListed():
            before = s.listing
            s = replace(
                s,
                listing=ListingRecord(
                    event.listing_no,
                    event.level,
                    event.authority_unit_code,
                    event.authority_person,
                    event.at,
                    first_listed_at=before.period_start if before else event.at,
                    measures=event.listing_measures or (before.measures if before else None),
                ),
            )
            if event.level.grid_level.is_above(s.supervising_level):
                s = replace(
                    s,
                    supervising_unit_code=event.authority_unit_code,
                    supervising_level=event.level.grid_level,
                    supervising_person=event.authority_person,
                )
            if event.deadline is not None and event.deadline_no is not None:
                s = _set_deadline(s, event.deadline, event.deadline_no, event.at)
            return s
        case GovernancePlanSubmitted():
            return replace(s, plan_submitted=True)
        case RectificationReported():
            return replace(
                s,
                reports=s.reports + 1,
                reported_at=event.at,
                review_by=event.review_by,
                pending_extension=None,
            )
        case VerificationPassed():
            return replace(s, reported_at=None, review_by=None)
        case VerificationFailed():
            s = replace(
                s, reported_at=None, review_by=None, verifications_failed=s.verifications_failed + 1
            )
            return _set_deadline(s, event.deadline, event.deadline_no, event.at)
        case ExtensionRequested():
            return replace(
                s,
                pending_extension=PendingExtension(
                    event.requested_deadline, event.decide_by, event.at
                ),
                extension_requests=s.extension_requests + 1,
            )
        case ExtensionApproved():
            s = replace(s, pending_extension=None, extensions_granted=s.extensions_granted + 1)
            return _set_deadline(s, event.deadline, event.deadline_no, event.at)
        case ExtensionRejected():
            return replace(s, pending_extension=None)
        case RefusalRecorded():
            return replace(s, refused=True)
        case EnforcementReferred():
            return replace(s, referred=True)
        case CaseWithdrawn():
            return replace(s, withdrawn=True, pending_extension=None)
        case ReminderDue() | ReminderLapsed() | VerificationOverdue() | ExtensionDecisionOverdue():
            return replace(s, fired_timers=(*s.fired_timers, event.timer_key))
        case DeadlineMissed():
            return replace(
                s, fired_timers=(*s.fired_timers, event.timer_key), pending_extension=None
            )
        case CaseEscalated():
            s = replace(
                s,
                escalation_index=max(s.escalation_index, event.escalation_index),
                supervising_unit_code=event.unit_code,
                supervising_level=event.grid_level,
                supervising_person=event.responsible_person,
            )
            return _set_deadline(s, event.deadline, event.deadline_no, event.at)
        case HazardDelisted():
            return replace(s, listing=None)
        case ListingPublished() | ServiceAcknowledged():
            return s
        case SelfReportAwaitingAcceptance():
            return replace(s, acceptance_pending=event)
        case SelfReportAccepted():
            return replace(s, acceptance_pending=None)
        case SelfReportAcceptanceOverdue():
            return replace(s, fired_timers=(*s.fired_timers, event.timer_key))
        case CreditTriggerRaised():
            if event.kind in s.raised_credit_kinds:
                return s
            return replace(s, raised_credit_kinds=(*s.raised_credit_kinds, event.kind))
        case CaseClosed():
            return replace(s, closed=True, pending_extension=None)
    raise DomainError("case.evolve.unknown_event", f"unknown event {type(event).__name__}")


def _set_deadline(s: CaseState, deadline: datetime, number: int, at: datetime) -> CaseState:
    return replace(s, deadline=deadline, deadline_no=number, deadline_set_at=at)


def _follow_rectification_deadline(
    before: CaseState, after: CaseState, event: CaseEvent
) -> CaseState:
    """整改期限: the hazard's deadline follows the deadline in force — the notice's, a listing's,
    one moved by an approved extension (also one decided after the deadline, for a request
    made in time) or set after a failed verification (复查不合格, 重新限期整改) — until the case
    first misses it. Missed: its timer fired (DeadlineMissed), a verification failed or a
    rectification was reported after it, or another deadline was set once it had passed. From
    then on it stays the deadline missed: the hazard is overdue from it until written off,
    whatever supervision deadlines (督办函) escalation sets."""
    if before.rectification_missed:
        return after
    deadline, missed = before.rectification_deadline, False
    replaced = after.deadline_no != before.deadline_no
    if deadline is not None:
        match event:
            case DeadlineMissed():
                missed = True
            case VerificationFailed():
                missed = event.counts_as_missed or event.at >= deadline
            case RectificationReported():
                missed = event.at > deadline
            case ExtensionApproved():
                missed = False
            case _:
                missed = replaced and event.at >= deadline
    if missed:
        return replace(after, rectification_missed=True)
    if replaced:
        return replace(after, rectification_deadline=after.deadline)
    return after


def fold(events: Iterable[CaseEvent], state: CaseState | None = None) -> CaseState | None:
    for event in events:
        state = evolve(state, event)
    return state
