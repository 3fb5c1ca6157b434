"""Who must be told about a case's event (pure): the enterprise, the grid's responsible people,
the listing authority, enforcement, the public register, the administrators. The outbox
delivers; this module decides the recipients and each notice's idempotent step key."""

from __future__ import annotations

from dataclasses import dataclass

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
    HazardDelisted,
    HazardListed,
    HazardRegistered,
    ListingPublished,
    NoticeAwaitingCalendar,
    RectificationNoticeIssued,
    RectificationReported,
    RefusalRecorded,
    ReminderDue,
    SelfReportAcceptanceOverdue,
    SelfReportAccepted,
    SelfReportAwaitingAcceptance,
    ServiceAcknowledged,
    VerificationFailed,
    VerificationOverdue,
    VerificationPassed,
)
from domain.case.state import CaseState


@dataclass(frozen=True)
class Notification:
    recipient_kind: str  # "enterprise" | "grid_responsible" | "listing_authority" | "enforcement"
    # | "public_register"
    recipient_id: str
    reason: str
    step_key: str


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
        case SelfReportAwaitingAcceptance():
            unit = state_before.unit(event.unit_code) if state_before is not None else None
            if unit is not None:
                recipients = [
                    ("grid_responsible", unit.responsible_person, "self_report_to_accept")
                ]
        case SelfReportAccepted():
            recipients = [(*enterprise, "self_report_accepted")]
        case SelfReportAcceptanceOverdue():
            unit = state_before.unit(event.alerted_unit_code) if state_before is not None else None
            if unit is not None:
                recipients = [
                    ("grid_responsible", unit.responsible_person, "self_report_acceptance_overdue")
                ]
        case CreditTriggerRaised():
            recipients = []
        case ServiceAcknowledged():
            # The supervisor learns the notice is served (签收): from now on it has effect.
            recipients = [(*grid, f"service_acknowledged:{event.notice_kind}")]
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
