"""A hazard case (隐患督办案件): state, ``evolve``, ``decide``, timers and notifications.

The workflow loop is: ``events = decide(state, command, now, policy, calendar)``; record
them; ``state = evolve(state, e)`` for each; wait for ``min(t.due_at for t in
pending_timers(state, policy))`` or the next human command; on a timer call ``decide`` with
``FireTimer(key)`` and the system actor. ``catch_up`` gives the events of every timer already
due, so that a command is decided against the state the clock has reached.

Timer keys: ``deadline:<n>`` for the n-th deadline set in the case, ``reminder:<n>:<offset>``
for a reminder before it (offset as in the policy, e.g. ``P3D``), ``review:<m>`` for the m-th
rectification report awaiting verification, ``decision:<k>`` for the k-th extension request
awaiting the authority's decision and ``decision:<k>:<n>`` for its n-th repeated alert (edition
2). A fired key is recorded in the state and is never pending again; setting a new deadline
gives new keys.

Rules that came with policy edition 2 are marked so in their function's docstring; under an
edition-1 policy the case decides exactly as it did when it was recorded. The same holds for
editions 3 and 4: a case decides under the edition of the policy it was registered under.

The hazard's own deadline (整改期限, ``rectification_deadline``) is kept apart from the deadline
in force (``deadline``): escalation sets new supervision deadlines (督办函) for a hazard that
is already overdue, and being overdue (逾期) is judged against the hazard's deadline.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain._codec import OMIT_IF_DEFAULT, check_text, from_data, to_data
from domain.calendar import WorkingCalendar, end_of_day
from domain.case_commands import (
    COMMAND_CLASSES,
    SYSTEM_ACTOR,
    Actor,
    CaseCommand,
    DecideExtension,
    FireTimer,
    ListHazard,
    RecordRefusal,
    RegisterHazard,
    ReportRectification,
    RequestExtension,
    Role,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case_events import (
    EVENT_CLASSES,
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseWithdrawn,
    CloseBasis,
    CreditTriggerRaised,
    DeadlineMissed,
    DelistBasis,
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
    PublicationKind,
    RectificationMode,
    RectificationNoticeIssued,
    RectificationReported,
    ReferralGround,
    RefusalRecorded,
    ReminderDue,
    ReminderLapsed,
    VerificationFailed,
    VerificationOverdue,
    VerificationPassed,
)
from domain.durations import PolicyDuration, utc_instant
from domain.errors import CalendarDataMissing, DomainError
from domain.grid import GridLevel, GridUnit
from domain.policy import CreditEventKind, ListingLevel, Policy, Rung, Step


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


@dataclass(frozen=True)
class Timer:
    key: str
    kind: str  # "reminder" | "reminder_lapsed" | "deadline" | "review" | "extension_decision"
    due_at: datetime


@dataclass(frozen=True)
class Notification:
    recipient_kind: str  # "enterprise" | "grid_responsible" | "listing_authority" | "enforcement"
    # | "public_register"
    recipient_id: str
    reason: str
    step_key: str


# ---------------------------------------------------------------------------------------------
# evolve


def _err(rule: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(rule, message, field)


def evolve(state: CaseState | None, event: CaseEvent) -> CaseState:
    """Apply one event. Total on the events ``decide`` produces; needs no policy."""
    if state is None:
        if not isinstance(event, HazardRegistered):
            raise _err("case.evolve.not_registered", f"{event.EVENT_TYPE} before HazardRegistered")
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
        )
    after = _apply(replace(state, version=state.version + 1), event)
    return _follow_rectification_deadline(state, after, event)


def _apply(s: CaseState, event: CaseEvent) -> CaseState:
    match event:
        case HazardRegistered():
            raise _err("case.evolve.already_registered", "a case is registered once")
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
        case ListingPublished():
            return s
        case CreditTriggerRaised():
            if event.kind in s.raised_credit_kinds:
                return s
            return replace(s, raised_credit_kinds=(*s.raised_credit_kinds, event.kind))
        case CaseClosed():
            return replace(s, closed=True, pending_extension=None)
    raise _err("case.evolve.unknown_event", f"unknown event {type(event).__name__}")


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


# ---------------------------------------------------------------------------------------------
# timers


def _edition_2(policy: Policy) -> bool:
    return policy.edition >= 2


def _edition_3(policy: Policy) -> bool:
    return policy.edition >= 3


def _edition_4(policy: Policy) -> bool:
    return policy.edition >= 4


def pending_timers(
    state: CaseState | None,
    policy: Policy,
    calendar: WorkingCalendar | None = None,
    now: datetime | None = None,
) -> list[Timer]:
    """The timers this state waits for, earliest first.

    Edition 2: while an extension request awaits its decision the deadline does not fall due
    (the enterprise asked in time; a late authority must not cost it the extension), and the
    decision itself has a timer at ``decide_by``.

    Edition 3: while the request stays undecided the alert repeats every ``decide_within``
    one grid level further up (counted on ``calendar``, by default the package's years), so
    that the case is always driven by a timer; and given ``now``, the reminders of a deadline
    that has already passed are left out: a catch-up after the deadline tells nobody "3 days
    before". (Edition 2 cases recorded these steps otherwise and replay as recorded.)

    Edition 4: those reminders are not dropped in silence: each stays pending as a
    ``reminder_lapsed`` timer, due at the time it should have gone out, and firing it records
    ``ReminderLapsed`` (sent to nobody), so the record says the enterprise was never reminded.
    (Edition 3 cases dropped them and replay as recorded.)
    """
    if state is None or not state.is_open:
        return []
    fired = set(state.fired_timers)
    timers: list[Timer] = []
    waiting_for_decision = _edition_2(policy) and state.pending_extension is not None
    if state.reported_at is not None:
        key = f"review:{state.reports}"
        if key not in fired and state.review_by is not None:
            timers.append(Timer(key, "review", state.review_by))
    elif state.deadline is not None:
        deadline_key = f"deadline:{state.deadline_no}"
        if deadline_key not in fired:
            tz = ZoneInfo(state.time_zone)
            passed = _edition_3(policy) and now is not None and now >= state.deadline
            kind = "reminder_lapsed" if passed else "reminder"
            for offset in (
                policy.reminders.before_deadline if not passed or _edition_4(policy) else ()
            ):
                key = f"reminder:{state.deadline_no}:{offset}"
                due = offset.subtract_calendar(state.deadline, tz)
                set_at = state.deadline_set_at or state.registered_at
                if key not in fired and due > set_at:
                    timers.append(Timer(key, kind, due))
            if not waiting_for_decision:
                timers.append(Timer(deadline_key, "deadline", state.deadline))
    if waiting_for_decision:
        alert = _decision_alert(state, policy, calendar or WorkingCalendar(), now)
        if alert is not None:
            timers.append(alert)
    return sorted(timers, key=lambda t: (t.due_at, t.key))


def _decision_alert(
    state: CaseState, policy: Policy, calendar: WorkingCalendar, now: datetime | None
) -> Timer | None:
    """The next alert of the pending extension request: ``decision:<k>`` at ``decide_by``,
    then (edition 3) ``decision:<k>:<n>`` every ``decide_within`` after the alert before it.

    An alert counted into a year the calendar has no data for stands, until it could first be
    due, as a timer at the earliest instant it could fall: the working days still to count
    after the last known day, taken as if every day of the new year were one
    (``_earliest_alert``). Nothing waits on calendar data it does not need yet; from that
    instant on, the missing year is the case's block.
    """
    pending = state.pending_extension
    assert pending is not None
    first = f"decision:{state.extension_requests}"
    fired = set(state.fired_timers)
    if first not in fired:
        return Timer(first, "extension_decision", pending.decide_by)
    if not _edition_3(policy):
        return None  # edition 2: one alert, then the case waits for the decision
    interval = policy.extension.limits(listed=state.listing is not None).decide_within
    due, number = pending.decide_by, 2
    while True:
        key = f"{first}:{number}"
        try:
            due = _next_alert(due, interval, policy, calendar)
        except CalendarDataMissing as missing:
            not_before = _earliest_alert(due, interval, missing.year, policy, calendar)
            if now is not None and now < not_before and key not in fired:
                return Timer(key, "extension_decision", not_before)
            raise
        if key not in fired:
            return Timer(key, "extension_decision", due)
        number += 1


def _earliest_alert(
    after: datetime,
    interval: PolicyDuration,
    missing_year: int,
    policy: Policy,
    calendar: WorkingCalendar,
) -> datetime:
    """A lower bound of ``_next_alert(after, …)`` when ``missing_year`` has no calendar data:
    the working days counted up to 31 December before it are known; the rest fall in the
    missing year, at the earliest on its first days in a row."""
    new_year = date(missing_year, 1, 1)
    if not interval.is_working_days:
        return datetime(missing_year, 1, 1, tzinfo=policy.tz).astimezone(UTC)
    day = (after.astimezone(policy.tz) - timedelta(microseconds=1)).date()
    remaining = interval.working_days
    while (day := day + timedelta(days=1)) < new_year:
        if calendar.is_working_day(day):
            remaining -= 1
    return end_of_day(new_year + timedelta(days=max(remaining, 1) - 1), policy.tz)


def _next_alert(
    after: datetime, interval: PolicyDuration, policy: Policy, calendar: WorkingCalendar
) -> datetime:
    if interval.is_working_days:
        # From the end of the day the last alert closed: a decide_by at 24:00 Wednesday and
        # P2WD give 24:00 Friday, two whole working days later (not Monday).
        closed = (after.astimezone(policy.tz) - timedelta(microseconds=1)).date()
        return end_of_day(calendar.nth_working_day(closed, interval.working_days), policy.tz)
    return interval.add_to(after, calendar, policy.tz)


def due_timers(
    state: CaseState | None,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar | None = None,
) -> list[Timer]:
    """The pending timers whose time has come at ``now``."""
    return [t for t in pending_timers(state, policy, calendar, now) if t.due_at <= now]


def catch_up(
    state: CaseState | None, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> tuple[CaseState | None, list[CaseEvent]]:
    """Fire every timer due at ``now``, earliest first, as the system would; the state after
    them and their events. A command's validation runs against this state, so that a report
    one second after a deadline meets the escalated case whatever the order of delivery."""
    events: list[CaseEvent] = []
    while state is not None and state.is_open:
        due = due_timers(state, now, policy, calendar)
        if not due:
            break
        fired = decide(state, FireTimer(SYSTEM_ACTOR, due[0].key), now, policy, calendar)
        events += fired
        state = fold(fired, state)
    return state, events


# ---------------------------------------------------------------------------------------------
# decide: helpers


def _require_role(actor: Actor, roles: Sequence[Role], rule: str, what: str) -> None:
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise _err(rule, f"only {allowed} may {what}; {actor.role.value} may not", "actor.role")


def _require_text(value: str, rule: str, field: str, what: str) -> None:
    if not value.strip():
        raise _err(rule, f"{what} is required", field)


def _future(deadline: datetime, now: datetime, field: str) -> datetime:
    deadline = utc_instant(deadline, field)
    if deadline <= now:
        raise _err(
            "case.deadline.in_past", f"deadline {deadline.isoformat()} is not after now", field
        )
    return deadline


# A hazard id names the case's workflow and event stream (workflows/ids.py uses this pattern).
HAZARD_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
HAZARD_ID_RULE = (
    "1-80 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
)


def validate_hazard_id(hazard_id: str) -> str:
    """``hazard_id`` when the case can be recorded under it (``case.register.hazard_id_pattern``
    otherwise): every rule of every edition, since no other id could ever have been stored."""
    if not HAZARD_ID_PATTERN.match(hazard_id):
        raise _err(
            "case.register.hazard_id_pattern", f"{hazard_id!r}: {HAZARD_ID_RULE}", "hazard_id"
        )
    return hazard_id


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8].upper()


def _listing_no(
    hazard_id: str, level: ListingLevel, unit: GridUnit, now: datetime, tz: ZoneInfo
) -> str:
    """挂牌编号: level, authority unit, year and a hash of the hazard id — deterministic."""
    year = now.astimezone(tz).year
    return f"GP-{level.value.upper()}-{unit.code}-{year}-{_short_hash(hazard_id, level.value)}"


def _period(
    duration: PolicyDuration, start: datetime, policy: Policy, calendar: WorkingCalendar
) -> datetime:
    """A rectification period (整改期限) from ``start``. Edition 2 reads it as a legal period:
    a period in days, months or years ends at 24:00 of its last day, rolled to the next
    working day when that day is off work (Civil Code Art. 201–203); edition 1 added exactly."""
    if _edition_2(policy):
        return duration.add_as_period(start, calendar, policy.tz)
    return duration.add_to(start, calendar, policy.tz)


def _listing_limit(start: datetime, policy: Policy, calendar: WorkingCalendar) -> datetime:
    """The latest deadline a listing that began at ``start`` allows (挂牌督办期限)."""
    return _period(policy.listing.max_duration, start, policy, calendar)


def _limit_start(state: CaseState, policy: Policy) -> datetime | None:
    """Where the listing maximum counts from: the first listing (edition 2) — a raised level
    does not start the year again — or the current listing (edition 1)."""
    if state.listing is None:
        return None
    return state.listing.period_start if _edition_2(policy) else state.listing.listed_at


def _check_listing_max(
    deadline: datetime,
    listed_at: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    field: str,
) -> None:
    limit = _listing_limit(listed_at, policy, calendar)
    if deadline > limit:
        raise _err(
            "case.listing.deadline_exceeds_max",
            f"挂牌督办 lasts at most {policy.listing.max_duration}: deadline must be on or "
            f"before {limit.isoformat()}",
            field,
        )


def _capped(
    deadline: datetime,
    state: CaseState,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> datetime:
    """A deadline the policy computed, bounded by the listing maximum (edition 2)."""
    start = _limit_start(state, policy)
    if not _edition_2(policy) or start is None:
        return deadline
    limit = _listing_limit(start, policy, calendar)
    if limit <= now:
        raise _err(
            "case.listing.period_ended",
            f"the 挂牌督办 period ended at {limit.isoformat()}; no deadline can be set within it",
        )
    return min(deadline, limit)


# --- authority (edition 2) ----------------------------------------------------------------------


def _acting_unit(state_path: Sequence[GridUnit], actor: Actor) -> GridUnit:
    """The actor's grid unit on the case's grid path (a supervisor acts only inside the subtree
    of their unit: 定格、定责、定人)."""
    if actor.unit_code is None:
        raise _err(
            "case.authority.unit_required",
            "a supervisor's command names the grid unit the supervisor acts for",
            "actor.unit_code",
        )
    unit = next((u for u in state_path if u.code == actor.unit_code), None)
    if unit is None:
        path = " → ".join(u.code for u in state_path)
        raise _err(
            "case.authority.outside_grid",
            f"grid unit {actor.unit_code} is not on this case's grid path ({path})",
            "actor.unit_code",
        )
    if actor.unit_level is not None and actor.unit_level is not unit.level:
        raise _err(
            "case.authority.unit_level_mismatch",
            f"grid unit {unit.code} is {unit.level.value}, not {actor.unit_level.value}",
            "actor.unit_level",
        )
    return unit


def _require_supervising_or_above(
    state: CaseState, actor: Actor, policy: Policy, what: str
) -> None:
    """The supervising unit (督办单位) or a unit above it on the grid path acts."""
    if not _edition_2(policy):
        return
    unit = _acting_unit(state.grid_path, actor)
    if unit.level.is_above(state.supervising_level) or unit.code == state.supervising_unit_code:
        return
    raise _err(
        "case.authority.below_supervising_unit",
        f"{what} is for the supervising unit {state.supervising_unit_code} "
        f"({state.supervising_level.value}) or above; {unit.code} is {unit.level.value}",
        "actor.unit_code",
    )


def _require_listing_rank(
    path: Sequence[GridUnit], actor: Actor, level: ListingLevel, policy: Policy
) -> None:
    """A listing at a level is made by a unit at that level or above (edition 2)."""
    if not _edition_2(policy):
        return
    unit = _acting_unit(path, actor)
    if unit.level.rank > level.grid_level.rank:
        raise _err(
            "case.list.level_above_actor",
            f"a {level.value} listing is made at the {level.value} level or above; "
            f"{unit.code} is {unit.level.value}",
            "level",
        )


def _require_listing_measures(
    measures: ListingMeasures | None, policy: Policy
) -> ListingMeasures | None:
    if _edition_2(policy) and measures is None:
        raise _err(
            "case.list.five_implementations_required",
            "挂牌督办 states its 五落实: responsibility, measures, funds, time limit and "
            "emergency plan",
            "listing_measures",
        )
    return measures


# ---------------------------------------------------------------------------------------------
# decide


def decide(
    state: CaseState | None,
    command: CaseCommand,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    """The events that ``command`` causes at ``now``, or a DomainError naming the broken rule.

    Edition 2: a person's command is refused while a timer of the state is due and not yet
    fired (``case.timer.due_first``) — a report a second after the deadline must meet the
    escalated case, never the one the clock has left behind. Fire the due timers first (the
    workflow does; ``catch_up`` computes them for a validator).
    """
    now = utc_instant(now, "now")
    if command.actor.role is Role.AUDITOR:
        raise _err("case.auditor.read_only", "an auditor reads and changes nothing", "actor.role")
    if state is None:
        if not isinstance(command, RegisterHazard):
            raise _err("case.not_registered", "no case exists yet: register the hazard first")
        return _register(command, now, policy, calendar)
    if isinstance(command, RegisterHazard):
        raise _err("case.register.already_registered", f"case {state.hazard_id} already exists")
    if not state.is_open:
        raise _err(
            "case.closed.no_commands",
            f"case {state.hazard_id} is {state.status.value}; it accepts no command",
        )
    if state.notice_pending is not None and not _goes_on_without_notice(state, command):
        # Every other step needs the notice's deadline or its listing: it waits with it.
        raise CalendarDataMissing(state.notice_pending.missing_year)
    if _edition_2(policy) and not isinstance(command, FireTimer):
        due = due_timers(state, now, policy, calendar)
        if due:
            raise _err(
                "case.timer.due_first",
                f"timer {due[0].key} fell due at {due[0].due_at.isoformat()}; it is decided "
                "before any command",
                "now",
            )
    match command:
        case SubmitGovernancePlan():
            return _submit_plan(state, command, now)
        case ReportRectification():
            return _report(state, command, now, policy, calendar)
        case VerifyRectification():
            return _verify(state, command, now, policy, calendar)
        case RequestExtension():
            return _request_extension(state, command, now, policy, calendar)
        case DecideExtension():
            return _decide_extension(state, command, now, policy, calendar)
        case ListHazard():
            return _list(state, command, now, policy, calendar)
        case RecordRefusal():
            return _refuse(state, command, now, policy)
        case WithdrawCase():
            return _withdraw(state, command, now, policy, calendar)
        case FireTimer():
            return _fire(state, command, now, policy, calendar)
    raise _err("case.command.unknown", f"unknown command {type(command).__name__}")


def _goes_on_without_notice(state: CaseState, command: CaseCommand) -> bool:
    """What a case whose notice waits for calendar data still takes: the enterprise's plan and
    rectification report (nothing a person reports is refused for the administrator's delay),
    the system's timers, and — when no listing waits, so that the supervising unit is what it
    will be — a supervisor's verification (a pass closes the case; a failure, which sets a
    deadline, waits), withdrawal or record of a refusal. A listing that waits names the
    authority of these acts: they wait with it."""
    if isinstance(command, FireTimer | SubmitGovernancePlan | ReportRectification):
        return True
    pending = state.notice_pending
    unlisted = pending is not None and pending.listing_level is None
    return unlisted and isinstance(command, WithdrawCase | RecordRefusal | VerifyRectification)


def _validate_path(cmd: RegisterHazard, policy: Policy, listing_level: ListingLevel | None) -> None:
    path = cmd.grid_path
    if not path:
        raise _err(
            "case.register.grid_path_required",
            "the enterprise's grid path is required",
            "grid_path",
        )
    if path[0].code != cmd.enterprise.grid_code or path[0].level is not GridLevel.VILLAGE:
        raise _err(
            "case.register.grid_path_starts_at_enterprise_unit",
            "the grid path starts at the enterprise's own village-level unit (定格)",
            "grid_path",
        )
    for child, parent in itertools.pairwise(path):
        if child.parent_code != parent.code or not parent.level.is_above(child.level):
            raise _err(
                "case.register.grid_path_chain",
                f"{parent.code} is not the parent of {child.code}",
                "grid_path",
            )
    levels = {u.level for u in path}
    needed = {r.grid_level for r in policy.escalation.ladder} | {
        policy.escalation.enforcement_grid_level
    }
    if listing_level is not None:
        needed.add(listing_level.grid_level)
    missing = sorted((lv for lv in needed if lv not in levels), key=lambda lv: lv.rank)
    if missing:
        raise _err(
            "case.register.grid_path_missing_level",
            f"the grid path has no unit at {', '.join(lv.value for lv in missing)}, "
            "which the policy escalates or lists to",
            "grid_path",
        )


def _check_notice_contents(cmd: RegisterHazard, policy: Policy) -> None:
    """整改通知书 states the measures and the enterprise's responsible person (policy.notice)."""
    rules = policy.notice
    if rules is None or cmd.mode is RectificationMode.IMMEDIATE:
        return
    if rules.require_measures:
        _require_text(
            cmd.measures,
            "case.notice.measures_required",
            "measures",
            "the rectification measures (整改措施) of the notice",
        )
    if rules.require_responsible_person:
        _require_text(
            cmd.responsible_person,
            "case.notice.responsible_person_required",
            "responsible_person",
            "the enterprise's person responsible for the rectification (整改责任人)",
        )


def _register(
    cmd: RegisterHazard,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    *,
    strict: bool = False,
) -> list[CaseEvent]:
    """登记隐患. A registration is never refused for calendar data: when its notice needs a
    year the calendar lacks, the hazard is recorded with the notice waiting for that year
    (NoticeAwaitingCalendar). ``strict``: the rules before that, which raised instead."""
    actor = cmd.actor
    if cmd.source is HazardSource.SELF_INSPECTION:
        _require_role(
            actor,
            (Role.INSPECTOR, Role.SUPERVISOR, Role.ENTERPRISE),
            "case.register.role",
            "register a hazard",
        )
    else:
        _require_role(
            actor, (Role.INSPECTOR, Role.SUPERVISOR), "case.register.role", "register a hazard"
        )
    _require_text(cmd.hazard_id, "case.register.hazard_id_required", "hazard_id", "a hazard id")
    validate_hazard_id(cmd.hazard_id)
    _require_text(
        cmd.description, "case.register.description_required", "description", "a description"
    )
    _require_text(cmd.location, "case.register.location_required", "location", "a location")
    found_at = utc_instant(cmd.found_at, "found_at")
    if found_at > now:
        raise _err(
            "case.register.found_at_not_future",
            "found_at must be an aware instant not after now",
            "found_at",
        )
    major = cmd.hazard_class is HazardClass.MAJOR
    if major and not (cmd.checklist_clause or "").strip():
        raise _err(
            "case.register.major_requires_clause",
            "a 重大事故隐患 cites the clause of the checklist (判定标准) that makes it major",
            "checklist_clause",
        )
    if cmd.mode is RectificationMode.IMMEDIATE and major:
        raise _err("case.register.major_not_immediate", "a major hazard cannot be 立改立销", "mode")
    listing_level = cmd.listing_level
    listed_by_person = False
    if major:
        auto = policy.listing.major_level
        listed_by_person = listing_level is not None and listing_level.rank > auto.rank
        listing_level = (
            auto if listing_level is None or listing_level.rank < auto.rank else listing_level
        )
    elif cmd.mode is RectificationMode.LISTED:
        if listing_level is None:
            raise _err(
                "case.register.listing_level_required",
                "a listed hazard needs a listing level",
                "listing_level",
            )
        _require_role(
            actor, (Role.SUPERVISOR,), "case.list.supervisor_only", "list a hazard (挂牌督办)"
        )
        listed_by_person = True
    elif listing_level is not None:
        raise _err(
            "case.register.listing_level_needs_listed_mode",
            "use mode listed to list a general hazard",
            "listing_level",
        )
    if cmd.mode is RectificationMode.IMMEDIATE:
        listing_level = None
    _validate_path(cmd, policy, listing_level)
    if _edition_2(policy):
        if actor.role is Role.SUPERVISOR or actor.unit_code is not None:
            _acting_unit(cmd.grid_path, actor)
        if listed_by_person and listing_level is not None:
            _require_role(
                actor, (Role.SUPERVISOR,), "case.list.supervisor_only", "list a hazard (挂牌督办)"
            )
            _require_listing_rank(cmd.grid_path, actor, listing_level, policy)
            _require_listing_measures(cmd.listing_measures, policy)
    _check_notice_contents(cmd, policy)
    registered = HazardRegistered(
        hazard_id=cmd.hazard_id,
        credit_code=cmd.enterprise.credit_code,
        enterprise_name=cmd.enterprise.name,
        industry=cmd.enterprise.industry,
        grid_path=cmd.grid_path,
        hazard_class=cmd.hazard_class,
        checklist_clause=cmd.checklist_clause,
        category=cmd.category,
        source=cmd.source,
        description=cmd.description,
        location=cmd.location,
        found_by=cmd.found_by,
        found_at=found_at,
        evidence=cmd.evidence,
        mode=cmd.mode,
        registered_by=actor.id,
        policy_name=policy.name,
        policy_version=policy.version,
        policy_fingerprint=policy.fingerprint,
        time_zone=policy.time_zone,
        at=now,
    )
    if cmd.mode is RectificationMode.IMMEDIATE:
        return [registered, CaseClosed(basis=CloseBasis.IMMEDIATE, at=now)]
    notice = NoticeAwaitingCalendar(
        missing_year=0,
        measures=cmd.measures,
        responsible_person=cmd.responsible_person,
        deadline=_future(cmd.deadline, now, "deadline") if cmd.deadline is not None else None,
        listing_level=listing_level,
        listing_measures=cmd.listing_measures,
        issued_by=actor.id,
        at=now,
    )
    try:
        # Counted exactly as before (a registration that needed no missing year records what
        # it always recorded): the listing maximum is computed even where it cannot bind.
        return [registered, *_notice(cmd.hazard_id, cmd.grid_path, notice, now, policy, calendar)]
    except CalendarDataMissing:
        if strict:
            raise
    try:
        return [
            registered,
            *_notice(cmd.hazard_id, cmd.grid_path, notice, now, policy, calendar, bounded=True),
        ]
    except CalendarDataMissing as missing:
        # A hazard found is a fact: it is recorded now; its notice waits for the year.
        return [registered, replace(notice, missing_year=missing.year)]


NOTICE_KEY = "notice:1"  # FireTimer key that issues a notice awaiting calendar data


def _notice(
    hazard_id: str,
    path: Sequence[GridUnit],
    notice: NoticeAwaitingCalendar,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    *,
    bounded: bool = False,
    registering: bool = True,
) -> list[CaseEvent]:
    """The registration's rectification notice, and the listing it makes, issued at ``now``.

    ``bounded``: the listing maximum is computed only where it can bind (a deadline past its
    earliest possible end), so that a year it alone needs is not needed. ``registering``
    False (a notice issued after waiting): a deadline the person set beyond the maximum is
    brought within it, since nobody is there to be refused.
    """
    tz = policy.tz
    events: list[CaseEvent] = []
    deadline = notice.deadline
    level = notice.listing_level
    if level is not None:
        authority = next(u for u in path if u.level is level.grid_level)
        maximum = policy.listing.max_duration
        if deadline is not None:
            if not bounded or deadline > _period_at_least(maximum, now, policy):
                if registering:
                    _check_listing_max(deadline, now, policy, calendar, "deadline")
                else:
                    deadline = min(deadline, _listing_limit(now, policy, calendar))
        else:
            deadline = _period(policy.deadlines.listed.for_level(level), now, policy, calendar)
            if not bounded or deadline > _period_at_least(maximum, now, policy):
                deadline = min(deadline, _listing_limit(now, policy, calendar))
        listed = HazardListed(
            listing_no=_listing_no(hazard_id, level, authority, now, tz),
            level=level,
            authority_unit_code=authority.code,
            authority_name=authority.name,
            authority_person=authority.responsible_person,
            measures=notice.measures,
            deadline=None,
            deadline_no=None,
            supersedes=None,
            publish_by=policy.listing.publish_within.add_to(now, calendar, tz),
            listed_by=notice.issued_by,
            at=now,
            listing_measures=notice.listing_measures,
        )
        events += _with_publication(listed, policy)
    elif deadline is None:
        deadline = _period(policy.deadlines.general, now, policy, calendar)
    events.append(
        RectificationNoticeIssued(
            notice_no=f"ZG-{now.astimezone(tz).year}-{_short_hash(hazard_id, 'notice')}",
            deadline=deadline,
            deadline_no=1,
            measures=notice.measures,
            responsible_person=notice.responsible_person,
            issued_by=notice.issued_by,
            at=now,
        )
    )
    return events


def _period_at_least(duration: PolicyDuration, start: datetime, policy: Policy) -> datetime:
    """The earliest ``_period(duration, start, …)`` can end, with no calendar: a legal period
    ends no earlier than 24:00 of its last day (a day off only moves it later), and n working
    days take at least n days."""
    tz = policy.tz
    if duration.is_working_days:
        first_day = start.astimezone(tz).date()
        return end_of_day(first_day + timedelta(days=duration.working_days), tz)
    exact = duration.add_to(start, WorkingCalendar(), tz)  # calendar days: no calendar needed
    if duration.seconds or not _edition_2(policy):
        return exact
    return end_of_day(exact.astimezone(tz).date(), tz)


def _issue_waiting_notice(
    state: CaseState, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    """The notice that waited for calendar data, issued now that the year can be counted: its
    period counts from now (the enterprise is never held to a deadline it could not be told),
    and it records the year it waited for and that year's working days' digest."""
    notice = state.notice_pending
    assert notice is not None
    events = _notice(
        state.hazard_id,
        state.grid_path,
        notice,
        now,
        policy,
        calendar,
        bounded=True,
        registering=False,
    )
    issued = events[-1]
    assert isinstance(issued, RectificationNoticeIssued)
    events[-1] = replace(
        issued,
        awaited_year=notice.missing_year,
        calendar_digest=calendar.year_digest(notice.missing_year),
    )
    return events


def registration_needed_missing_year(
    command: RegisterHazard, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> int | None:
    """The year whose missing holiday data made the rules before NoticeAwaitingCalendar refuse
    this registration (they counted every deadline at once), or None. The workflow keeps
    cases recorded under that code on their path (``workflow.patched``)."""
    try:
        _register(command, utc_instant(now, "now"), policy, calendar, strict=True)
    except CalendarDataMissing as missing:
        return missing.year
    except DomainError:
        return None
    return None


def _with_publication(event: HazardListed | HazardDelisted, policy: Policy) -> list[CaseEvent]:
    """A listing or de-listing and, from edition 2, its publication on duban's public register
    of listed hazards (挂牌/摘牌公告), which is immediate and so within ``publish_by``."""
    if not _edition_2(policy):
        return [event]
    kind = PublicationKind.LISTING if isinstance(event, HazardListed) else PublicationKind.DELISTING
    return [
        event,
        ListingPublished(
            listing_no=event.listing_no,
            kind=kind,
            level=event.level,
            authority_unit_code=event.authority_unit_code,
            publish_by=event.publish_by,
            at=event.at,
        ),
    ]


def _submit_plan(state: CaseState, cmd: SubmitGovernancePlan, now: datetime) -> list[CaseEvent]:
    _require_role(cmd.actor, (Role.ENTERPRISE,), "case.plan.enterprise_only", "submit a 治理方案")
    if state.hazard_class is not HazardClass.MAJOR:
        raise _err("case.plan.major_only", "a 治理方案 is required for major hazards only", "plan")
    if state.reported_at is not None:
        raise _err("case.plan.report_pending", "the rectification is already reported", "plan")
    return [GovernancePlanSubmitted(plan=cmd.plan, submitted_by=cmd.actor.id, at=now)]


def _report(
    state: CaseState,
    cmd: ReportRectification,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    _require_role(
        cmd.actor, (Role.ENTERPRISE,), "case.report.enterprise_only", "report a rectification"
    )
    if state.reported_at is not None:
        raise _err("case.report.already_reported", "a report is already awaiting verification")
    if state.hazard_class is HazardClass.MAJOR and not state.plan_submitted:
        raise _err(
            "case.report.requires_governance_plan",
            "a major hazard's 治理方案 must be submitted before reporting the rectification",
            "plan",
        )
    _require_text(cmd.summary, "case.report.summary_required", "summary", "a summary")
    if not cmd.evidence:
        raise _err(
            "case.report.evidence_required",
            "a report carries evidence of the rectification",
            "evidence",
        )
    review_by = policy.verification.review_within.add_to(now, calendar, policy.tz)
    return [
        RectificationReported(
            summary=cmd.summary,
            evidence=cmd.evidence,
            reported_by=cmd.actor.id,
            review_by=review_by,
            at=now,
        )
    ]


def _require_verifier(state: CaseState, cmd: VerifyRectification, policy: Policy) -> None:
    """验收 by the listing authority of a listed hazard, otherwise by the supervising unit or a
    unit above it (edition 2). Edition 1 checked the listing authority only when the actor
    named a unit."""
    if not _edition_2(policy):
        if (
            cmd.passed
            and state.listing is not None
            and cmd.actor.unit_code is not None
            and cmd.actor.unit_code != state.listing.authority_unit_code
        ):
            raise _err(
                "case.delist.listing_authority_only",
                f"摘牌 is done by the listing authority {state.listing.authority_unit_code}",
                "actor.unit_code",
            )
        return
    if state.listing is None:
        _require_supervising_or_above(state, cmd.actor, policy, "验收")
        return
    unit = _acting_unit(state.grid_path, cmd.actor)
    if unit.code != state.listing.authority_unit_code:
        rule = (
            "case.delist.listing_authority_only"
            if cmd.passed
            else "case.verify.listing_authority_only"
        )
        raise _err(
            rule,
            f"a listed hazard is verified and 摘牌 by its listing authority "
            f"{state.listing.authority_unit_code}",
            "actor.unit_code",
        )


def _verify(
    state: CaseState,
    cmd: VerifyRectification,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    _require_role(cmd.actor, (Role.SUPERVISOR,), "case.verify.supervisor_only", "verify (验收)")
    if state.reported_at is None:
        raise _err(
            "case.verify.requires_report", "there is no rectification report to verify (验收)"
        )
    _require_verifier(state, cmd, policy)
    if not cmd.passed:
        return _verification_failed(state, cmd, now, policy, calendar)
    events: list[CaseEvent] = [
        VerificationPassed(verified_by=cmd.actor.id, comments=cmd.comments, at=now)
    ]
    if state.listing is not None:
        events += _with_publication(
            _delisted(state, DelistBasis.VERIFIED, cmd.actor, now, policy, calendar), policy
        )
    events.append(CaseClosed(basis=CloseBasis.VERIFIED, at=now))
    return events


def _verification_failed(
    state: CaseState,
    cmd: VerifyRectification,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    """验收不合格. Edition 2: a failure at or after the deadline that the report stopped counts
    as that deadline missed — the case takes the ladder's next rung exactly as the deadline
    timer would have — so that report-then-fail cycles cannot hold escalation off for ever.
    Before that deadline the case goes back to rectification with a new deadline (the
    supervisor's, or the rework period), within the listing maximum."""
    if state.notice_pending is not None:
        # The case's first deadline is still to be issued: a rework deadline now would compete
        # with it. The failure waits with the notice (a pass closes the case as always).
        raise CalendarDataMissing(state.notice_pending.missing_year)
    missed = state.deadline if _edition_2(policy) and state.deadline_running else None
    if missed is not None and now >= missed:
        if cmd.new_deadline is not None:
            raise _err(
                "case.verify.late_failure_follows_ladder",
                f"the deadline {missed.isoformat()} passed while the report awaited "
                "验收: the failure counts as that deadline missed and the escalation ladder "
                "sets the next deadline; leave new_deadline empty",
                "new_deadline",
            )
        failed = VerificationFailed(
            verified_by=cmd.actor.id,
            comments=cmd.comments,
            deadline=missed,
            deadline_no=state.deadline_no,
            at=now,
            counts_as_missed=True,
        )
        timer = Timer(f"deadline:{state.deadline_no}", "deadline", missed)
        return [
            failed,
            *_deadline_missed(evolve(state, failed), timer, cmd.actor, now, policy, calendar),
        ]
    if cmd.new_deadline is not None:
        deadline = _future(cmd.new_deadline, now, "new_deadline")
        start = _limit_start(state, policy)
        if start is not None:
            _check_listing_max(deadline, start, policy, calendar, "new_deadline")
    else:
        rework = _period(policy.verification.rework, now, policy, calendar)
        deadline = _capped(rework, state, now, policy, calendar)
    return [
        VerificationFailed(
            verified_by=cmd.actor.id,
            comments=cmd.comments,
            deadline=deadline,
            deadline_no=state.deadline_no + 1,
            at=now,
        )
    ]


def _delisted(
    state: CaseState,
    basis: DelistBasis,
    actor: Actor,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> HazardDelisted:
    assert state.listing is not None
    return HazardDelisted(
        listing_no=state.listing.listing_no,
        level=state.listing.level,
        authority_unit_code=state.listing.authority_unit_code,
        basis=basis,
        publish_by=policy.listing.publish_within.add_to(now, calendar, policy.tz),
        delisted_by=actor.id,
        at=now,
    )


def _request_extension(
    state: CaseState,
    cmd: RequestExtension,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    """延期申请. Edition 2: the cut-off and the decision time depend on the case — listed
    supervision keeps the Qingdao limits, other cases use ``extension.unlisted`` — and a
    working-day cut-off leaves exactly that many working days before the deadline's day."""
    _require_role(
        cmd.actor,
        (Role.ENTERPRISE,),
        "case.extension.enterprise_only",
        "request an extension (延期)",
    )
    if state.reported_at is not None:
        raise _err(
            "case.extension.report_pending", "the rectification is reported; no deadline runs"
        )
    if state.pending_extension is not None:
        raise _err("case.extension.already_pending", "an extension request is already pending")
    if state.extensions_granted >= policy.extension.max_extensions:
        raise _err(
            "case.extension.limit_reached",
            f"at most {policy.extension.max_extensions} extension(s) per case",
        )
    if state.deadline is None:
        raise _err("case.extension.no_deadline", "the case has no deadline to extend")
    edition_2 = _edition_2(policy)
    limits = policy.extension.limits(listed=state.listing is not None or not edition_2)
    latest = limits.request_before.subtract_from(
        state.deadline, calendar, policy.tz, closing_day_must_work=edition_2
    )
    if now >= latest:
        which = "" if not edition_2 else (" (listed)" if state.listing else " (not listed)")
        raise _err(
            "case.extension.too_late",
            f"延期 must be requested at least {limits.request_before} before the "
            f"deadline{which}, i.e. before {latest.isoformat()}",
            "requested_deadline",
        )
    requested = _future(cmd.requested_deadline, now, "requested_deadline")
    if requested <= state.deadline:
        raise _err(
            "case.extension.not_later",
            "the requested deadline must be later than the current one",
            "requested_deadline",
        )
    start = _limit_start(state, policy)
    if start is not None:
        _check_listing_max(requested, start, policy, calendar, "requested_deadline")
    _require_text(cmd.reasons, "case.extension.reasons_required", "reasons", "reasons")
    _require_text(
        cmd.interim_safeguards,
        "case.extension.safeguards_required",
        "interim_safeguards",
        "interim safeguards",
    )
    return [
        ExtensionRequested(
            requested_by=cmd.actor.id,
            requested_deadline=requested,
            reasons=cmd.reasons,
            interim_safeguards=cmd.interim_safeguards,
            decide_by=limits.decide_within.add_to(now, calendar, policy.tz),
            at=now,
        )
    ]


def _decide_extension(
    state: CaseState, cmd: DecideExtension, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    """延期审批, also after ``decide_by`` (the authority being late costs the enterprise
    nothing). Edition 2: a rejection after the deadline has passed counts as the deadline
    missed at that moment, exactly as the deadline timer would have."""
    _require_role(
        cmd.actor, (Role.SUPERVISOR,), "case.extension.supervisor_decides", "decide an extension"
    )
    pending = state.pending_extension
    if pending is None:
        raise _err("case.extension.none_pending", "no extension request is pending")
    _require_supervising_or_above(state, cmd.actor, policy, "延期审批")
    if not cmd.approve:
        _require_text(
            cmd.reason,
            "case.extension.rejection_reason_required",
            "reason",
            "a reason for rejecting",
        )
        rejected = ExtensionRejected(decided_by=cmd.actor.id, reason=cmd.reason, at=now)
        if _edition_2(policy) and state.deadline is not None and now >= state.deadline:
            timer = Timer(f"deadline:{state.deadline_no}", "deadline", state.deadline)
            after = evolve(state, rejected)
            return [rejected, *_deadline_missed(after, timer, cmd.actor, now, policy, calendar)]
        return [rejected]
    deadline = _future(cmd.new_deadline or pending.requested_deadline, now, "new_deadline")
    if state.deadline is not None and deadline <= state.deadline:
        raise _err(
            "case.extension.not_later",
            "an approved extension moves the deadline later",
            "new_deadline",
        )
    start = _limit_start(state, policy)
    if start is not None:
        _check_listing_max(deadline, start, policy, calendar, "new_deadline")
    return [
        ExtensionApproved(
            decided_by=cmd.actor.id,
            reason=cmd.reason,
            deadline=deadline,
            deadline_no=state.deadline_no + 1,
            at=now,
        )
    ]


def _list(
    state: CaseState, cmd: ListHazard, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    _require_role(
        cmd.actor, (Role.SUPERVISOR,), "case.list.supervisor_only", "list a hazard (挂牌督办)"
    )
    if state.listing is not None and cmd.level.rank <= state.listing.level.rank:
        raise _err(
            "case.list.level_not_higher",
            f"already listed at {state.listing.level.value}; a new listing must be higher",
            "level",
        )
    unit = state.unit_at(cmd.level.grid_level)
    if unit is None:
        raise _err(
            "case.list.no_unit_at_level", f"the grid path has no {cmd.level.value} unit", "level"
        )
    _require_listing_rank(state.grid_path, cmd.actor, cmd.level, policy)
    measures = _require_listing_measures(cmd.listing_measures, policy)
    # Edition 1 counted the maximum from this listing; edition 2 from the first one.
    start = (_limit_start(state, policy) if _edition_2(policy) else None) or now
    deadline: datetime | None = None
    if cmd.deadline is not None:
        deadline = _future(cmd.deadline, now, "deadline")
        _check_listing_max(deadline, start, policy, calendar, "deadline")
    elif _edition_2(policy) and state.deadline is not None:
        limit = _listing_limit(start, policy, calendar)
        if state.deadline > limit and limit > now:
            deadline = limit  # a deadline set before the listing is brought within its maximum
    return _with_publication(
        _listed(
            state,
            cmd.level,
            unit,
            cmd.measures,
            deadline,
            cmd.actor,
            now,
            policy,
            calendar,
            measures,
        ),
        policy,
    )


def _listed(
    state: CaseState,
    level: ListingLevel,
    unit: GridUnit,
    measures: str,
    deadline: datetime | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    listing_measures: ListingMeasures | None = None,
) -> HazardListed:
    return HazardListed(
        listing_no=_listing_no(state.hazard_id, level, unit, now, policy.tz),
        level=level,
        authority_unit_code=unit.code,
        authority_name=unit.name,
        authority_person=unit.responsible_person,
        measures=measures,
        deadline=deadline,
        deadline_no=state.deadline_no + 1 if deadline is not None else None,
        supersedes=state.listing.listing_no if state.listing else None,
        publish_by=policy.listing.publish_within.add_to(now, calendar, policy.tz),
        listed_by=actor.id,
        at=now,
        listing_measures=listing_measures,
    )


def _referral(
    state: CaseState,
    ground: ReferralGround,
    kind: CreditEventKind,
    actor: Actor,
    now: datetime,
    policy: Policy,
) -> list[CaseEvent]:
    """移送执法 and what it counts on the credit record.

    Edition 2: a case is referred once (a second refusal or a later overdue at the top is
    recorded, not referred again); every referral counts as ``enforcement_referral``, whatever
    its ground, and the ground's own kind (refusal, overdue at the top) counts once per case.
    """
    unit = state.unit_at(policy.escalation.enforcement_grid_level) or state.grid_path[-1]
    referred = EnforcementReferred(
        ground=ground,
        authority_unit_code=unit.code,
        authority_person=unit.responsible_person,
        referred_by=actor.id,
        at=now,
    )

    def trigger(k: CreditEventKind) -> CreditTriggerRaised:
        return CreditTriggerRaised(
            credit_code=state.credit_code, kind=k, hazard_class=state.hazard_class, at=now
        )

    if not _edition_2(policy):
        return [referred, trigger(kind)]
    events: list[CaseEvent] = []
    if not state.referred:
        events.append(referred)
    if kind is not CreditEventKind.ENFORCEMENT_REFERRAL and kind not in state.raised_credit_kinds:
        events.append(trigger(kind))
    if not state.referred:
        events.append(trigger(CreditEventKind.ENFORCEMENT_REFERRAL))
    return events


def _refuse(state: CaseState, cmd: RecordRefusal, now: datetime, policy: Policy) -> list[CaseEvent]:
    _require_role(
        cmd.actor, (Role.SUPERVISOR,), "case.refusal.supervisor_only", "record a refusal (拒不整改)"
    )
    _require_supervising_or_above(state, cmd.actor, policy, "拒不整改的认定")
    _require_text(cmd.details, "case.refusal.details_required", "details", "details of the refusal")
    return [
        RefusalRecorded(recorded_by=cmd.actor.id, details=cmd.details, at=now),
        *_referral(state, ReferralGround.REFUSAL, CreditEventKind.REFUSAL, cmd.actor, now, policy),
    ]


def _withdraw(
    state: CaseState, cmd: WithdrawCase, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    """撤销督办 by a supervisor. Edition 2: whose unit is on the case's grid path. Edition 3:
    the supervising unit or a unit above it. A listing moves the supervision up to its
    authority (and escalation only ever moves it further up), so this also keeps a unit below
    a listing authority from taking down that authority's listing."""
    _require_role(cmd.actor, (Role.SUPERVISOR,), "case.withdraw.supervisor_only", "withdraw a case")
    if _edition_3(policy):
        _require_supervising_or_above(state, cmd.actor, policy, "撤销督办")
    elif _edition_2(policy):
        _acting_unit(state.grid_path, cmd.actor)
    _require_text(cmd.reason, "case.withdraw.reason_required", "reason", "a reason")
    events: list[CaseEvent] = []
    if state.listing is not None:
        events += _with_publication(
            _delisted(state, DelistBasis.WITHDRAWN, cmd.actor, now, policy, calendar), policy
        )
    events.append(CaseWithdrawn(withdrawn_by=cmd.actor.id, reason=cmd.reason, at=now))
    return events


def _fire(
    state: CaseState, cmd: FireTimer, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    _require_role(cmd.actor, (Role.SYSTEM,), "case.timer.system_only", "fire a timer")
    if cmd.key == NOTICE_KEY and state.notice_pending is not None:
        return _issue_waiting_notice(state, now, policy, calendar)
    timer = next(
        (t for t in pending_timers(state, policy, calendar, now) if t.key == cmd.key), None
    )
    if timer is None:
        if cmd.key in state.fired_timers:
            raise _err("case.timer.already_fired", f"timer {cmd.key} has already fired", "key")
        raise _err(
            "case.timer.not_pending",
            f"timer {cmd.key} is not pending (a reminder is not sent once its deadline passed)",
            "key",
        )
    if now < timer.due_at:
        raise _err(
            "case.timer.not_due", f"timer {cmd.key} is due at {timer.due_at.isoformat()}", "key"
        )
    if timer.kind == "reminder":
        assert state.deadline is not None
        return [
            ReminderDue(
                timer_key=timer.key, deadline=state.deadline, before=timer.key.split(":")[2], at=now
            )
        ]
    if timer.kind == "reminder_lapsed":
        assert state.deadline is not None
        return [
            ReminderLapsed(
                timer_key=timer.key,
                deadline=state.deadline,
                before=timer.key.split(":")[2],
                due_at=timer.due_at,
                at=now,
            )
        ]
    if timer.kind == "review":
        return [VerificationOverdue(timer_key=timer.key, review_by=timer.due_at, at=now)]
    if timer.kind == "extension_decision":
        return [_decision_overdue(state, timer, now)]
    return _deadline_missed(state, timer, cmd.actor, now, policy, calendar)


def _decision_overdue(state: CaseState, timer: Timer, now: datetime) -> ExtensionDecisionOverdue:
    """延期审批超时: the first alert tells the deciding unit and the unit above it; the n-th
    (``decision:<k>:<n>``) tells the deciding unit and the unit n levels above it, or the top
    of the grid path once the path ends there (催办 up the grid, edition 2)."""
    pending = state.pending_extension
    assert pending is not None
    parts = timer.key.split(":")
    deciding = state.supervising_unit_code
    if len(parts) == 2:
        return ExtensionDecisionOverdue(
            timer_key=timer.key, decide_by=pending.decide_by, deciding_unit_code=deciding, at=now
        )
    alert_no = int(parts[2])
    codes = [u.code for u in state.grid_path]
    alerted = state.grid_path[min(codes.index(deciding) + alert_no, len(codes) - 1)]
    return ExtensionDecisionOverdue(
        timer_key=timer.key,
        decide_by=pending.decide_by,
        deciding_unit_code=deciding,
        at=now,
        alert_no=alert_no,
        alerted_unit_code=alerted.code,
    )


_STEP_TEXT = {
    Step.SUPERVISION_LETTER: "督办函",
    Step.PUBLIC_CRITICISM: "通报",
    Step.SUMMONS: "约谈",
    Step.LISTING_LEVEL_RAISE: "提级挂牌",
    Step.SUSPENSION_ORDER: "停产整顿",
    Step.ENFORCEMENT_REFERRAL: "移送执法",
}
_LEVEL_TEXT = {
    ListingLevel.COUNTY: "县级",
    ListingLevel.CITY: "市级",
    ListingLevel.PROVINCE: "省级",
}


def rung_measures(index: int, rung: Rung) -> str:
    """The measures a listing made by escalation states: the rung's steps (逐级督办)."""
    level = f"({_LEVEL_TEXT[rung.listing_level]})" if rung.listing_level else ""
    steps = [_STEP_TEXT[s] + (level if s is Step.LISTING_LEVEL_RAISE else "") for s in rung.steps]
    return f"逐级督办第{index}级: " + "、".join(steps)


def _overdue_kind(state: CaseState) -> CreditEventKind:
    return (
        CreditEventKind.MAJOR_OVERDUE_AT_TOP
        if state.hazard_class is HazardClass.MAJOR
        else CreditEventKind.OVERDUE_AT_TOP
    )


def _deadline_missed(
    state: CaseState,
    timer: Timer,
    actor: Actor,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    """逾期: move up to the next rung above the current supervising level, or refer at the top.

    Edition 2: the rung's deadline is a legal period within the listing maximum; when the
    listing's maximum has already ended, the case is referred (挂牌督办期满仍未整改) instead
    of taking a rung that could have no deadline.
    """
    events: list[CaseEvent] = [
        DeadlineMissed(
            timer_key=timer.key,
            deadline=timer.due_at,
            deadline_no=state.deadline_no,
            escalation_index=state.escalation_index,
            extension_lapsed=state.pending_extension is not None,
            at=now,
        )
    ]
    after_missed = evolve(state, events[0])
    ladder = policy.escalation.ladder
    nxt = next(
        (
            i
            for i in range(state.escalation_index, len(ladder))
            if ladder[i].grid_level.is_above(state.supervising_level)
        ),
        None,
    )
    if nxt is None:
        return events + _referral(
            after_missed, ReferralGround.OVERDUE_AT_TOP, _overdue_kind(state), actor, now, policy
        )
    rung = ladder[nxt]
    unit = state.unit_at(rung.grid_level)
    if unit is None:  # registration checked the path; a changed policy may still lack the level
        raise _err(
            "case.escalate.no_unit_at_level", f"the grid path has no {rung.grid_level.value} unit"
        )
    level = rung.listing_level
    lists_now = level is not None and (
        state.listing is None or level.rank > state.listing.level.rank
    )
    deadline = _period(rung.deadline, now, policy, calendar)
    if _edition_2(policy):
        start = _limit_start(state, policy) or (now if lists_now else None)
        if start is not None:
            limit = _listing_limit(start, policy, calendar)
            if limit <= now:
                return events + _referral(
                    after_missed,
                    ReferralGround.LISTING_PERIOD_ENDED,
                    _overdue_kind(state),
                    actor,
                    now,
                    policy,
                )
            deadline = min(deadline, limit)
    events.append(
        CaseEscalated(
            escalation_index=nxt + 1,
            grid_level=rung.grid_level,
            unit_code=unit.code,
            unit_name=unit.name,
            responsible_person=unit.responsible_person,
            steps=rung.steps,
            deadline=deadline,
            deadline_no=state.deadline_no + 1,
            at=now,
        )
    )
    events.append(
        CreditTriggerRaised(
            credit_code=state.credit_code,
            kind=CreditEventKind.ESCALATION,
            hazard_class=state.hazard_class,
            at=now,
        )
    )
    if level is not None and lists_now:
        listing_unit = state.unit_at(level.grid_level)
        if listing_unit is not None:
            text = rung_measures(nxt + 1, rung) if _edition_2(policy) else ""
            events += _with_publication(
                _listed(state, level, listing_unit, text, None, actor, now, policy, calendar),
                policy,
            )
    if Step.ENFORCEMENT_REFERRAL in rung.steps:
        events += _referral(
            after_missed,
            ReferralGround.LADDER_STEP,
            CreditEventKind.ENFORCEMENT_REFERRAL,
            actor,
            now,
            policy,
        )
    return events


# ---------------------------------------------------------------------------------------------
# notifications


def notifications_for(state_before: CaseState | None, event: CaseEvent) -> list[Notification]:
    """Who must be told about ``event`` (pure). ``step_key`` is unique per event and recipient."""
    if isinstance(event, HazardRegistered):
        hazard_id, seq, credit_code = event.hazard_id, 1, event.credit_code
        supervisor = event.grid_path[0].responsible_person
    elif state_before is None:
        return []
    else:
        hazard_id, seq, credit_code = (
            state_before.hazard_id,
            state_before.version + 1,
            state_before.credit_code,
        )
        supervisor = state_before.supervising_person
    recipients: list[tuple[str, str, str]] = []
    shared_keys: dict[tuple[str, str], str] = {}  # step keys not of this case alone
    enterprise = ("enterprise", credit_code)
    grid = ("grid_responsible", supervisor)
    listing = (
        ("listing_authority", state_before.listing.authority_person)
        if state_before is not None and state_before.listing is not None
        else None
    )
    match event:
        case HazardRegistered():
            recipients = [(*enterprise, "hazard_registered"), (*grid, "hazard_registered")]
        case RectificationNoticeIssued():
            recipients = [(*enterprise, "rectification_notice")]
        case HazardListed():
            recipients = [
                (*enterprise, "hazard_listed"),
                ("listing_authority", event.authority_person, "hazard_listed"),
                (*grid, "hazard_listed"),
            ]
        case GovernancePlanSubmitted() | RectificationReported() | ExtensionRequested():
            reason = {
                GovernancePlanSubmitted: "governance_plan_submitted",
                RectificationReported: "verification_requested",
                ExtensionRequested: "extension_requested",
            }[type(event)]
            recipients = [(*grid, reason)]
            if listing is not None:
                recipients.append((*listing, reason))
        case VerificationPassed() | VerificationFailed():
            recipients = [
                (
                    *enterprise,
                    "verification_passed"
                    if isinstance(event, VerificationPassed)
                    else "verification_failed",
                )
            ]
        case ExtensionApproved() | ExtensionRejected():
            recipients = [
                (
                    *enterprise,
                    "extension_approved"
                    if isinstance(event, ExtensionApproved)
                    else "extension_rejected",
                )
            ]
        case ExtensionDecisionOverdue():
            recipients = [(*grid, "extension_decision_overdue")]
            if state_before is not None:
                next_up = (
                    state_before.unit(event.alerted_unit_code)
                    if event.alerted_unit_code is not None
                    else state_before.unit_above(event.deciding_unit_code)
                )
                if next_up is not None:
                    recipients.append(
                        (
                            "grid_responsible",
                            next_up.responsible_person,
                            "extension_decision_overdue",
                        )
                    )
        case RefusalRecorded():
            recipients = [(*grid, "refusal_recorded")]
        case EnforcementReferred():
            recipients = [
                (
                    "enforcement",
                    event.authority_person,
                    f"enforcement_referral:{event.ground.value}",
                ),
                (*enterprise, "enforcement_referral"),
            ]
        case CaseWithdrawn():
            recipients = [(*enterprise, "case_withdrawn"), (*grid, "case_withdrawn")]
        case ReminderDue():
            recipients = [
                (*enterprise, f"deadline_reminder:{event.before}"),
                (*grid, f"deadline_reminder:{event.before}"),
            ]
        case DeadlineMissed():
            recipients = [(*enterprise, "deadline_missed"), (*grid, "deadline_missed")]
        case VerificationOverdue():
            recipients = [(*grid, "verification_overdue")]
            if state_before is not None:
                above = [
                    u
                    for u in state_before.grid_path
                    if u.level.is_above(state_before.supervising_level)
                ]
                if above:
                    recipients.append(
                        ("grid_responsible", above[0].responsible_person, "verification_overdue")
                    )
        case CaseEscalated():
            steps = ",".join(s.value for s in event.steps)
            recipients = [
                ("grid_responsible", event.responsible_person, f"case_escalated:{steps}"),
                (*enterprise, f"case_escalated:{steps}"),
                (*grid, "case_escalated_from_you"),
            ]
        case HazardDelisted():
            recipients = [(*enterprise, f"hazard_delisted:{event.basis.value}")]
            if listing is not None:
                recipients.append((*listing, f"hazard_delisted:{event.basis.value}"))
        case ListingPublished():
            recipients = [
                ("public_register", "listed_hazards", f"listing_published:{event.kind.value}")
            ]
        case NoticeAwaitingCalendar():
            # The administrator loads the year; the supervisors (and the listing authority
            # to be) and the enterprise learn why the notice is late and who must act.
            recipients = [
                ("admin", "administrators", f"calendar_year_missing:{event.missing_year}"),
                (*grid, "notice_awaiting_calendar"),
                (*enterprise, "notice_awaiting_calendar"),
            ]
            # The administrators are told once per missing year, not once per waiting case.
            admins = ("admin", "administrators")
            shared_keys[admins] = calendar_missing_step_key(event.missing_year)
            level = event.listing_level
            authority = state_before.unit_at(level.grid_level) if state_before and level else None
            if authority is not None:
                recipients.append(
                    ("listing_authority", authority.responsible_person, "notice_awaiting_calendar")
                )
        case CaseClosed():
            recipients = [(*enterprise, "case_closed"), (*grid, "case_closed")]
        case CreditTriggerRaised():
            recipients = []
    seen: set[tuple[str, str]] = set()
    result: list[Notification] = []
    for kind, rid, reason in recipients:
        if (kind, rid) in seen:
            continue
        seen.add((kind, rid))
        step_key = shared_keys.get(
            (kind, rid), f"{hazard_id}:{seq}:{event.EVENT_TYPE}:{kind}:{rid}"
        )
        result.append(Notification(kind, rid, reason, step_key))
    return result


def calendar_missing_step_key(year: int) -> str:
    """The step key of the administrators' notice that ``year``'s holidays are missing: one
    per year, queued by whichever comes first — a case whose notice waits for the year, or a
    process's calendar watch from the policy's warning day."""
    return f"calendar:{year}:missing:admin:administrators"


# ---------------------------------------------------------------------------------------------
# data


_EVENTS: dict[str, type[CaseEvent]] = {cls.EVENT_TYPE: cls for cls in EVENT_CLASSES}
_COMMANDS: dict[str, type[CaseCommand]] = {cls.COMMAND_TYPE: cls for cls in COMMAND_CLASSES}


def event_to_data(event: CaseEvent) -> dict[str, Any]:
    """JSON-safe fields of ``event`` (type and version: ``EVENT_TYPE``, ``SCHEMA_VERSION``)."""
    data: dict[str, Any] = to_data(event)
    return data


def event_from_data(event_type: str, schema_version: int, data: dict[str, Any]) -> CaseEvent:
    cls = _EVENTS.get(event_type)
    if cls is None:
        raise _err(
            "data.event_type_unknown", f"unknown case event type {event_type!r}", "event_type"
        )
    if schema_version != cls.SCHEMA_VERSION:
        raise _err(
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
        raise _err(
            "data.command_type_unknown", f"unknown case command {command_type!r}", "command_type"
        )
    if schema_version != cls.SCHEMA_VERSION:
        raise _err(
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


__all__ = [
    "HAZARD_ID_PATTERN",
    "HAZARD_ID_RULE",
    "NOTICE_KEY",
    "CaseState",
    "CaseStatus",
    "ListingRecord",
    "Notification",
    "PendingExtension",
    "Timer",
    "calendar_missing_step_key",
    "catch_up",
    "check_command_text",
    "command_from_data",
    "command_to_data",
    "days_overdue",
    "decide",
    "due_timers",
    "event_from_data",
    "event_to_data",
    "evolve",
    "fold",
    "in_time_zone",
    "notifications_for",
    "pending_timers",
    "registration_needed_missing_year",
    "rung_measures",
    "state_from_data",
    "state_to_data",
    "validate_hazard_id",
]
