"""An enterprise's safety-production credit record (安全生产信用记录).

Case events that count (escalation, refusal, referral, overdue at the top of the ladder) are
recorded here; the policy's triggers open a serious-dishonesty proceeding (严重失信主体名单,
Order 11): notice (告知) with an objection window (陈述申辩) → decision by a person → publication
→ automatic removal after the list period (3 years) → early removal (信用修复) possible after
12 months, revoked (and the listing restored with its original expiry) when obtained by false
statements. A configurable local rating (A–D) is recomputed on every change; whitelist
eligibility is a query.

Timer keys: ``objection:<proceeding_no>`` (window end), ``expiry:<proceeding_no>`` (removal).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

from domain._codec import OMIT_IF_DEFAULT, check_text, from_data, to_data
from domain.calendar import WorkingCalendar
from domain.case_commands import Actor, Role
from domain.credit_code import validate_credit_code
from domain.durations import utc_instant
from domain.errors import DomainError
from domain.policy import CreditEventKind, Policy

# --- events -----------------------------------------------------------------------------------


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
)

# --- commands ---------------------------------------------------------------------------------


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
class FireCreditTimer(CreditCommand):
    COMMAND_TYPE: ClassVar[str] = "FireCreditTimer"
    actor: Actor
    key: str


CREDIT_COMMAND_CLASSES: tuple[type[CreditCommand], ...] = (
    OpenCreditRecord,
    RecordCreditEvent,
    OpenProceeding,
    FileObjection,
    DecideListing,
    ApplyEarlyRemoval,
    DecideEarlyRemoval,
    RevokeEarlyRemoval,
    FireCreditTimer,
)

# --- state ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditEntry:
    case_id: str
    kind: CreditEventKind
    occurred_at: datetime


@dataclass(frozen=True)
class Proceeding:
    proceeding_no: str
    trigger: str
    objection_until: datetime | None = None
    objections: int = 0
    window_closed: bool = False


@dataclass(frozen=True)
class BlacklistEntry:
    proceeding_no: str
    published_at: datetime
    expires_at: datetime
    early_removal_from: datetime
    removal_applied: bool = False
    removed_early: bool = False


@dataclass(frozen=True)
class CreditState:
    credit_code: str
    enterprise_name: str
    opened_at: datetime
    entries: tuple[CreditEntry, ...] = ()
    proceeding: Proceeding | None = None
    proceedings: int = 0
    blacklist: BlacklistEntry | None = None
    last_listing_ended_at: datetime | None = None
    rating: str | None = None
    points: int | None = None
    fired_timers: tuple[str, ...] = ()
    version: int = 0

    @property
    def is_blacklisted(self) -> bool:
        return self.blacklist is not None and not self.blacklist.removed_early


@dataclass(frozen=True)
class CreditTimer:
    key: str
    kind: str  # "objection_window" | "expiry"
    due_at: datetime


def _err(rule: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(rule, message, field)


def evolve_credit(state: CreditState | None, event: CreditEvent) -> CreditState:
    if state is None:
        if not isinstance(event, CreditRecordOpened):
            raise _err("credit.evolve.not_opened", f"{event.EVENT_TYPE} before CreditRecordOpened")
        return CreditState(event.credit_code, event.enterprise_name, event.at, version=1)
    s = replace(state, version=state.version + 1)
    match event:
        case CreditRecordOpened():
            raise _err("credit.evolve.already_opened", "a credit record is opened once")
        case CreditEventRecorded():
            entry = CreditEntry(event.case_id, event.kind, event.occurred_at)
            return replace(s, entries=(*s.entries, entry))
        case ProceedingOpened():
            return replace(
                s,
                proceeding=Proceeding(event.proceeding_no, event.trigger),
                proceedings=s.proceedings + 1,
            )
        case ProceedingNoticeIssued():
            assert s.proceeding is not None
            return replace(
                s, proceeding=replace(s.proceeding, objection_until=event.objection_until)
            )
        case ObjectionFiled():
            assert s.proceeding is not None
            p = s.proceeding
            return replace(s, proceeding=replace(p, objections=p.objections + 1))
        case ObjectionWindowClosed():
            assert s.proceeding is not None
            return replace(
                s,
                proceeding=replace(s.proceeding, window_closed=True),
                fired_timers=(*s.fired_timers, event.timer_key),
            )
        case ListingDecided():
            return replace(s, proceeding=None)
        case BlacklistPublished():
            entry_b = BlacklistEntry(
                event.proceeding_no, event.at, event.expires_at, event.early_removal_from
            )
            return replace(s, blacklist=entry_b)
        case EarlyRemovalApplied():
            assert s.blacklist is not None
            return replace(s, blacklist=replace(s.blacklist, removal_applied=True))
        case EarlyRemovalApproved():
            assert s.blacklist is not None
            return replace(
                s,
                blacklist=replace(s.blacklist, removal_applied=False, removed_early=True),
                last_listing_ended_at=event.at,
            )
        case EarlyRemovalRejected():
            assert s.blacklist is not None
            return replace(s, blacklist=replace(s.blacklist, removal_applied=False))
        case EarlyRemovalRevoked():
            assert s.blacklist is not None
            restored = replace(s.blacklist, removed_early=False, expires_at=event.expires_at)
            return replace(s, blacklist=restored)
        case BlacklistExpired():
            return replace(
                s,
                blacklist=None,
                last_listing_ended_at=event.at,
                fired_timers=(*s.fired_timers, event.timer_key),
            )
        case RatingChanged():
            return replace(s, rating=event.new, points=event.points)
    raise _err("credit.evolve.unknown_event", f"unknown event {type(event).__name__}")


def fold_credit(
    events: list[CreditEvent] | tuple[CreditEvent, ...], state: CreditState | None = None
) -> CreditState | None:
    for event in events:
        state = evolve_credit(state, event)
    return state


def pending_credit_timers(state: CreditState | None, policy: Policy) -> list[CreditTimer]:
    if state is None:
        return []
    timers: list[CreditTimer] = []
    p = state.proceeding
    if p is not None and p.objection_until is not None and not p.window_closed:
        timers.append(
            CreditTimer(f"objection:{p.proceeding_no}", "objection_window", p.objection_until)
        )
    b = state.blacklist
    if b is not None and not b.removed_early:
        key = f"expiry:{b.proceeding_no}"
        if key not in state.fired_timers:
            timers.append(CreditTimer(key, "expiry", b.expires_at))
    return sorted(timers, key=lambda t: (t.due_at, t.key))


def rating_of(
    state: CreditState, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> tuple[str, int]:
    """(grade, points) under the policy's local scheme at ``now``."""
    scheme = policy.credit.rating
    since = scheme.window.subtract_from(now, calendar, policy.tz)
    deducted = sum(
        scheme.deductions.get(e.kind.value, 0) for e in state.entries if e.occurred_at > since
    )
    points = scheme.base_points - deducted
    if state.is_blacklisted:
        return scheme.blacklisted_grade, points
    return _grade(points, policy), points


