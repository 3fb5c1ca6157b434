"""Self-inspection (企业自查自改, edition 5), given / when / then: an enterprise registers what it
found itself within the policy's limits; a general hazard it rectified itself is written off on
its own report; a major one awaits its supervising unit's acceptance (受理), alerted up the grid
until accepted; a policy of edition 4 keeps the rules its cases were recorded under."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from domain.case import decide, due_timers, fold, pending_timers
from domain.case.codec import event_from_data, event_to_data, state_from_data, state_to_data
from domain.case.commands import (
    AcceptSelfReport,
    FireTimer,
    ReportRectification,
    SubmitGovernancePlan,
    VerifyRectification,
)
from domain.case.events import (
    CaseClosed,
    CloseBasis,
    HazardRegistered,
    HazardSource,
    RectificationMode,
    SelfReportAcceptanceOverdue,
    SelfReportAwaitingAcceptance,
)
from domain.errors import DomainError, PolicyError
from domain.policy import Policy
from tests.domain.domain_builders import (
    CALENDAR,
    CITY,
    COUNTY,
    COUNTY_SUPERVISOR,
    DEFAULT,
    EDITION_4,
    ENTERPRISE_ACTOR,
    NOW,
    PHOTO,
    PLAN,
    PROVINCE,
    SYSTEM,
    TOWNSHIP_SUPERVISOR,
    edition_3,
    register,
    register_major,
    run,
    types,
)

REPORT = ReportRectification(ENTERPRISE_ACTOR, "已更换配电箱", (PHOTO,))


def self_found(**overrides):  # type: ignore[no-untyped-def]
    values = {
        "actor": ENTERPRISE_ACTOR,
        "source": HazardSource.SELF_INSPECTION,
        "found_by": ENTERPRISE_ACTOR.id,
        "deadline": NOW + timedelta(days=10),
    }
    return register(**(values | overrides))


def self_found_major(**overrides):  # type: ignore[no-untyped-def]
    values = {
        "actor": ENTERPRISE_ACTOR,
        "source": HazardSource.SELF_INSPECTION,
        "found_by": ENTERPRISE_ACTOR.id,
        "mode": RectificationMode.DEADLINE,
        "deadline": NOW + timedelta(days=60),
    }
    return register_major(**(values | overrides))


def refused_rule(commands, policy=DEFAULT) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as e:
        run(commands, policy)
    return e.value.rule


# --- registration ------------------------------------------------------------------------------


def test_given_edition_5_an_enterprises_own_registration_is_marked_self_reported():
    state, events = run([(self_found(), NOW)])
    assert state is not None and state.self_reported and state.is_open
    registered = events[0]
    assert isinstance(registered, HazardRegistered) and registered.self_reported
    assert types(events) == ["HazardRegistered", "RectificationNoticeIssued"]


def test_given_an_inspector_registers_a_self_inspection_finding_then_it_is_not_self_reported():
    state, events = run([(register(source=HazardSource.SELF_INSPECTION), NOW)])
    assert state is not None and not state.self_reported
    assert "self_reported" not in event_to_data(events[0]), "recorded as before edition 5"


def test_when_an_enterprise_registers_what_an_inspector_found_then_it_is_refused():
    rule = refused_rule([(self_found(source=HazardSource.GRID_PATROL), NOW)])
    assert rule == "case.register.role"


def test_when_the_enterprise_states_no_measures_then_the_registration_is_refused():
    assert refused_rule([(self_found(measures=" "), NOW)]) in {
        "case.notice.measures_required",
        "case.self_inspection.measures_required",
    }
    drill_like = Policy.from_data({**DEFAULT.to_data(), "notice": None} | {})
    assert (
        refused_rule([(self_found(measures=""), NOW)], drill_like)
        == "case.self_inspection.measures_required"
    )


def test_when_the_enterprise_sets_no_deadline_then_the_registration_is_refused():
    assert (
        refused_rule([(self_found(deadline=None), NOW)]) == "case.self_inspection.deadline_required"
    )


def test_when_a_general_deadline_lies_beyond_the_policys_maximum_then_it_is_refused():
    # max_general_period = P30D
    state, _ = run([(self_found(deadline=NOW + timedelta(days=30)), NOW)])
    assert state is not None
    rule = refused_rule([(self_found(deadline=NOW + timedelta(days=30, seconds=1)), NOW)])
    assert rule == "case.self_inspection.deadline_exceeds_max"


def test_when_an_enterprise_rectifies_on_the_spot_then_the_case_closes_at_once_without_a_deadline():
    state, events = run([(self_found(mode=RectificationMode.IMMEDIATE, deadline=None), NOW)])
    assert state is not None and state.closed
    assert events[-1] == CaseClosed(basis=CloseBasis.IMMEDIATE, at=events[-1].at)


def test_when_an_enterprise_asks_to_list_its_own_hazard_then_it_is_refused():
    from domain.policy import ListingLevel

    cmd = self_found(mode=RectificationMode.LISTED, listing_level=ListingLevel.COUNTY)
    assert refused_rule([(cmd, NOW)]) == "case.list.supervisor_only"


# --- a general hazard closes on its own report ------------------------------------------------


def test_given_a_self_reported_general_hazard_its_own_report_with_evidence_writes_it_off():
    state, events = run([(self_found(), NOW), (REPORT, NOW + timedelta(days=2))])
    assert state is not None and state.closed
    assert types(events)[-2:] == ["RectificationReported", "CaseClosed"]
    closed = events[-1]
    assert isinstance(closed, CaseClosed) and closed.basis is CloseBasis.SELF_RECTIFIED


def test_given_a_self_reported_general_hazard_a_report_without_evidence_is_refused():
    no_evidence = replace(REPORT, evidence=())
    rule = refused_rule([(self_found(), NOW), (no_evidence, NOW + timedelta(days=1))])
    assert rule == "case.report.evidence_required"


def test_given_an_inspector_found_hazard_the_enterprises_report_awaits_verification():
    state, events = run([(register(), NOW), (REPORT, NOW + timedelta(days=2))])
    assert state is not None and state.is_open and state.reported_at is not None
    assert types(events)[-1] == "RectificationReported"


def test_given_a_self_reported_hazard_escalated_its_report_awaits_verification():
    state, history = run([(self_found(deadline=NOW + timedelta(days=1)), NOW)])
    later = NOW + timedelta(days=2)
    while due := due_timers(state, later, DEFAULT, CALENDAR):
        fired = decide(state, FireTimer(SYSTEM, due[0].key), later, DEFAULT, CALENDAR)
        history += fired
        state = fold(fired, state)
    assert state is not None and state.escalation_index == 1
    events = decide(state, REPORT, later, DEFAULT, CALENDAR)
    assert types(events) == ["RectificationReported"], "escalated: supervision verifies"


def test_given_edition_4_the_enterprises_own_general_hazard_awaits_verification():
    state, events = run([(self_found(), NOW), (REPORT, NOW + timedelta(days=2))], EDITION_4)
    assert state is not None and state.is_open and not state.self_reported
    assert types(events)[-1] == "RectificationReported"
    assert "self_reported" not in event_to_data(events[0])


# --- a major hazard awaits acceptance ----------------------------------------------------------


def test_given_a_self_reported_major_hazard_then_it_awaits_its_listing_authoritys_acceptance():
    state, events = run([(self_found_major(), NOW)])
    assert state is not None and state.acceptance_pending is not None
    awaiting = events[-1]
    assert isinstance(awaiting, SelfReportAwaitingAcceptance)
    assert awaiting.unit_code == COUNTY.code  # listing.major_level = county
    assert awaiting.accept_by == NOW + timedelta(days=3)  # accept_within = P3D
    assert "HazardListed" in types(events), "a major hazard is listed as every major hazard"


def test_when_the_county_accepts_then_the_acceptance_is_recorded_and_its_timer_stops():
    state, events = run(
        [(self_found_major(), NOW), (AcceptSelfReport(COUNTY_SUPERVISOR, "已受理"), NOW)]
    )
    assert state is not None and state.acceptance_pending is None
    assert types(events)[-1] == "SelfReportAccepted"
    assert not [t for t in pending_timers(state, DEFAULT, CALENDAR) if t.kind == "acceptance"]


def test_when_a_unit_below_the_accepting_unit_accepts_then_it_is_refused():
    rule = refused_rule([(self_found_major(), NOW), (AcceptSelfReport(TOWNSHIP_SUPERVISOR), NOW)])
    assert rule == "case.self_report.acceptance_unit"


def test_when_an_enterprise_accepts_its_own_report_then_it_is_refused():
    rule = refused_rule([(self_found_major(), NOW), (AcceptSelfReport(ENTERPRISE_ACTOR), NOW)])
    assert rule == "case.self_report.supervisor_only"


def test_when_a_case_awaiting_no_acceptance_is_accepted_then_it_is_refused():
    rule = refused_rule([(register_major(), NOW), (AcceptSelfReport(COUNTY_SUPERVISOR), NOW)])
    assert rule == "case.self_report.not_awaiting_acceptance"


def test_given_an_unaccepted_major_hazard_when_verified_then_it_is_refused_until_accepted():
    steps = [
        (self_found_major(), NOW),
        (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW + timedelta(hours=1)),
        (REPORT, NOW + timedelta(hours=2)),
    ]
    state, _ = run(steps)
    assert state is not None and state.is_open, "a major hazard never closes on its own report"
    verify = VerifyRectification(COUNTY_SUPERVISOR, passed=True)
    with pytest.raises(DomainError) as e:
        decide(state, verify, NOW + timedelta(hours=3), DEFAULT, CALENDAR)
    assert e.value.rule == "case.self_report.awaiting_acceptance"
    accepted = fold(
        decide(
            state, AcceptSelfReport(COUNTY_SUPERVISOR), NOW + timedelta(hours=3), DEFAULT, CALENDAR
        ),
        state,
    )
    events = decide(accepted, verify, NOW + timedelta(hours=4), DEFAULT, CALENDAR)
    assert "CaseClosed" in types(events)


def test_given_nobody_accepts_then_alerts_go_one_grid_level_further_up_every_accept_within():
    state, _ = run([(self_found_major(), NOW)])
    alerts: list[SelfReportAcceptanceOverdue] = []
    later = NOW + timedelta(days=13)
    while due := [t for t in due_timers(state, later, DEFAULT, CALENDAR) if t.kind == "acceptance"]:
        fired = decide(state, FireTimer(SYSTEM, due[0].key), due[0].due_at, DEFAULT, CALENDAR)
        alerts += [e for e in fired if isinstance(e, SelfReportAcceptanceOverdue)]
        state = fold(fired, state)
    assert [a.alert_no for a in alerts] == [1, 2, 3, 4]
    assert [a.at - NOW for a in alerts] == [timedelta(days=d) for d in (3, 6, 9, 12)]
    assert [a.alerted_unit_code for a in alerts] == [
        COUNTY.code,
        CITY.code,
        PROVINCE.code,
        PROVINCE.code,
    ]


def test_an_acceptance_alert_is_not_fired_before_it_is_due():
    state, _ = run([(self_found_major(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, FireTimer(SYSTEM, "acceptance:1"), NOW + timedelta(days=2), DEFAULT, CALENDAR)
    assert e.value.rule == "case.timer.not_due"


def test_given_edition_4_a_self_reported_major_hazard_awaits_no_acceptance():
    state, events = run([(self_found_major(deadline=None), NOW)], EDITION_4)
    assert state is not None and state.acceptance_pending is None
    assert "SelfReportAwaitingAcceptance" not in types(events)


def test_the_new_events_and_state_read_back_as_written():
    _, events = run([(self_found_major(), NOW), (AcceptSelfReport(COUNTY_SUPERVISOR, "ok"), NOW)])
    for event in events:
        assert event_from_data(event.EVENT_TYPE, 1, event_to_data(event)) == event
    pending, _ = run([(self_found_major(), NOW)])
    assert state_from_data(state_to_data(pending)) == pending


# --- the policy ----------------------------------------------------------------------------------


def test_edition_5_needs_the_self_inspection_section():
    data = DEFAULT.to_data()
    data.pop("self_inspection")
    with pytest.raises(PolicyError) as e:
        Policy.from_data(data)
    assert e.value.rule == "policy.self_inspection_required"
    assert edition_3(DEFAULT).edition == 3, "earlier editions ignore the section"


def test_the_acceptance_period_is_a_calendar_duration():
    data = DEFAULT.to_data()
    data["self_inspection"]["accept_within"] = "P3WD"
    with pytest.raises(PolicyError) as e:
        Policy.from_data(data)
    assert e.value.rule == "policy.self_inspection_calendar"
