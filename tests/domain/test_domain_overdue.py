"""逾期: a hazard is overdue from its own rectification deadline (整改期限) until it is written
off — also once escalation has given the case new supervision deadlines (督办函) — and the
state says since when and for how many days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.case import CaseState, catch_up, days_overdue, decide, fold
from domain.case.commands import (
    CaseCommand,
    DecideExtension,
    ReportRectification,
    RequestExtension,
    VerifyRectification,
)
from domain.grid import GridLevel
from tests.domain.domain_builders import (
    CALENDAR,
    DEFAULT,
    ENTERPRISE_ACTOR,
    NOW,
    PHOTO,
    SHANGHAI,
    SUPERVISOR,
    register,
)

# P15D from Monday 3 March 2025 09:00, a legal period: 24:00 on Tuesday 18 March.
DEADLINE = datetime(2025, 3, 19, tzinfo=SHANGHAI)
REPORT = ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,))
PASSED = VerifyRectification(SUPERVISOR, True, "合格")
FAILED = VerifyRectification(SUPERVISOR, False, "不合格")


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=SHANGHAI)


def drive(steps: Sequence[tuple[CaseCommand, datetime]]) -> CaseState:
    """Each command at its time, the timers due before it fired first (as the workflow does)."""
    state: CaseState | None = None
    for command, now in steps:
        state, _ = catch_up(state, now, DEFAULT, CALENDAR)
        state = fold(decide(state, command, now, DEFAULT, CALENDAR), state)
    assert state is not None
    return state


def then(state: CaseState, now: datetime) -> CaseState:
    """The state the clock has reached at ``now`` (its due timers fired)."""
    after, _ = catch_up(state, now, DEFAULT, CALENDAR)
    assert after is not None
    return after


def test_an_escalated_case_stays_overdue_from_its_rectification_deadline():
    state = then(drive([(register(), NOW)]), at(3, 21))
    assert state.supervising_level is GridLevel.TOWNSHIP and state.deadline is not None
    assert state.deadline > at(3, 21)  # the township's supervision deadline is still ahead
    assert state.rectification_deadline == DEADLINE and state.rectification_missed
    assert state.is_overdue(at(3, 21))
    assert state.overdue_since(at(3, 21)) == DEADLINE
    # Months later, escalated further up the grid: still overdue from the same day.
    later = then(state, at(9, 1))
    assert later.escalation_index > state.escalation_index
    assert later.overdue_since(at(9, 1)) == DEADLINE
    # 19 March is day 1, 1 September day 167.
    assert days_overdue(DEADLINE, at(9, 1), "Asia/Shanghai") == 167


def test_a_late_report_leaves_the_hazard_overdue_until_it_is_written_off():
    state = drive([(register(), NOW), (REPORT, at(3, 21))])
    assert state.reported_at == at(3, 21) and state.escalation_index == 1
    assert state.overdue_since(at(3, 22)) == DEADLINE
    closed = drive([(register(), NOW), (REPORT, at(3, 21)), (PASSED, at(3, 23))])
    assert not closed.is_overdue(at(3, 23))


def test_a_report_made_in_time_is_not_overdue_while_it_awaits_verification():
    state = drive([(register(), NOW), (REPORT, at(3, 17))])
    assert not then(state, at(3, 20)).is_overdue(at(3, 20))
    # A verification failed after the deadline: overdue from the deadline itself.
    failed = drive([(register(), NOW), (REPORT, at(3, 17)), (FAILED, at(3, 20))])
    assert failed.rectification_missed and failed.overdue_since(at(3, 20)) == DEADLINE


def test_an_approved_extension_moves_the_rectification_deadline():
    extended_to = at(4, 30, 18)
    state = drive(
        [
            (register(), NOW),
            (RequestExtension(ENTERPRISE_ACTOR, extended_to, "设备到货延迟", "停用工位"), NOW),
            (DecideExtension(SUPERVISOR, True, "同意"), at(3, 4)),
        ]
    )
    assert state.rectification_deadline == extended_to
    assert not then(state, at(4, 1)).is_overdue(at(4, 1))
    assert then(state, at(5, 2)).overdue_since(at(5, 2)) == extended_to


def test_a_request_made_in_time_holds_overdue_off_until_it_is_decided():
    request = RequestExtension(ENTERPRISE_ACTOR, at(4, 30, 18), "设备到货延迟", "停用工位")
    waiting = then(drive([(register(), NOW), (request, NOW)]), at(3, 20))
    assert waiting.pending_extension is not None and not waiting.is_overdue(at(3, 20))
    rejected = drive(
        [
            (register(), NOW),
            (request, NOW),
            (DecideExtension(SUPERVISOR, False, "理由不充分"), at(3, 20)),
        ]
    )
    assert rejected.overdue_since(at(3, 20)) == DEADLINE


def test_a_failed_verification_before_the_deadline_sets_the_hazard_a_new_one():
    state = drive([(register(), NOW), (REPORT, at(3, 10)), (FAILED, at(3, 11))])
    assert state.deadline is not None and state.deadline > DEADLINE
    assert state.rectification_deadline == state.deadline and not state.rectification_missed
    assert not then(state, at(3, 20)).is_overdue(at(3, 20))


def test_days_overdue_count_calendar_days_in_the_policys_time_zone():
    zone = "Asia/Shanghai"
    # 24:00 on 18 March: 19 March is the first day overdue.
    assert days_overdue(DEADLINE, DEADLINE + timedelta(minutes=1), zone) == 1
    assert days_overdue(DEADLINE, at(3, 20, 23), zone) == 2
    # 18:00 on 18 March: overdue the same evening (day 1), and day 1 still on the 19th.
    evening = at(3, 18, 18)
    assert days_overdue(evening, at(3, 18, 20), zone) == 1
    assert days_overdue(evening, at(3, 19, 8), zone) == 1
    assert days_overdue(evening, at(3, 20, 8), zone) == 2
    # The day is Shanghai's, not UTC's: 01:00 on 20 March in Shanghai is 19 March in UTC.
    assert days_overdue(evening, at(3, 20, 1), zone) == 2
