"""Property tests over random command sequences against a hazard case."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.case import (
    CaseState,
    catch_up,
    decide,
    event_from_data,
    event_to_data,
    fold,
    pending_timers,
    state_to_data,
)
from domain.case.commands import (
    Actor,
    CaseCommand,
    DecideExtension,
    FireTimer,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    Role,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.events import (
    CaseEscalated,
    CaseEvent,
    CreditTriggerRaised,
    DeadlineMissed,
    EnforcementReferred,
    ExtensionApproved,
    HazardListed,
    RectificationMode,
    RectificationNoticeIssued,
    VerificationFailed,
)
from domain.errors import DomainError
from domain.policy import CreditEventKind, ListingLevel, Policy
from tests.domain.domain_builders import (
    AUDITOR,
    CALENDAR,
    CITY_SUPERVISOR,
    DEFAULT,
    DRILL,
    ENTERPRISE_ACTOR,
    FIVE,
    LEGACY,
    NOW,
    OUTSIDE_SUPERVISOR,
    PHOTO,
    PLAN,
    PROPERTY_DERANDOMIZE,
    PROPERTY_EXAMPLES,
    PROVINCE_SUPERVISOR,
    SUPERVISOR,
    SYSTEM,
    TOWNSHIP_SUPERVISOR,
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
    "outsider_verifies",
    "township_lists_city",
)


def authority_of(state: CaseState) -> Actor:
    """The supervisor who may verify: the listing authority, else the supervising unit."""
    unit = state.listing.authority_unit_code if state.listing else state.supervising_unit_code
    return Actor(f"sup-{unit}", Role.SUPERVISOR, unit_code=unit)


def make_command(
    action: str, state: CaseState, now: datetime, policy: Policy
) -> tuple[CaseCommand, datetime]:
    """A command for ``action`` and the instant it is given at."""
    unit = UNIT_OF[policy.name]
    if action == "fire":
        timers = pending_timers(state, policy, CALENDAR, now)
        if timers:
            return FireTimer(SYSTEM, timers[0].key), max(now, timers[0].due_at)
        return FireTimer(SYSTEM, "deadline:1"), now
    later = now + 40 * unit
    verifier = authority_of(state)
    commands: dict[str, CaseCommand] = {
        "plan": SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN),
        "report": ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,)),
        "pass": VerifyRectification(verifier, True),
        "fail": VerifyRectification(verifier, False, "不合格"),
        "fail_with_deadline": VerifyRectification(verifier, False, new_deadline=later),
        "extend": RequestExtension(
            ENTERPRISE_ACTOR,
            (state.deadline or now) + 30 * unit,
            "设备到货延迟",
            "停用工位",
        ),
        "approve": DecideExtension(verifier, True, "同意"),
        "reject": DecideExtension(verifier, False, "理由不足"),
        "list_city": ListHazard(
            CITY_SUPERVISOR, ListingLevel.CITY, deadline=later, listing_measures=FIVE
        ),
        "list_province": ListHazard(
            PROVINCE_SUPERVISOR, ListingLevel.PROVINCE, listing_measures=FIVE
        ),
        "refuse": RecordRefusal(SUPERVISOR, "拒不整改"),
        "withdraw": WithdrawCase(SUPERVISOR, "登记错误"),
        "wait": WithdrawCase(AUDITOR, "auditors change nothing"),
        "outsider_verifies": VerifyRectification(OUTSIDE_SUPERVISOR, True),
        "township_lists_city": ListHazard(
            TOWNSHIP_SUPERVISOR, ListingLevel.CITY, listing_measures=FIVE
        ),
    }
    return commands[action], now


POLICIES: dict[str, Policy] = {"drill": DRILL, "default": DEFAULT, "legacy": LEGACY}
UNIT_OF = {
    DRILL.name: timedelta(seconds=1),
    DEFAULT.name: timedelta(days=1),
}
assert LEGACY.name == DEFAULT.name  # the same numbers, written before edition 2

scenario = st.tuples(
    st.sampled_from(sorted(POLICIES)),
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
            actor=SUPERVISOR,
            mode=RectificationMode.LISTED,
            listing_level=ListingLevel.COUNTY,
            listing_measures=FIVE,
        )
    return register()


def play(case: tuple[str, str, list[tuple[str, int]]]):  # type: ignore[no-untyped-def]
    """Run a scenario; yield (state_before, now, events, state_after) for every accepted command."""
    name, kind, steps = case
    policy = POLICIES[name]
    unit = UNIT_OF[policy.name]
    now = NOW
    events = decide(None, start(kind), now, policy, CALENDAR)
    state = fold(events)
    assert state is not None
    yield None, now, events, state
    for action, wait in steps:
        now = now + wait * unit
        if action != "fire":  # as the workflow does: timers that fell due are decided first
            caught_up, fired = catch_up(state, now, policy, CALENDAR)
            if fired:
                assert caught_up is not None
                before, state = state, caught_up
                yield before, now, fired, state
        command, at = make_command(action, state, now, policy)
        now = at
        try:
            events = decide(state, command, now, policy, CALENDAR)
        except DomainError:
            continue
        before, state = state, fold(events, state)
        assert state is not None
        yield before, now, events, state


settings.register_profile(
    "domain",
    max_examples=PROPERTY_EXAMPLES,
    derandomize=PROPERTY_DERANDOMIZE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@settings(settings.get_profile("domain"))
@given(scenario)
def test_evolve_accepts_every_event_that_decide_produced_and_replay_gives_the_same_state(case):  # type: ignore[no-untyped-def]
    history: list[CaseEvent] = []
    states: list[tuple[int, CaseState]] = []
    for _, _, events, state in play(case):
        history += events
        states.append((len(history), state))
    # Folding every prefix of the stored history gives the state the case had at that point.
    for length, state in states:
        assert fold(history[:length]) == state
    stored = [event_from_data(e.EVENT_TYPE, e.SCHEMA_VERSION, event_to_data(e)) for e in history]
    assert stored == history
    assert state_to_data(fold(stored)) == state_to_data(states[-1][1])


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
            if isinstance(event, VerificationFailed) and event.counts_as_missed:
                continue  # names the deadline it missed; the escalation after it sets the next
            if isinstance(event, DEADLINE_SETTERS) and event.deadline is not None:
                assert event.deadline > now


@settings(settings.get_profile("domain"))
@given(scenario)
def test_a_failure_after_the_deadline_is_always_that_deadline_missed(case):  # type: ignore[no-untyped-def]
    for before, now, events, _ in play(case):
        for i, event in enumerate(events):
            if isinstance(event, VerificationFailed) and event.counts_as_missed:
                assert before is not None and before.deadline is not None
                assert now >= before.deadline
                missed = events[i + 1]
                assert isinstance(missed, DeadlineMissed)
                assert missed.deadline_no == before.deadline_no


@settings(settings.get_profile("domain"))
@given(scenario)
def test_an_edition_2_case_is_referred_once_and_counts_each_ground_once(case):  # type: ignore[no-untyped-def]
    if POLICIES[case[0]].edition < 2:
        return
    history = [e for _, _, events, _ in play(case) for e in events]
    assert sum(isinstance(e, EnforcementReferred) for e in history) <= 1
    kinds = [
        e.kind
        for e in history
        if isinstance(e, CreditTriggerRaised) and e.kind is not CreditEventKind.ESCALATION
    ]
    assert len(kinds) == len(set(kinds))
    referrals = sum(isinstance(e, EnforcementReferred) for e in history)
    assert kinds.count(CreditEventKind.ENFORCEMENT_REFERRAL) == referrals


@settings(settings.get_profile("domain"))
@given(scenario)
def test_no_deadline_of_a_listed_edition_2_case_passes_the_listing_maximum(case):  # type: ignore[no-untyped-def]
    policy = POLICIES[case[0]]
    if policy.edition < 2:
        return
    for _, _, _, state in play(case):
        if state.listing is not None and state.deadline is not None:
            start = state.listing.period_start
            limit = policy.listing.max_duration.add_as_period(start, CALENDAR, policy.tz)
            assert state.deadline <= limit


@settings(settings.get_profile("domain"))
@given(scenario)
def test_a_closed_case_accepts_no_command(case):  # type: ignore[no-untyped-def]
    policy = POLICIES[case[0]]
    for _, now, _, state in play(case):
        if state.is_open:
            continue
        assert pending_timers(state, policy) == []
        for action in ACTIONS:
            command, at = make_command(action, state, now, policy)
            with pytest.raises(DomainError) as e:
                decide(state, command, at, policy, CALENDAR)
            assert e.value.rule in ("case.closed.no_commands", "case.auditor.read_only")
