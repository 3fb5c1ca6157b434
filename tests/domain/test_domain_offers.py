"""The actions a case offers a person now (``domain.case.offers``): what the console shows as
forms. Each offer agrees with ``decide``: an action offered is accepted with a well-formed
command, an action not offered is refused whatever its fields."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.case import CaseState, decide
from domain.case.commands import (
    Actor,
    CaseCommand,
    DecideExtension,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.offers import ActionKind, Offer, offered_actions
from domain.errors import DomainError
from domain.policy import ListingLevel
from tests.domain.domain_builders import (
    AUDITOR,
    CALENDAR,
    CITY_SUPERVISOR,
    COUNTY_SUPERVISOR,
    DEFAULT,
    ENTERPRISE_ACTOR,
    FIVE,
    INSPECTOR,
    NOW,
    OUTSIDE_SUPERVISOR,
    PHOTO,
    PLAN,
    SHANGHAI,
    TOWNSHIP_SUPERVISOR,
    register,
    register_major,
    run,
)

LATER = NOW + timedelta(hours=2)
REPORT = ReportRectification(ENTERPRISE_ACTOR, "已更换配电箱", (PHOTO,))
EXTEND = RequestExtension(
    ENTERPRISE_ACTOR,
    requested_deadline=datetime(2025, 9, 30, 18, tzinfo=SHANGHAI),
    reasons="设备到货延迟",
    interim_safeguards="停用相关工位",
)
SUPERVISORS = (TOWNSHIP_SUPERVISOR, COUNTY_SUPERVISOR, CITY_SUPERVISOR, OUTSIDE_SUPERVISOR)


def kinds(offers: tuple[Offer, ...]) -> list[ActionKind]:
    return [offer.kind for offer in offers]


def supervisor_commands(actor: Actor, state: CaseState) -> dict[ActionKind, list[CaseCommand]]:
    """A well-formed command of each supervisor action (every listing level for LIST)."""
    return {
        ActionKind.VERIFY: [VerifyRectification(actor, passed=True, comments="合格")],
        ActionKind.DECIDE_EXTENSION: [DecideExtension(actor, approve=True)],
        ActionKind.LIST: [
            ListHazard(actor, level, measures="限期整改", listing_measures=FIVE)
            for level in ListingLevel
        ],
        ActionKind.REFUSAL: [RecordRefusal(actor, "拒绝停用设备")],
        ActionKind.WITHDRAW: [WithdrawCase(actor, "登记有误")],
    }


def accepted(state: CaseState, command: CaseCommand) -> bool:
    try:
        decide(state, command, LATER, DEFAULT, CALENDAR)
    except DomainError:
        return False
    return True


def scenarios() -> dict[str, CaseState]:
    general, _ = run([(register(), NOW)])
    reported, _ = run([(register(), NOW), (REPORT, NOW + timedelta(hours=1))])
    extension, _ = run([(register(), NOW), (EXTEND, NOW + timedelta(hours=1))])
    major, _ = run([(register_major(), NOW)])
    major_reported, _ = run(
        [
            (register_major(), NOW),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW + timedelta(minutes=10)),
            (REPORT, NOW + timedelta(hours=1)),
        ]
    )
    found = {
        "general": general,
        "reported": reported,
        "extension": extension,
        "major": major,
        "major_reported": major_reported,
    }
    return {name: state for name, state in found.items() if state is not None}


@pytest.mark.parametrize("name", sorted(scenarios()))
@pytest.mark.parametrize("actor", SUPERVISORS, ids=lambda a: a.id)
def test_a_supervisor_is_offered_exactly_the_actions_decide_accepts(name: str, actor: Actor):
    state = scenarios()[name]
    offers = {offer.kind: offer for offer in offered_actions(state, actor, DEFAULT)}
    for kind, commands in supervisor_commands(actor, state).items():
        if kind is ActionKind.LIST:
            levels = [c.level for c in commands if accepted(state, c)]  # type: ignore[attr-defined]
            offered = list(offers[kind].levels) if kind in offers else []
            assert offered == levels, (name, actor.id)
            continue
        assert (kind in offers) == any(accepted(state, c) for c in commands), (name, actor.id, kind)


def test_a_report_awaiting_verification_is_offered_for_verification_to_the_supervising_unit():
    state, _ = run([(register(), NOW), (REPORT, NOW + timedelta(hours=1))])
    offers = offered_actions(state, COUNTY_SUPERVISOR, DEFAULT)
    assert kinds(offers)[0] is ActionKind.VERIFY
    assert offers[0].delists is False
    assert ActionKind.VERIFY not in kinds(offered_actions(state, OUTSIDE_SUPERVISOR, DEFAULT))


def test_a_listed_hazard_is_verified_and_delisted_by_its_listing_authority_only():
    state = scenarios()["major_reported"]
    assert state.listing is not None
    county = offered_actions(state, COUNTY_SUPERVISOR, DEFAULT)
    assert county[0] == Offer(ActionKind.VERIFY, delists=True)
    assert ActionKind.VERIFY not in kinds(offered_actions(state, TOWNSHIP_SUPERVISOR, DEFAULT))


def test_a_listing_is_offered_only_at_levels_above_the_current_one_and_within_the_actors_rank():
    general = scenarios()["general"]
    offer = next(o for o in offered_actions(general, CITY_SUPERVISOR, DEFAULT) if o.levels)
    assert offer.levels == (ListingLevel.COUNTY, ListingLevel.CITY)
    assert ActionKind.LIST not in kinds(offered_actions(general, TOWNSHIP_SUPERVISOR, DEFAULT))
    major = scenarios()["major"]  # listed at the county on registration
    offer = next(o for o in offered_actions(major, CITY_SUPERVISOR, DEFAULT) if o.levels)
    assert offer.levels == (ListingLevel.CITY,)


def test_a_pending_extension_is_offered_for_decision():
    state = scenarios()["extension"]
    assert ActionKind.DECIDE_EXTENSION in kinds(offered_actions(state, COUNTY_SUPERVISOR, DEFAULT))
    assert ActionKind.DECIDE_EXTENSION not in kinds(
        offered_actions(scenarios()["general"], COUNTY_SUPERVISOR, DEFAULT)
    )


def test_a_closed_case_offers_nothing_and_readers_are_offered_nothing():
    closed, _ = run(
        [
            (register(), NOW),
            (REPORT, NOW + timedelta(hours=1)),
            (VerifyRectification(COUNTY_SUPERVISOR, passed=True), NOW + timedelta(hours=2)),
        ]
    )
    assert closed is not None and not closed.is_open
    assert offered_actions(closed, COUNTY_SUPERVISOR, DEFAULT) == ()
    assert offered_actions(None, COUNTY_SUPERVISOR, DEFAULT) == ()
    open_case = scenarios()["reported"]
    for reader in (AUDITOR, INSPECTOR):
        assert offered_actions(open_case, reader, DEFAULT) == ()


def test_the_enterprise_is_offered_its_plan_report_and_extension_request():
    general = scenarios()["general"]
    assert kinds(offered_actions(general, ENTERPRISE_ACTOR, DEFAULT)) == [
        ActionKind.REPORT,
        ActionKind.REQUEST_EXTENSION,
    ]
    major = scenarios()["major"]
    assert kinds(offered_actions(major, ENTERPRISE_ACTOR, DEFAULT)) == [
        ActionKind.SUBMIT_PLAN,
        ActionKind.REQUEST_EXTENSION,
    ]
    assert offered_actions(scenarios()["reported"], ENTERPRISE_ACTOR, DEFAULT) == ()
