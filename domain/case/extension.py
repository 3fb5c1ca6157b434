"""Extension (延期): the enterprise's request, the authority's decision, and the alert up the
grid when that decision is late (延期审批超时)."""

from __future__ import annotations

from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import DecideExtension, RequestExtension, Role
from domain.case.deadlines import check_listing_maximum, listing_maximum_start
from domain.case.escalation import deadline_missed
from domain.case.events import (
    CaseEvent,
    ExtensionApproved,
    ExtensionDecisionOverdue,
    ExtensionRejected,
    ExtensionRequested,
)
from domain.case.guards import (
    future_deadline,
    require_role,
    require_supervising_or_above,
    require_text,
)
from domain.case.state import CaseState, evolve
from domain.case.timers import Timer
from domain.editions import (
    extension_cutoff_leaves_whole_working_days,
    extension_limits_depend_on_listing,
    late_rejection_counts_as_missed_deadline,
)
from domain.errors import DomainError
from domain.policy import Policy


def request_extension(
    state: CaseState,
    cmd: RequestExtension,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
) -> list[CaseEvent]:
    """延期申请, before the cut-off. The cut-off and the decision time depend on the case
    (``extension_limits_depend_on_listing``): listed supervision keeps the Qingdao limits,
    other cases use ``extension.unlisted``; a working-day cut-off leaves exactly that many
    working days before the deadline's day (``extension_cutoff_leaves_whole_working_days``)."""
    require_role(
        cmd.actor,
        (Role.ENTERPRISE,),
        "case.extension.enterprise_only",
        "request an extension (延期)",
    )
    if state.reported_at is not None:
        raise DomainError(
            "case.extension.report_pending", "the rectification is reported; no deadline runs"
        )
    if state.pending_extension is not None:
        raise DomainError(
            "case.extension.already_pending", "an extension request is already pending"
        )
    if state.extensions_granted >= policy.extension.max_extensions:
        raise DomainError(
            "case.extension.limit_reached",
            f"at most {policy.extension.max_extensions} extension(s) per case",
        )
    if state.deadline is None:
        raise DomainError("case.extension.no_deadline", "the case has no deadline to extend")
    by_listing = extension_limits_depend_on_listing(policy)
    limits = policy.extension.limits(listed=state.listing is not None or not by_listing)
    latest = limits.request_before.subtract_from(
        state.deadline,
        calendar,
        policy.tz,
        closing_day_must_work=extension_cutoff_leaves_whole_working_days(policy),
    )
    if now >= latest:
        which = "" if not by_listing else (" (listed)" if state.listing else " (not listed)")
        raise DomainError(
            "case.extension.too_late",
            f"延期 must be requested at least {limits.request_before} before the "
            f"deadline{which}, i.e. before {latest.isoformat()}",
            "requested_deadline",
        )
    requested = future_deadline(cmd.requested_deadline, now, "requested_deadline")
    if requested <= state.deadline:
        raise DomainError(
            "case.extension.not_later",
            "the requested deadline must be later than the current one",
            "requested_deadline",
        )
    start = listing_maximum_start(state.listing, policy)
    if start is not None:
        check_listing_maximum(requested, start, policy, calendar, "requested_deadline")
    require_text(cmd.reasons, "case.extension.reasons_required", "reasons", "reasons")
    require_text(
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


def decide_extension(
    state: CaseState, cmd: DecideExtension, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> list[CaseEvent]:
    """延期审批, also after ``decide_by`` (the authority being late costs the enterprise
    nothing). A rejection after the deadline has passed counts as the deadline missed at that
    moment, exactly as the deadline timer would have
    (``late_rejection_counts_as_missed_deadline``)."""
    require_role(
        cmd.actor, (Role.SUPERVISOR,), "case.extension.supervisor_decides", "decide an extension"
    )
    pending = state.pending_extension
    if pending is None:
        raise DomainError("case.extension.none_pending", "no extension request is pending")
    require_supervising_or_above(state, cmd.actor, policy, "延期审批")
    if not cmd.approve:
        require_text(
            cmd.reason,
            "case.extension.rejection_reason_required",
            "reason",
            "a reason for rejecting",
        )
        rejected = ExtensionRejected(decided_by=cmd.actor.id, reason=cmd.reason, at=now)
        missed = state.deadline
        if (
            late_rejection_counts_as_missed_deadline(policy)
            and missed is not None
            and now >= missed
        ):
            timer = Timer(f"deadline:{state.deadline_no}", "deadline", missed)
            after = evolve(state, rejected)
            return [rejected, *deadline_missed(after, timer, cmd.actor, now, policy, calendar)]
        return [rejected]
    deadline = future_deadline(cmd.new_deadline or pending.requested_deadline, now, "new_deadline")
    if state.deadline is not None and deadline <= state.deadline:
        raise DomainError(
            "case.extension.not_later",
            "an approved extension moves the deadline later",
            "new_deadline",
        )
    start = listing_maximum_start(state.listing, policy)
    if start is not None:
        check_listing_maximum(deadline, start, policy, calendar, "new_deadline")
    return [
        ExtensionApproved(
            decided_by=cmd.actor.id,
            reason=cmd.reason,
            deadline=deadline,
            deadline_no=state.deadline_no + 1,
            at=now,
        )
    ]


def decision_overdue(state: CaseState, timer: Timer, now: datetime) -> ExtensionDecisionOverdue:
    """延期审批超时: the first alert tells the deciding unit and the unit above it; the n-th
    (``decision:<k>:<n>``) tells the deciding unit and the unit n levels above it, or the top
    of the grid path once the path ends there (催办 up the grid,
    ``decision_alert_repeats_up_the_grid``)."""
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
