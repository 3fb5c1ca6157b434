"""Rectification (整改): the enterprise's governance plan and report, and the verification
(验收) that closes the case — or fails, setting a new deadline or, late, counting as the
deadline missed.
"""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import (
    ReportRectification,
    Role,
    SubmitGovernancePlan,
    VerifyRectification,
)
from domain.case.deadlines import (
    capped_by_listing_maximum,
    check_listing_maximum,
    listing_maximum_start,
    period_end,
)
from domain.case.escalation import deadline_missed
from domain.case.events import (
    CaseClosed,
    CaseEvent,
    CloseBasis,
    DelistBasis,
    GovernancePlanSubmitted,
    HazardClass,
    RectificationReported,
    VerificationFailed,
    VerificationPassed,
)
from domain.case.guards import (
    acting_unit,
    future_deadline,
    require_role,
    require_supervising_or_above,
    require_text,
)
from domain.case.listing import delisted_event, with_publication
from domain.case.self_inspection import closes_on_own_report, require_accepted, self_rectified
from domain.case.state import CaseState, evolve
from domain.case.timers import Timer
from domain.editions import (
    authority_follows_the_grid,
    late_failed_verification_counts_as_missed_deadline,
)
from domain.errors import CalendarDataMissing, DomainError
from domain.policy import Policy


def submit_plan(state: CaseState, cmd: SubmitGovernancePlan, now: datetime) -> list[CaseEvent]:
    require_role(cmd.actor, (Role.ENTERPRISE,), "case.plan.enterprise_only", "submit a 治理方案")
    if state.hazard_class is not HazardClass.MAJOR:
        raise DomainError(
            "case.plan.major_only", "a 治理方案 is required for major hazards only", "plan"
        )
    if state.reported_at is not None:
        raise DomainError(
            "case.plan.report_pending", "the rectification is already reported", "plan"
        )
    return [
        GovernancePlanSubmitted(
            plan=cmd.plan, submitted_by=cmd.actor.id, at=now, evidence=cmd.evidence
        )
    ]


def report_rectification(
    state: CaseState,
    cmd: ReportRectification,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    require_role(
        cmd.actor, (Role.ENTERPRISE,), "case.report.enterprise_only", "report a rectification"
    )
    if state.reported_at is not None:
        raise DomainError(
            "case.report.already_reported", "a report is already awaiting verification"
        )
    if state.hazard_class is HazardClass.MAJOR and not state.plan_submitted:
        raise DomainError(
            "case.report.requires_governance_plan",
            "a major hazard's 治理方案 must be submitted before reporting the rectification",
            "plan",
        )
    require_text(cmd.summary, "case.report.summary_required", "summary", "a summary")
    if not cmd.evidence:
        raise DomainError(
            "case.report.evidence_required",
            "a report carries evidence of the rectification",
            "evidence",
        )
    review_by = policy.verification.review_within.add_to(now, calendar, policy.tz)
    reported = RectificationReported(
        summary=cmd.summary,
        evidence=cmd.evidence,
        reported_by=cmd.actor.id,
        review_by=review_by,
        at=now,
    )
    if closes_on_own_report(state, policy):
        return [reported, self_rectified(now)]
    return [reported]


def _require_verifier(state: CaseState, cmd: VerifyRectification, policy: Policy) -> None:
    """验收 by the listing authority of a listed hazard, otherwise by the supervising unit or a
    unit above it (``authority_follows_the_grid``). Edition 1 checked the listing authority
    only when the actor named a unit."""
    if not authority_follows_the_grid(policy):
        if (
            cmd.passed
            and state.listing is not None
            and cmd.actor.unit_code is not None
            and cmd.actor.unit_code != state.listing.authority_unit_code
        ):
            raise DomainError(
                "case.delist.listing_authority_only",
                f"摘牌 is done by the listing authority {state.listing.authority_unit_code}",
                "actor.unit_code",
            )
        return
    if state.listing is None:
        require_supervising_or_above(state, cmd.actor, policy, "验收")
        return
    unit = acting_unit(state.grid_path, cmd.actor)
    if unit.code != state.listing.authority_unit_code:
        rule = (
            "case.delist.listing_authority_only"
            if cmd.passed
            else "case.verify.listing_authority_only"
        )
        raise DomainError(
            rule,
            f"a listed hazard is verified and 摘牌 by its listing authority "
            f"{state.listing.authority_unit_code}",
            "actor.unit_code",
        )


def verify_rectification(
    state: CaseState,
    cmd: VerifyRectification,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    require_role(cmd.actor, (Role.SUPERVISOR,), "case.verify.supervisor_only", "verify (验收)")
    if state.reported_at is None:
        raise DomainError(
            "case.verify.requires_report", "there is no rectification report to verify (验收)"
        )
    _require_verifier(state, cmd, policy)
    require_accepted(state)
    if not cmd.passed:
        return _verification_failed(state, cmd, now, policy, calendar)
    events: list[CaseEvent] = [
        VerificationPassed(
            verified_by=cmd.actor.id, comments=cmd.comments, at=now, evidence=cmd.evidence
        )
    ]
    if state.listing is not None:
        events += with_publication(
            delisted_event(state, DelistBasis.VERIFIED, cmd.actor, now, policy, calendar), policy
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
    """验收不合格. A failure at or after the deadline that the report stopped counts as that
    deadline missed (``late_failed_verification_counts_as_missed_deadline``) — the case takes
    the ladder's next rung exactly as the deadline timer would have — so that report-then-fail
    cycles cannot hold escalation off for ever.
    Before that deadline the case goes back to rectification with a new deadline (the
    supervisor's, or the rework period), within the listing maximum."""
    if state.notice_pending is not None:
        # The case's first deadline is still to be issued: a rework deadline now would compete
        # with it. The failure waits with the notice (a pass closes the case as always).
        raise CalendarDataMissing(state.notice_pending.missing_year)
    late_counts = late_failed_verification_counts_as_missed_deadline(policy)
    missed = state.deadline if late_counts and state.deadline_running else None
    if missed is not None and now >= missed:
        if cmd.new_deadline is not None:
            raise DomainError(
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
            evidence=cmd.evidence,
        )
        timer = Timer(f"deadline:{state.deadline_no}", "deadline", missed)
        return [
            failed,
            *deadline_missed(evolve(state, failed), timer, cmd.actor, now, policy, calendar),
        ]
    if cmd.new_deadline is not None:
        deadline = future_deadline(cmd.new_deadline, now, "new_deadline")
        start = listing_maximum_start(state.listing, policy)
        if start is not None:
            check_listing_maximum(deadline, start, policy, calendar, "new_deadline")
    else:
        rework = period_end(policy.verification.rework, now, policy, calendar)
        deadline = capped_by_listing_maximum(rework, state.listing, now, policy, calendar)
    return [
        VerificationFailed(
            verified_by=cmd.actor.id,
            comments=cmd.comments,
            deadline=deadline,
            deadline_no=state.deadline_no + 1,
            at=now,
            evidence=cmd.evidence,
        )
    ]