def unrecorded_rating(policy: Policy) -> tuple[str, int]:
    """(grade, points) of an enterprise with no credit record: nothing recorded against it, so
    the local scheme's base points and their grade. Every enterprise has a grade."""
    points = policy.credit.rating.base_points
    return _grade(points, policy), points


def _grade(points: int, policy: Policy) -> str:
    grades = policy.credit.rating.grades
    return next((g.grade for g in grades if points >= g.min_points), grades[-1].grade)


def inspections_per_year(
    state: CreditState, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> int | None:
    """检查频次: routine inspections a year for the enterprise's grade at ``now`` (e.g. a D
    enterprise at least 4), or None when the policy's scheme gives no frequencies."""
    grade, _ = rating_of(state, now, policy, calendar)
    return next(
        (g.inspections_per_year for g in policy.credit.rating.grades if g.grade == grade), None
    )


def whitelist_eligible(
    state: CreditState | None, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> bool:
    """白名单: known for the clean period, nothing recorded or listed in it, a good grade."""
    if state is None or state.is_blacklisted or state.proceeding is not None:
        return False
    wl = policy.credit.whitelist
    since = wl.clean_period.subtract_from(now, calendar, policy.tz)
    if state.opened_at > since:
        return False
    if any(e.occurred_at > since for e in state.entries):
        return False
    if state.last_listing_ended_at is not None and state.last_listing_ended_at > since:
        return False
    return rating_of(state, now, policy, calendar)[0] in wl.grades


# --- decide -----------------------------------------------------------------------------------


def _require_role(actor: Actor, roles: tuple[Role, ...], rule: str, what: str) -> None:
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise _err(rule, f"only {allowed} may {what}", "actor.role")


def _text(value: str, rule: str, field: str) -> None:
    if not value.strip():
        raise _err(rule, f"{field} is required", field)


def _require_deciding_level(actor: Actor, policy: Policy, what: str) -> None:
    """``[credit] decided_by_level``: a proceeding is opened, a listing and an early removal
    decided and an early removal revoked by a supervisor at that grid level or above (Order
    11 makes the listing the department's decision). Without the key, any supervisor (as
    records kept under older policies were decided)."""
    level = policy.credit.decided_by_level
    if level is None:
        return
    if actor.unit_code is None or actor.unit_level is None:
        raise _err(
            "credit.authority.unit_required",
            f"{what} is decided at the {level.value} level or above: the command names the "
            "supervisor's grid unit and its level",
            "actor.unit_level",
        )
    if actor.unit_level.rank > level.rank:
        raise _err(
            "credit.authority.level_below",
            f"{what} is decided at the {level.value} level or above; {actor.unit_code} is "
            f"{actor.unit_level.value}",
            "actor.unit_level",
        )


def _trigger_for(
    state: CreditState,
    kind: CreditEventKind,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> str | None:
    t = policy.credit.triggers
    simple = {
        CreditEventKind.MAJOR_OVERDUE_AT_TOP: t.major_overdue_at_top,
        CreditEventKind.OVERDUE_AT_TOP: t.overdue_at_top,
        CreditEventKind.REFUSAL: t.refusal,
        CreditEventKind.ENFORCEMENT_REFERRAL: t.enforcement_referral,
    }
    if simple.get(kind, False):
        return kind.value
    if kind is CreditEventKind.ESCALATION and t.escalations_count > 0:
        since = t.escalations_within.subtract_from(now, calendar, policy.tz)
        recent = [
            e
            for e in state.entries
            if e.kind is CreditEventKind.ESCALATION and e.occurred_at > since
        ]
        if len(recent) >= t.escalations_count:
            return f"escalations_{t.escalations_count}_within_{t.escalations_within}"
    return None


_TRIGGER_REASONS = {
    CreditEventKind.MAJOR_OVERDUE_AT_TOP.value: "重大事故隐患经逐级督办至最高层级仍逾期未整改",
    CreditEventKind.OVERDUE_AT_TOP.value: "事故隐患经逐级督办至最高层级仍逾期未整改",
    CreditEventKind.REFUSAL.value: "拒不执行事故隐患整改要求 (拒不整改)",
    CreditEventKind.ENFORCEMENT_REFERRAL.value: "事故隐患整改不力, 已移送执法",
}


def trigger_reasons(trigger: str, case_id: str | None, policy: Policy) -> str:
    """The facts and reasons (事实和理由) a notice states for a trigger of the policy."""
    where = f" (案件 {case_id})" if case_id else ""
    if trigger in _TRIGGER_REASONS:
        return _TRIGGER_REASONS[trigger] + where
    t = policy.credit.triggers
    return f"{t.escalations_within} 内事故隐患逾期升级 {t.escalations_count} 次" + where


def _open(
    state: CreditState,
    trigger: str,
    rule: str,
    case_id: str | None,
    actor: Actor,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    *,
    reasons: str,
    basis: str,
) -> list[CreditEvent]:
    digest = hashlib.sha256(f"{state.credit_code}|{state.proceedings + 1}".encode()).hexdigest()
    number = f"SX-{now.astimezone(policy.tz).year}-{digest[:8].upper()}"
    notice = policy.credit.notice
    window_end = policy.credit.objection_window.add_to(now, calendar, policy.tz)
    if policy.edition < 2:  # edition 1 notices carried the window only; recorded ones stay so
        reasons = basis = rights = ""
    else:
        until = window_end.astimezone(policy.tz).isoformat()
        rights = f"{notice.rights} (截止 {until})" if notice is not None else ""
    return [
        ProceedingOpened(number, trigger, rule, case_id, actor.id, now),
        ProceedingNoticeIssued(
            number, window_end, now, reasons=reasons, basis=basis, rights=rights
        ),
    ]


def decide_credit(
    state: CreditState | None,
    command: CreditCommand,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar | None = None,
) -> list[CreditEvent]:
    """The events ``command`` causes; a RatingChanged is appended whenever the grade moves."""
    now = utc_instant(now, "now")
    cal = calendar or WorkingCalendar()
    if command.actor.role is Role.AUDITOR:
        raise _err("credit.auditor.read_only", "an auditor reads and changes nothing", "actor.role")
    base = state
    events: list[CreditEvent] = []
    if state is None:
        if not isinstance(command, OpenCreditRecord | RecordCreditEvent):
            raise _err("credit.not_opened", "this enterprise has no credit record yet")
        code = validate_credit_code(command.credit_code)
        events.append(CreditRecordOpened(code, command.enterprise_name, now))
        state = evolve_credit(None, events[0])
        if isinstance(command, OpenCreditRecord):
            return _with_rating(base, events, now, policy, cal)
    elif isinstance(command, OpenCreditRecord):
        raise _err("credit.already_opened", "the credit record exists")
    events += _decide(state, command, now, policy, cal)
    return _with_rating(base, events, now, policy, cal)


def _with_rating(
    base: CreditState | None,
    events: list[CreditEvent],
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CreditEvent]:
    """Append RatingChanged when the grade after ``events`` differs from the recorded one."""
    after = fold_credit(events, base)
    assert after is not None
    grade, points = rating_of(after, now, policy, calendar)
    if grade != after.rating:
        events.append(RatingChanged(after.rating, grade, points, now))
    return events


def _decide(
    state: CreditState, command: CreditCommand, now: datetime, policy: Policy, cal: WorkingCalendar
) -> list[CreditEvent]:
    actor = command.actor
    match command:
        case RecordCreditEvent():
            _require_role(
                actor, (Role.SYSTEM,), "credit.record.system_only", "record a case's credit event"
            )
            if validate_credit_code(command.credit_code) != state.credit_code:
                raise _err(
                    "credit.record.other_enterprise",
                    "the event is for another enterprise",
                    "credit_code",
                )
            recorded = CreditEventRecorded(
                command.case_id, command.kind, utc_instant(command.occurred_at, "occurred_at"), now
            )
            events: list[CreditEvent] = [recorded]
            after = evolve_credit(state, recorded)
            trigger = _trigger_for(after, command.kind, now, policy, cal)
            if trigger is not None and after.proceeding is None and not after.is_blacklisted:
                notice = policy.credit.notice
                events += _open(
                    after,
                    trigger,
                    f"policy.credit.triggers.{command.kind.value}",
                    command.case_id,
                    actor,
                    now,
                    policy,
                    cal,
                    reasons=trigger_reasons(trigger, command.case_id, policy),
                    basis=notice.basis if notice is not None else "",
                )
            return events
        case OpenProceeding():
            _require_role(
                actor, (Role.SUPERVISOR,), "credit.proceeding.supervisor_only", "open a proceeding"
            )
            _require_deciding_level(actor, policy, "opening a proceeding (列入程序)")
            _text(command.ground, "credit.proceeding.ground_required", "ground")
            _text(command.basis, "credit.proceeding.basis_required", "basis")
            if state.proceeding is not None:
                raise _err("credit.proceeding.already_open", "a proceeding is already open")
            if state.is_blacklisted:
                raise _err("credit.proceeding.already_listed", "the enterprise is on the list")
            return _open(
                state,
                command.ground,
                command.basis,
                None,
                actor,
                now,
                policy,
                cal,
                reasons=command.ground,
                basis=command.basis,
            )
        case FileObjection():
            _require_role(
                actor, (Role.ENTERPRISE,), "credit.objection.enterprise_only", "file an objection"
            )
            p = state.proceeding
            if p is None:
                raise _err("credit.objection.no_proceeding", "no proceeding is open")
            if p.window_closed or (p.objection_until is not None and now >= p.objection_until):
                raise _err(
                    "credit.objection.window_closed", "the objection window (异议期) has closed"
                )
            _text(command.statement, "credit.objection.statement_required", "statement")
            return [ObjectionFiled(p.proceeding_no, command.statement, actor.id, now)]
        case DecideListing():
            _require_role(
                actor, (Role.SUPERVISOR,), "credit.decide.supervisor_only", "decide a listing"
            )
            _require_deciding_level(actor, policy, "the listing decision (列入决定)")
            p = state.proceeding
            if p is None:
                raise _err("credit.decide.no_proceeding", "no proceeding is open")
            if not p.window_closed:
                raise _err(
                    "credit.decide.objection_window_open", "the objection window has not closed"
                )
            _text(command.basis, "credit.decide.basis_required", "basis")
            decided = ListingDecided(
                p.proceeding_no, command.list_enterprise, actor.id, command.basis, now
            )
            if not command.list_enterprise:
                return [decided]
            c = policy.credit
            return [
                decided,
                BlacklistPublished(
                    p.proceeding_no,
                    c.list_period.add_to(now, cal, policy.tz),
                    c.early_removal_after.add_to(now, cal, policy.tz),
                    now,
                    # Edition 1 recorded neither (and computed no working-day deadline here).
                    decided_at=now if policy.edition >= 2 else None,
                    publish_by=c.publish_within.add_to(now, cal, policy.tz)
                    if policy.edition >= 2
                    else None,
                ),
            ]
        case ApplyEarlyRemoval():
            _require_role(
                actor, (Role.ENTERPRISE,), "credit.early_removal.enterprise_only", "apply"
            )
            b = state.blacklist
            if b is None or b.removed_early:
                raise _err("credit.early_removal.not_listed", "the enterprise is not on the list")
            if b.removal_applied:
                raise _err("credit.early_removal.already_applied", "an application is pending")
            if now < b.early_removal_from:
                raise _err(
                    "credit.early_removal.too_early",
                    f"提前移出 may be applied for from {b.early_removal_from.isoformat()}",
                )
            _text(command.statement, "credit.early_removal.statement_required", "statement")
            return [EarlyRemovalApplied(command.statement, actor.id, now)]
        case DecideEarlyRemoval():
            _require_role(
                actor, (Role.SUPERVISOR,), "credit.early_removal.supervisor_decides", "decide"
            )
            _require_deciding_level(actor, policy, "the early removal decision (信用修复)")
            if state.blacklist is None or not state.blacklist.removal_applied:
                raise _err("credit.early_removal.none_pending", "no application is pending")
            if command.approve:
                return [EarlyRemovalApproved(actor.id, command.reason, now)]
            _text(command.reason, "credit.early_removal.reason_required", "reason")
            return [EarlyRemovalRejected(actor.id, command.reason, now)]
        case RevokeEarlyRemoval():
            _require_role(actor, (Role.SUPERVISOR,), "credit.revoke.supervisor_only", "revoke")
            _require_deciding_level(actor, policy, "revoking an early removal (撤销信用修复)")
            b = state.blacklist
            if b is None or not b.removed_early:
                raise _err("credit.revoke.not_removed_early", "there is no early removal to revoke")
            _text(command.reason, "credit.revoke.reason_required", "reason")
            return [EarlyRemovalRevoked(actor.id, command.reason, b.expires_at, now)]
        case FireCreditTimer():
            _require_role(actor, (Role.SYSTEM,), "credit.timer.system_only", "fire a timer")
            timer = next(
                (t for t in pending_credit_timers(state, policy) if t.key == command.key), None
            )
            if timer is None:
                if command.key in state.fired_timers:
                    raise _err(
                        "credit.timer.already_fired", f"timer {command.key} has fired", "key"
                    )
                raise _err("credit.timer.not_pending", f"timer {command.key} is not pending", "key")
            if now < timer.due_at:
                raise _err(
                    "credit.timer.not_due",
                    f"timer {command.key} is due at {timer.due_at.isoformat()}",
                    "key",
                )
            number = command.key.split(":", 1)[1]
            if timer.kind == "objection_window":
                return [ObjectionWindowClosed(number, command.key, now)]
            return [BlacklistExpired(number, command.key, now)]
    raise _err("credit.command.unknown", f"unknown command {type(command).__name__}")


# --- data -------------------------------------------------------------------------------------

_EVENTS = {cls.EVENT_TYPE: cls for cls in CREDIT_EVENT_CLASSES}
_COMMANDS = {cls.COMMAND_TYPE: cls for cls in CREDIT_COMMAND_CLASSES}


def credit_event_to_data(event: CreditEvent) -> dict[str, Any]:
    data: dict[str, Any] = to_data(event)
    return data


def credit_event_from_data(
    event_type: str, schema_version: int, data: dict[str, Any]
) -> CreditEvent:
    cls = _EVENTS.get(event_type)
    if cls is None or schema_version != cls.SCHEMA_VERSION:
        raise _err(
            "data.event_type_unknown",
            f"unknown credit event {event_type} v{schema_version}",
            "event_type",
        )
    event: CreditEvent = from_data(cls, data)
    return event


def credit_command_to_data(command: CreditCommand) -> dict[str, Any]:
    data: dict[str, Any] = to_data(command)
    return data


def credit_command_from_data(
    command_type: str, schema_version: int, data: dict[str, Any]
) -> CreditCommand:
    cls = _COMMANDS.get(command_type)
    if cls is None or schema_version != cls.SCHEMA_VERSION:
        raise _err(
            "data.command_type_unknown",
            f"unknown credit command {command_type} v{schema_version}",
            "command_type",
        )
    command: CreditCommand = from_data(cls, data)
    return command


def check_credit_command_text(data: dict[str, Any]) -> None:
    """As ``domain.case.check_command_text``: refuse text the record cannot hold where a
    command is accepted, never when a recorded command is read again."""
    check_text(data)


def credit_state_to_data(state: CreditState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    data: dict[str, Any] = to_data(state)
    data["is_blacklisted"] = state.is_blacklisted
    return data
