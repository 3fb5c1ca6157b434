"""Listing proceedings (列入程序, Order 11): a case's credit event recorded and the policy's
trigger it may meet, a proceeding opened by a trigger or a supervisor with its notice (告知),
the enterprise's objection (陈述申辩), and the listing decision with its publication (公示).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import Actor, Role
from domain.credit.commands import DecideListing, FileObjection, OpenProceeding, RecordCreditEvent
from domain.credit.events import (
    BlacklistPublished,
    CreditEvent,
    CreditEventRecorded,
    ListingDecided,
    ObjectionFiled,
    ProceedingNoticeIssued,
    ProceedingOpened,
)
from domain.credit.guards import require_deciding_level, require_role, require_text
from domain.credit.state import CreditState, evolve_credit
from domain.credit_code import validate_credit_code
from domain.durations import utc_instant
from domain.editions import (
    blacklist_entry_records_decision_and_publish_by,
    credit_notice_states_reasons_and_rights,
)
from domain.errors import DomainError
from domain.policy import CreditEventKind, Policy


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
    if not credit_notice_states_reasons_and_rights(policy):  # edition 1: the window only
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


def record_credit_event(
    state: CreditState,
    command: RecordCreditEvent,
    now: datetime,
    policy: Policy,
    cal: WorkingCalendar,
) -> list[CreditEvent]:
    """A case's event that counts, recorded; a proceeding opened when it meets a trigger of
    the policy and none is open or listed."""
    actor = command.actor
    require_role(actor, (Role.SYSTEM,), "credit.record.system_only", "record a case's credit event")
    if validate_credit_code(command.credit_code) != state.credit_code:
        raise DomainError(
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


def open_proceeding(
    state: CreditState,
    command: OpenProceeding,
    now: datetime,
    policy: Policy,
    cal: WorkingCalendar,
) -> list[CreditEvent]:
    """A supervisor opens a proceeding on another ground of Order 11."""
    actor = command.actor
    require_role(
        actor, (Role.SUPERVISOR,), "credit.proceeding.supervisor_only", "open a proceeding"
    )
    require_deciding_level(actor, policy, "opening a proceeding (列入程序)")
    require_text(command.ground, "credit.proceeding.ground_required", "ground")
    require_text(command.basis, "credit.proceeding.basis_required", "basis")
    if state.proceeding is not None:
        raise DomainError("credit.proceeding.already_open", "a proceeding is already open")
    if state.is_blacklisted:
        raise DomainError("credit.proceeding.already_listed", "the enterprise is on the list")
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


def file_objection(state: CreditState, command: FileObjection, now: datetime) -> list[CreditEvent]:
    """陈述申辩 within the objection window."""
    actor = command.actor
    require_role(actor, (Role.ENTERPRISE,), "credit.objection.enterprise_only", "file an objection")
    p = state.proceeding
    if p is None:
        raise DomainError("credit.objection.no_proceeding", "no proceeding is open")
    if p.window_closed or (p.objection_until is not None and now >= p.objection_until):
        raise DomainError(
            "credit.objection.window_closed", "the objection window (异议期) has closed"
        )
    require_text(command.statement, "credit.objection.statement_required", "statement")
    return [ObjectionFiled(p.proceeding_no, command.statement, actor.id, now)]


def decide_listing(
    state: CreditState,
    command: DecideListing,
    now: datetime,
    policy: Policy,
    cal: WorkingCalendar,
) -> list[CreditEvent]:
    """列入决定 once the objection window has closed; a listing is published at once."""
    actor = command.actor
    require_role(actor, (Role.SUPERVISOR,), "credit.decide.supervisor_only", "decide a listing")
    require_deciding_level(actor, policy, "the listing decision (列入决定)")
    p = state.proceeding
    if p is None:
        raise DomainError("credit.decide.no_proceeding", "no proceeding is open")
    if not p.window_closed:
        raise DomainError(
            "credit.decide.objection_window_open", "the objection window has not closed"
        )
    require_text(command.basis, "credit.decide.basis_required", "basis")
    decided = ListingDecided(p.proceeding_no, command.list_enterprise, actor.id, command.basis, now)
    if not command.list_enterprise:
        return [decided]
    c = policy.credit
    records = blacklist_entry_records_decision_and_publish_by(policy)
    return [
        decided,
        BlacklistPublished(
            p.proceeding_no,
            c.list_period.add_to(now, cal, policy.tz),
            c.early_removal_after.add_to(now, cal, policy.tz),
            now,
            # Edition 1 recorded neither (and computed no working-day deadline here).
            decided_at=now if records else None,
            publish_by=c.publish_within.add_to(now, cal, policy.tz) if records else None,
        ),
    ]
