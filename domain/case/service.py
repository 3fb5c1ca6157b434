"""Service (送达) of a case's notices: the enterprise's acknowledgement (签收).

A notice that has effect once served (the rectification notice, the listing, an escalation's
supervision letter) is acknowledged by the enterprise it was served on: reading it in the
console's inbox records ``ServiceAcknowledged`` with who and when. Which periods run from
service rather than from issue is the policy's (not yet decided here: the deadlines still
run from issue).
"""

from __future__ import annotations

from datetime import datetime

from domain.case.commands import AcknowledgeService, Role
from domain.case.events import CaseEvent, ServiceAcknowledged
from domain.case.guards import require_role
from domain.case.state import CaseState
from domain.errors import DomainError

# The kinds of the case's notices that are served on the enterprise (domain.recipients keeps
# the same list for the inbox, with the credit record's).
SERVED_NOTICE_KINDS = ("rectification_notice", "hazard_listed", "case_escalated")


def acknowledge_service(
    state: CaseState, cmd: AcknowledgeService, now: datetime
) -> list[CaseEvent]:
    require_role(
        cmd.actor, (Role.ENTERPRISE,), "case.service.enterprise_only", "acknowledge service (签收)"
    )
    if not cmd.step_key.startswith(f"{state.hazard_id}:") or not cmd.step_key.endswith(
        f":enterprise:{state.credit_code}"
    ):
        raise DomainError(
            "case.service.step_unknown",
            f"{cmd.step_key!r} is not a notice of case {state.hazard_id} to its enterprise",
            "step_key",
        )
    if cmd.notice_kind not in SERVED_NOTICE_KINDS:
        raise DomainError(
            "case.service.kind_not_served",
            f"a {cmd.notice_kind} notice is not served; one of {', '.join(SERVED_NOTICE_KINDS)}",
            "notice_kind",
        )
    return [
        ServiceAcknowledged(
            step_key=cmd.step_key,
            notice_kind=cmd.notice_kind,
            acknowledged_by=cmd.actor.id,
            at=now,
        )
    ]
