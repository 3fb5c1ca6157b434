"""签收: the enterprise acknowledges a notice served on it; who else, or what else, is refused."""

from __future__ import annotations

import pytest

from domain.case import decide, evolve, notifications_for
from domain.case.commands import AcknowledgeService
from domain.case.events import ServiceAcknowledged
from domain.errors import DomainError
from tests.domain.domain_builders import (
    CALENDAR,
    DEFAULT,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    NOW,
    SUPERVISOR,
    register,
    run,
)

SERVED = f"H-0001:2:RectificationNoticeIssued:enterprise:{ENTERPRISE.credit_code}"


def test_the_enterprise_acknowledges_its_notice_and_the_supervisor_is_told():
    state, _ = run([(register(), NOW)])
    assert state is not None
    events = decide(
        state,
        AcknowledgeService(ENTERPRISE_ACTOR, SERVED, "rectification_notice"),
        NOW,
        DEFAULT,
        CALENDAR,
    )
    assert events == [ServiceAcknowledged(SERVED, "rectification_notice", ENTERPRISE_ACTOR.id, NOW)]
    after = evolve(state, events[0])
    assert after.version == state.version + 1 and after.deadline == state.deadline
    (told,) = notifications_for(state, events[0])
    assert (told.recipient_kind, told.reason) == (
        "grid_responsible",
        "service_acknowledged:rectification_notice",
    )


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        (
            AcknowledgeService(SUPERVISOR, SERVED, "rectification_notice"),
            "case.service.enterprise_only",
        ),
        (
            AcknowledgeService(ENTERPRISE_ACTOR, "H-9999:2:X:enterprise:x", "rectification_notice"),
            "case.service.step_unknown",
        ),
        (
            AcknowledgeService(ENTERPRISE_ACTOR, SERVED, "deadline_reminder"),
            "case.service.kind_not_served",
        ),
    ],
)
def test_only_the_enterprise_acknowledges_only_its_served_notices(command, rule):
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as refused:
        decide(state, command, NOW, DEFAULT, CALENDAR)
    assert refused.value.rule == rule
