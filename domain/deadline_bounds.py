"""How far ahead a deadline a person gives may lie (整改期限的上限).

A registration's deadline, a listing's, a failed verification's new deadline, a requested or
decided extension: each is at most the policy's longest rectification period from the moment
the command is accepted — not the year 2200. The longest period is the longest of the
policy's own (``deadlines.general``, ``deadlines.listed.*``, ``verification.rework``,
``listing.max_duration``, the ladder's deadlines), counted generously so that no period the
policy itself could set is refused: months as 31 days, years as 366, working days as weeks
plus the longest run of holidays, and the days a legal period may roll over to its next
working day (Civil Code Art. 203).

Checked where a command is accepted (the API, a case's update validators, a new case's start
behind a ``workflow.patched`` id), never where a recorded command is decided again: a case
that accepted a far deadline before this rule replays as it was decided.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.case.commands import (
    CaseCommand,
    DecideExtension,
    ListHazard,
    RegisterHazard,
    RequestExtension,
    VerifyRectification,
)
from domain.durations import PolicyDuration, utc_instant
from domain.errors import DomainError
from domain.policy import Policy

# The end of the last day, and the longest run of days off a legal period can roll over
# (the Spring Festival week with its adjacent weekend, as PolicyDuration.bounds_in_seconds).
_ROLL_OVER = timedelta(days=1 + 9)

_DEADLINE_FIELDS: dict[type[CaseCommand], str] = {
    RegisterHazard: "deadline",
    ListHazard: "deadline",
    VerifyRectification: "new_deadline",
    DecideExtension: "new_deadline",
    RequestExtension: "requested_deadline",
}


def rectification_periods(policy: Policy) -> list[PolicyDuration]:
    """Every rectification period the policy sets."""
    listed = policy.deadlines.listed
    return [
        policy.deadlines.general,
        listed.county,
        listed.city,
        listed.province,
        policy.verification.rework,
        policy.listing.max_duration,
        *(rung.deadline for rung in policy.escalation.ladder),
    ]


def longest_rectification_period(policy: Policy) -> PolicyDuration:
    return max(rectification_periods(policy), key=lambda d: d.bounds_in_seconds()[1])


def latest_deadline(now: datetime, policy: Policy) -> datetime:
    """The latest deadline a person may give at ``now``."""
    longest = longest_rectification_period(policy).bounds_in_seconds()[1]
    return now + timedelta(seconds=longest) + _ROLL_OVER


def check_deadline_bound(command: CaseCommand, now: datetime, policy: Policy) -> None:
    """Refuse (``case.deadline.beyond_policy``, naming the field) a command whose deadline lies
    further ahead than the policy's longest rectification period."""
    field = _DEADLINE_FIELDS.get(type(command))
    deadline = getattr(command, field, None) if field else None
    if field is None or deadline is None:
        return
    deadline = utc_instant(deadline, field)  # outside the years duban reads: that rule first
    limit = latest_deadline(now, policy)
    if deadline > limit:
        raise DomainError(
            "case.deadline.beyond_policy",
            f"{field} {deadline.isoformat()} lies further ahead than the policy's longest "
            f"rectification period ({longest_rectification_period(policy)}): give one on or "
            f"before {limit.isoformat()}",
            field,
        )


__all__ = ["check_deadline_bound", "latest_deadline", "longest_rectification_period"]
