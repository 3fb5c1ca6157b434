"""Property tests over random command sequences against a hazard case."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.case import (
    CaseState,
    decide,
    event_from_data,
    event_to_data,
    fold,
    pending_timers,
    state_to_data,
)
from domain.case_commands import (
    CaseCommand,
    DecideExtension,
    FireTimer,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case_events import (
    CaseEscalated,
    CaseEvent,
    ExtensionApproved,
    HazardListed,
    RectificationMode,
    RectificationNoticeIssued,
    VerificationFailed,
)
from domain.errors import DomainError
from domain.policy import ListingLevel, Policy
from tests.domain.domain_builders import (
    AUDITOR,
    CALENDAR,
    COUNTY_SUPERVISOR,
    DEFAULT,
    DRILL,
    ENTERPRISE_ACTOR,
    NOW,
    PHOTO,
    PLAN,
    SUPERVISOR,
    SYSTEM,
    register,
    register_major,
)

ACTIONS = (
    *(["fire"] * 8),
    "plan",
    "report",
    "pass",
    "fail",
    "fail_with_deadline",
    "extend",
    "approve",
    "reject",
    "list_city",
    "list_province",
    "refuse",
    "withdraw",
    "wait",
)


def make_command(
    action: str, state: CaseState, now: datetime, unit: timedelta
) -> tuple[CaseCommand, datetime]:
    """A command for ``action`` and the instant it is given at."""
    if action == "fire":
        timers = pending_timers(state, POLICY_OF[unit])
        if timers:
            return FireTimer(SYSTEM, timers[0].key), max(now, timers[0].due_at)
        return FireTimer(SYSTEM, "deadline:1"), now
    later = now + 40 * unit
    commands: dict[str, CaseCommand] = {
        "plan": SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN),
        "report": ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,)),
        "pass": VerifyRectification(COUNTY_SUPERVISOR, True),
        "fail": VerifyRectification(SUPERVISOR, False, "不合格"),
        "fail_with_deadline": VerifyRectification(SUPERVISOR, False, new_deadline=later),
        "extend": RequestExtension(
            ENTERPRISE_ACTOR,
            (state.deadline or now) + 30 * unit,
            "设备到货延迟",
            "停用工位",
        ),
        "approve": DecideExtension(SUPERVISOR, True, "同意"),
        "reject": DecideExtension(SUPERVISOR, False, "理由不足"),
        "list_city": ListHazard(SUPERVISOR, ListingLevel.CITY, deadline=later),
        "list_province": ListHazard(SUPERVISOR, ListingLevel.PROVINCE),
        "refuse": RecordRefusal(SUPERVISOR, "拒不整改"),
        "withdraw": WithdrawCase(SUPERVISOR, "登记错误"),
        "wait": WithdrawCase(AUDITOR, "auditors change nothing"),
    }
    return commands[action], now


POLICY_OF: dict[timedelta, Policy] = {timedelta(seconds=1): DRILL, timedelta(days=1): DEFAULT}

scenario = st.tuples(
    st.sampled_from(sorted(POLICY_OF, key=lambda u: u.total_seconds())),
    st.sampled_from(["general", "major", "listed"]),
    st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 12)), min_size=1, max_size=30),
)

DEADLINE_SETTERS = (
    RectificationNoticeIssued,
    VerificationFailed,
    ExtensionApproved,
    CaseEscalated,
    HazardListed,
)


def start(kind: str) -> CaseCommand:
    if kind == "major":
        return register_major()
    if kind == "listed":
        return register(
            actor=SUPERVISOR, mode=RectificationMode.LISTED, listing_level=ListingLevel.COUNTY
        )
    return register()


def play(case: tuple[timedelta, str, list[tuple[str, int]]]):  # type: ignore[no-untyped-def]
    """Run a scenario; yield (state_before, now, events, state_after) for every accepted command."""
    unit, kind, steps = case
    policy = POLICY_OF[unit]
    now = NOW
    events = decide(None, start(kind), now, policy, CALENDAR)
    state = fold(events)
    assert state is not None
    yield None, now, events, state
    for action, wait in steps:
        now = now + wait * unit
        command, at = make_command(action, state, now, unit)
        now = at
        try:
            events = decide(state, command, now, policy, CALENDAR)
        except DomainError:
            continue
        before, state = state, fold(events, state)
        assert state is not None
        yield before, now, events, state


settings.register_profile(
    "domain", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@settings(settings.get_profile("domain"))
@given(scenario)
def test_evolve_accepts_every_event_that_decide_produced_and_replay_gives_the_same_state(case):  # type: ignore[no-untyped-def]
    history: list[CaseEvent] = []
    last = None
    for _, _, events, state in play(case):
        history += events
        last = state
    assert fold(history) == last
    assert fold(history) == fold(list(history))
    stored = [event_from_data(e.EVENT_TYPE, e.SCHEMA_VERSION, event_to_data(e)) for e in history]
    assert stored == history
    assert state_to_data(fold(stored)) == state_to_data(last)


@settings(settings.get_profile("domain"))
@given(scenario)
def test_the_escalation_level_never_goes_down(case):  # type: ignore[no-untyped-def]
    for before, _, _, after in play(case):
        if before is not None:
            assert after.escalation_index >= before.escalation_index
            assert after.escalation_grid_level.rank <= before.escalation_grid_level.rank


@settings(settings.get_profile("domain"))
@given(scenario)
def test_a_deadline_that_a_command_sets_is_never_in_the_past(case):  # type: ignore[no-untyped-def]
    for _, now, events, _ in play(case):
        for event in events:
            if isinstance(event, DEADLINE_SETTERS) and event.deadline is not None:
                assert event.deadline > now


@settings(settings.get_profile("domain"))
@given(scenario)
def test_a_closed_case_accepts_no_command(case):  # type: ignore[no-untyped-def]
    unit = case[0]
    for _, now, _, state in play(case):
        if state.is_open:
            continue
        assert pending_timers(state, POLICY_OF[unit]) == []
        for action in ACTIONS:
            command, at = make_command(action, state, now, unit)
            with pytest.raises(DomainError) as e:
                decide(state, command, at, POLICY_OF[unit], CALENDAR)
            assert e.value.rule in ("case.closed.no_commands", "case.auditor.read_only")
