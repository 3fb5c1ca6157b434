"""Property tests over random command sequences against an enterprise's credit record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.credit import (
    CreditState,
    credit_event_from_data,
    credit_event_to_data,
    credit_state_to_data,
    decide_credit,
    fold_credit,
    pending_credit_timers,
    rating_of,
)
from domain.credit.commands import (
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
    FireCreditTimer,
    OpenProceeding,
    RecordCreditEvent,
    RevokeEarlyRemoval,
)
from domain.credit.events import (
    BlacklistExpired,
    BlacklistPublished,
    CreditEvent,
    EarlyRemovalApplied,
    EarlyRemovalRevoked,
    ListingDecided,
    ProceedingNoticeIssued,
    RatingChanged,
)
from domain.errors import DomainError
from domain.policy import CreditEventKind, Policy
from tests.domain.domain_builders import (
    CALENDAR,
    DEFAULT,
    DRILL,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    LEGACY,
    NOW,
    PROPERTY_DERANDOMIZE,
    PROPERTY_EXAMPLES,
    SUPERVISOR,
    SYSTEM,
)

ACTIONS = (
    *(["record"] * 3),
    *(["fire"] * 3),
    "open",
    *(["object"] * 2),
    *(["list"] * 2),
    "not_list",
    *(["apply"] * 3),
    *(["approve"] * 3),
    "reject",
    *(["revoke"] * 2),
)
WAITS = (0, 0, 0, 1, 2, 3, 5, 9)  # many steps at once: an objection within its window
POLICIES: dict[str, tuple[Policy, timedelta]] = {
    # (policy, the unit a step waits in): the drill's periods run in minutes, the default's
    # in years, so the waits are scaled to reach objection ends, early removal and expiry.
    "drill": (DRILL, timedelta(seconds=10)),
    "default": (DEFAULT, timedelta(days=20)),
    "legacy": (LEGACY, timedelta(days=20)),
}

scenario = st.tuples(
    st.sampled_from(sorted(POLICIES)),
    st.lists(
        st.tuples(
            st.sampled_from(ACTIONS), st.sampled_from(list(CreditEventKind)), st.integers(0, 9)
        ),
        min_size=1,
        max_size=40,
    ),
)


def command_for(
    action: str, kind: CreditEventKind, state: CreditState | None, now: datetime, policy: Policy
) -> tuple[CreditCommand, datetime]:
    if action == "fire" and state is not None:
        timers = pending_credit_timers(state, policy)
        if timers:
            return FireCreditTimer(SYSTEM, timers[0].key), max(now, timers[0].due_at)
    commands: dict[str, CreditCommand] = {
        "record": RecordCreditEvent(
            SYSTEM, ENTERPRISE.credit_code, ENTERPRISE.name, f"H-{now:%j%H%M%S}", kind, now
        ),
        "fire": FireCreditTimer(SYSTEM, "expiry:none"),
        "open": OpenProceeding(SUPERVISOR, "发生较大生产安全事故", "令11号"),
        "object": FileObjection(ENTERPRISE_ACTOR, "已整改完毕"),
        "list": DecideListing(SUPERVISOR, True, "令11号"),
        "not_list": DecideListing(SUPERVISOR, False, "申辩理由成立"),
        "apply": ApplyEarlyRemoval(ENTERPRISE_ACTOR, "已完成整改和培训"),
        "approve": DecideEarlyRemoval(SUPERVISOR, True, "信用修复"),
        "reject": DecideEarlyRemoval(SUPERVISOR, False, "条件不足"),
        "revoke": RevokeEarlyRemoval(SUPERVISOR, "弄虚作假"),
    }
    return commands[action], now


Step = tuple[CreditState | None, datetime, list[CreditEvent], CreditState]


def play(case: tuple[str, list[tuple[str, CreditEventKind, int]]]) -> Iterator[Step]:
    """Yield (state before, now, events, state after) for every command the record accepts."""
    name, steps = case
    policy, unit = POLICIES[name]
    state: CreditState | None = None
    now = NOW
    for action, kind, wait in steps:
        now = now + wait * unit
        command, now = command_for(action, kind, state, now, policy)
        try:
            events = decide_credit(state, command, now, policy, CALENDAR)
        except DomainError:
            continue
        before, after = state, fold_credit(events, state)
        assert after is not None
        state = after
        yield before, now, events, after


settings.register_profile(
    "credit",
    max_examples=PROPERTY_EXAMPLES,
    derandomize=PROPERTY_DERANDOMIZE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@settings(settings.get_profile("credit"))
@given(scenario)
def test_evolve_accepts_every_credit_event_decide_produced_and_folding_is_deterministic(case):  # type: ignore[no-untyped-def]
    history: list[CreditEvent] = []
    states: list[tuple[int, CreditState]] = []
    for _, _, events, state in play(case):
        history += events
        states.append((len(history), state))
    for length, state in states:
        assert fold_credit(history[:length]) == state
    stored = [
        credit_event_from_data(e.EVENT_TYPE, e.SCHEMA_VERSION, credit_event_to_data(e))
        for e in history
    ]
    assert stored == history
    if states:
        assert credit_state_to_data(fold_credit(stored)) == credit_state_to_data(states[-1][1])


@settings(settings.get_profile("credit"))
@given(scenario)
def test_a_listing_lasts_the_list_period_and_early_removal_opens_after_its_own_period(case):  # type: ignore[no-untyped-def]
    policy, _ = POLICIES[case[0]]
    c = policy.credit
    for before, now, events, after in play(case):
        for event in events:
            if isinstance(event, BlacklistPublished):
                # Counted from the decision recorded in the same step.
                assert any(isinstance(e, ListingDecided) and e.listed for e in events)
                assert event.expires_at == c.list_period.add_to(now, CALENDAR, policy.tz)
                assert event.early_removal_from == c.early_removal_after.add_to(
                    now, CALENDAR, policy.tz
                )
                assert event.at < event.early_removal_from < event.expires_at
                if policy.edition >= 2:
                    assert event.decided_at == now and event.publish_by is not None
                    assert event.at <= event.publish_by
            if isinstance(event, EarlyRemovalApplied):
                assert before is not None and before.blacklist is not None
                assert now >= before.blacklist.early_removal_from
            if isinstance(event, EarlyRemovalRevoked):
                assert before is not None and before.blacklist is not None
                assert event.expires_at == before.blacklist.expires_at  # the original expiry
            if isinstance(event, BlacklistExpired):
                assert before is not None and before.blacklist is not None
                assert now >= before.blacklist.expires_at and not after.is_blacklisted


@settings(settings.get_profile("credit"))
@given(scenario)
def test_the_recorded_grade_is_always_the_grade_the_scheme_gives_and_d_while_listed(case):  # type: ignore[no-untyped-def]
    policy, _ = POLICIES[case[0]]
    for _, now, events, after in play(case):
        grade, _ = rating_of(after, now, policy, CALENDAR)
        assert after.rating == grade
        assert [e for e in events if isinstance(e, RatingChanged)][-1:] in ([], [events[-1]])
        if after.is_blacklisted:
            assert after.rating == policy.credit.rating.blacklisted_grade


@settings(settings.get_profile("credit"))
@given(scenario)
def test_an_edition_2_notice_always_states_reasons_basis_and_rights(case):  # type: ignore[no-untyped-def]
    policy, _ = POLICIES[case[0]]
    for _, _, events, _ in play(case):
        for event in events:
            if isinstance(event, ProceedingNoticeIssued):
                stated = (event.reasons, event.basis, event.rights)
                if policy.edition >= 2:
                    assert all(part.strip() for part in stated)
                else:
                    assert stated == ("", "", "")


@settings(settings.get_profile("credit"))
@given(scenario)
def test_at_most_one_proceeding_is_open_and_none_while_listed(case):  # type: ignore[no-untyped-def]
    for before, _, events, after in play(case):
        opened = [e for e in events if e.EVENT_TYPE == "ProceedingOpened"]
        assert len(opened) <= 1
        if opened:
            assert before is None or (before.proceeding is None and not before.is_blacklisted)
        assert after.proceedings >= (before.proceedings if before else 0)
