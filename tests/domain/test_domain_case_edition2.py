"""Given events, when a command, then events — the rules that came with policy edition 2, each
checked against edition 1 where running cases depend on the old behaviour."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.case import (
    CaseState,
    CaseStatus,
    catch_up,
    decide,
    fold,
    notifications_for,
    pending_timers,
    rung_measures,
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
    ExtensionDecisionOverdue,
    HazardListed,
    ListingPublished,
    PublicationKind,
    RectificationMode,
    ReferralGround,
    VerificationFailed,
)
from domain.errors import DomainError
from domain.grid import GridLevel
from domain.policy import CreditEventKind, ListingLevel
from tests.domain.domain_builders import (
    CALENDAR,
    CITY,
    CITY_SUPERVISOR,
    COUNTY_SUPERVISOR,
    DEFAULT,
    DRILL,
    EDITION_3,
    ENTERPRISE_ACTOR,
    FIVE,
    INSPECTOR,
    LEGACY,
    NOW,
    OUTSIDE_SUPERVISOR,
    PHOTO,
    PLAN,
    PROVINCE_SUPERVISOR,
    SHANGHAI,
    SUPERVISOR,
    SYSTEM,
    TOWNSHIP,
    TOWNSHIP_SUPERVISOR,
    UNITLESS_SUPERVISOR,
    VILLAGE,
    VILLAGE_SUPERVISOR,
    register,
    register_major,
    run,
    types,
)

REPORT = ReportRectification(ENTERPRISE_ACTOR, "已更换配电箱", (PHOTO,))
# The general case's first deadline: P15D from Monday 3 March 09:00 ends at 24:00 on Tuesday 18.
GENERAL_DEADLINE = datetime(2025, 3, 19, tzinfo=SHANGHAI)


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def extend(deadline: datetime) -> RequestExtension:
    return RequestExtension(ENTERPRISE_ACTOR, deadline, "设备到货延迟", "停用相关工位, 专人值守")


def step(
    state: CaseState | None, command: CaseCommand, now: datetime, policy=DEFAULT
) -> tuple[CaseState, list[CaseEvent]]:  # type: ignore[no-untyped-def]
    events = decide(state, command, now, policy, CALENDAR)
    after = fold(events, state)
    assert after is not None
    return after, events


def fire_due(state: CaseState, now: datetime, policy=DEFAULT) -> tuple[CaseState, list[CaseEvent]]:  # type: ignore[no-untyped-def]
    after, events = catch_up(state, now, policy, CALENDAR)
    assert after is not None
    return after, events


def rule(excinfo: pytest.ExceptionInfo[DomainError]) -> str:
    return excinfo.value.rule


# --- 1. extensions of cases that are not listed ----------------------------------------------


def test_a_general_case_may_ask_for_an_extension_until_three_working_days_before_its_deadline():
    state, _ = run([(register(), NOW)])
    assert state is not None and state.deadline == GENERAL_DEADLINE
    # The deadline closes Tuesday 18 March, a working day: with 17, 16… counted back, 14, 17
    # and 18 March are the three working days, so the cut-off is 24:00 on Thursday 13 March.
    last_ok = at(2025, 3, 13, 23, 59)
    too_late = at(2025, 3, 14, 0, 0)
    wanted = at(2025, 3, 31, 18)
    events = decide(state, extend(wanted), last_ok, DEFAULT, CALENDAR)
    assert types(events) == ["ExtensionRequested"]
    # Decided within 2 working days: 14 and 17 March → 24:00 on 17 March, before the deadline.
    assert events[0].decide_by == at(2025, 3, 18, 0)  # type: ignore[attr-defined]
    with pytest.raises(DomainError) as e:
        decide(state, extend(wanted), too_late, DEFAULT, CALENDAR)
    assert rule(e) == "case.extension.too_late"
    assert "P3WD" in e.value.message and "not listed" in e.value.message
    approved, events = step(fold(events, state), DecideExtension(SUPERVISOR, True, "同意"), last_ok)
    assert isinstance(events[0], ExtensionApproved) and approved.deadline == wanted
    assert [t.key for t in pending_timers(approved, DEFAULT)][-1] == "deadline:2"


def test_a_listed_case_keeps_the_twenty_working_days_of_qingdao():
    state, _ = run([(register_major(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, extend(at(2025, 9, 30)), at(2025, 5, 2), DEFAULT, CALENDAR)
    assert rule(e) == "case.extension.too_late" and "P20WD" in e.value.message


def test_under_edition_1_the_twenty_working_days_apply_to_every_case():
    state, _ = run([(register(), NOW)], policy=LEGACY)
    with pytest.raises(DomainError) as e:
        decide(state, extend(at(2025, 3, 31)), NOW, LEGACY, CALENDAR)
    assert rule(e) == "case.extension.too_late" and "P20WD" in e.value.message


def test_a_working_day_cut_off_before_a_saturday_deadline_leaves_the_full_count():
    # A supervisor's deadline at 24:00 on Saturday 15 March: Friday 14 is the first of the three
    # working days before it, so the cut-off is 24:00 on Tuesday 11 March (not Wednesday).
    saturday_end = at(2025, 3, 16, 0)
    state, _ = run([(register(deadline=saturday_end), NOW)])
    assert decide(state, extend(at(2025, 3, 31)), at(2025, 3, 11, 23, 59), DEFAULT, CALENDAR)
    with pytest.raises(DomainError) as e:
        decide(state, extend(at(2025, 3, 31)), at(2025, 3, 12, 0, 1), DEFAULT, CALENDAR)
    assert rule(e) == "case.extension.too_late"
    # Edition 1 counted the Saturday itself and let the request through a day later.
    legacy, _ = run([(register(deadline=saturday_end), NOW)], policy=LEGACY)
    wide = replace(LEGACY.extension, request_before=DEFAULT.extension.unlisted.request_before)  # type: ignore[union-attr]
    loose = replace(LEGACY, extension=wide)
    assert decide(legacy, extend(at(2025, 3, 31)), at(2025, 3, 12, 12), loose, CALENDAR)


# --- 2. the extension decision has its own deadline ------------------------------------------


def requested_case() -> tuple[CaseState, datetime]:
    """A general case whose enterprise asked on 3 March for an extension to 30 April."""
    state, _ = run([(register(), NOW), (extend(at(2025, 4, 30)), NOW)])
    assert state is not None and state.pending_extension is not None
    return state, state.pending_extension.decide_by


def test_an_undecided_extension_alerts_the_deciding_unit_and_the_level_above_at_decide_by():
    state, decide_by = requested_case()
    assert decide_by == at(2025, 3, 6, 0)  # 2 working days: 24:00 on Wednesday 5 March
    timers = {t.key: t for t in pending_timers(state, DEFAULT)}
    assert timers["decision:1"].due_at == decide_by and timers["decision:1"].kind == (
        "extension_decision"
    )
    assert "deadline:1" not in timers  # the deadline waits for the decision
    with pytest.raises(DomainError) as e:
        decide(
            state,
            FireTimer(SYSTEM, "decision:1"),
            decide_by - timedelta(seconds=1),
            DEFAULT,
            CALENDAR,
        )
    assert rule(e) == "case.timer.not_due"
    after, events = step(state, FireTimer(SYSTEM, "decision:1"), decide_by)
    assert types(events) == ["ExtensionDecisionOverdue"]
    overdue = events[0]
    assert isinstance(overdue, ExtensionDecisionOverdue)
    assert overdue.deciding_unit_code == VILLAGE.code
    told = {(n.recipient_id, n.reason) for n in notifications_for(state, overdue)}
    assert told == {
        (VILLAGE.responsible_person, "extension_decision_overdue"),
        (TOWNSHIP.responsible_person, "extension_decision_overdue"),
    }
    assert "decision:1" not in [t.key for t in pending_timers(after, DEFAULT)]


def test_a_late_decision_still_grants_the_extension_and_the_deadline_waited_for_it():
    state, decide_by = requested_case()
    state, _ = fire_due(state, decide_by)
    # No decision until after the original deadline: the deadline did not fall due meanwhile.
    late = at(2025, 3, 20)
    state, events = fire_due(state, late)
    assert "DeadlineMissed" not in types(events)
    after, events = step(state, DecideExtension(SUPERVISOR, True, "同意, 审批超时"), late)
    assert types(events) == ["ExtensionApproved"]
    assert after.deadline == at(2025, 4, 30) and after.escalation_index == 0


def test_a_rejection_after_the_deadline_counts_as_the_deadline_missed_at_that_moment():
    state, _ = requested_case()
    late = at(2025, 3, 20)
    state, _ = fire_due(state, late)
    after, events = step(state, DecideExtension(SUPERVISOR, False, "理由不足"), late)
    assert types(events) == [
        "ExtensionRejected",
        "DeadlineMissed",
        "CaseEscalated",
        "CreditTriggerRaised",
    ]
    missed = events[1]
    assert isinstance(missed, DeadlineMissed) and missed.deadline == GENERAL_DEADLINE
    assert not missed.extension_lapsed
    assert after.supervising_level is GridLevel.TOWNSHIP
    # A rejection in time leaves the deadline running.
    timely, events = step(requested_case()[0], DecideExtension(SUPERVISOR, False, "不同意"), NOW)
    assert types(events) == ["ExtensionRejected"]
    assert "deadline:1" in [t.key for t in pending_timers(timely, DEFAULT)]


# --- 3. a report does not hold the deadline off for ever ---------------------------------------


def reported_case(reported_at: datetime) -> CaseState:
    state, _ = run([(register(), NOW), (REPORT, reported_at)])
    assert state is not None
    return state


def test_a_failed_verification_after_the_deadline_escalates_as_the_deadline_timer_would():
    state = reported_case(at(2025, 3, 10))
    fail_at = at(2025, 3, 25)
    state, overdue = fire_due(state, fail_at)  # the review window (10 days) ran out first
    assert types(overdue) == ["VerificationOverdue"]
    after, events = step(state, VerifyRectification(SUPERVISOR, False, "未整改到位"), fail_at)
    assert types(events) == [
        "VerificationFailed",
        "DeadlineMissed",
        "CaseEscalated",
        "CreditTriggerRaised",
    ]
    failed, missed, escalated = events[0], events[1], events[2]
    assert isinstance(failed, VerificationFailed) and failed.counts_as_missed
    assert (failed.deadline, failed.deadline_no) == (GENERAL_DEADLINE, 1)
    assert isinstance(missed, DeadlineMissed)
    assert (missed.timer_key, missed.deadline, missed.deadline_no) == (
        "deadline:1",
        GENERAL_DEADLINE,
        1,
    )
    # The same rung, unit, steps and deadline as the deadline timer firing at that moment.
    unreported, _ = run([(register(), NOW)])
    by_timer = decide(unreported, FireTimer(SYSTEM, "deadline:1"), fail_at, DEFAULT, CALENDAR)
    assert escalated == by_timer[1]
    assert isinstance(escalated, CaseEscalated) and escalated.unit_code == TOWNSHIP.code
    assert after.status is CaseStatus.ESCALATED and after.verifications_failed == 1
    told = [
        (n.recipient_id, n.reason) for n in notifications_for(fold(events[:2], state), escalated)
    ]
    assert (TOWNSHIP.responsible_person, "case_escalated:supervision_letter") in told


def test_report_then_fail_cycles_climb_the_ladder_to_referral_and_credit():
    state, _ = run([(register(), NOW)])
    assert state is not None
    moments = []
    while state.is_open and not state.referred:
        assert state.deadline is not None
        moments.append(state.deadline)
        state, _ = fire_due(state, state.deadline - timedelta(hours=1))
        state, _ = step(state, REPORT, state.deadline - timedelta(hours=1))  # type: ignore[operator]
        state, _ = fire_due(state, state.deadline + timedelta(hours=1))  # type: ignore[operator]
        state, events = step(
            state,
            VerifyRectification(_authority(state), False, "仍不合格"),
            state.deadline + timedelta(hours=1),
        )  # type: ignore[operator]
        assert types(events)[:2] == ["VerificationFailed", "DeadlineMissed"]
    # Five deadlines, each missed through a failed verification: four rungs, then referral.
    assert state.referred and state.verifications_failed == 5 and len(moments) == 5
    assert state.supervising_level is GridLevel.PROVINCE and state.escalation_index == 4
    assert CreditEventKind.OVERDUE_AT_TOP in state.raised_credit_kinds


def _authority(state: CaseState) -> Actor:
    """The supervisor who verifies: the listing authority, else the supervising unit."""
    unit = state.listing.authority_unit_code if state.listing else state.supervising_unit_code
    return Actor("sup-auth", Role.SUPERVISOR, unit_code=unit)


def test_a_failure_before_the_deadline_gets_the_supervisors_deadline_at_the_same_level():
    state = reported_case(at(2025, 3, 10))
    wanted = at(2025, 3, 28, 18)
    after, events = step(
        state, VerifyRectification(SUPERVISOR, False, "接地线未连接", wanted), at(2025, 3, 12)
    )
    assert types(events) == ["VerificationFailed"]
    assert after.deadline == wanted and after.escalation_index == 0


def test_a_late_failure_refuses_a_deadline_from_the_supervisor():
    state, _ = fire_due(reported_case(at(2025, 3, 10)), at(2025, 3, 25))
    cmd = VerifyRectification(SUPERVISOR, False, "x", new_deadline=at(2025, 4, 30))
    with pytest.raises(DomainError) as e:
        decide(state, cmd, at(2025, 3, 25), DEFAULT, CALENDAR)
    assert rule(e) == "case.verify.late_failure_follows_ladder" and e.value.field == "new_deadline"


def test_under_edition_1_a_late_failure_gets_a_rework_deadline_at_the_same_level():
    state, _ = run([(register(), NOW), (REPORT, at(2025, 3, 10))], policy=LEGACY)
    events = decide(
        state, VerifyRectification(SUPERVISOR, False), at(2025, 3, 25), LEGACY, CALENDAR
    )
    assert types(events) == ["VerificationFailed"]
    assert events[0].deadline == at(2025, 4, 9)  # type: ignore[attr-defined]


def test_a_command_is_refused_while_a_timer_is_due_until_the_timer_has_fired():
    # Under edition 3 (the rule below is edition 3's; edition 4 records the lapse instead).
    state, _ = run([(register(), NOW)], policy=EDITION_3)
    just_after = GENERAL_DEADLINE + timedelta(seconds=1)
    before = GENERAL_DEADLINE - timedelta(hours=1)
    with pytest.raises(DomainError) as e:
        decide(state, REPORT, before, EDITION_3, CALENDAR)
    # The earliest due timer is named: the reminders come before the deadline itself…
    assert rule(e) == "case.timer.due_first" and "reminder:1:P3D" in e.value.message
    with pytest.raises(DomainError) as e:
        decide(state, REPORT, just_after, EDITION_3, CALENDAR)
    # …unless the deadline has passed: then its reminders are no longer due.
    assert rule(e) == "case.timer.due_first" and "deadline:1" in e.value.message
    state, fired = fire_due(state, just_after, EDITION_3)
    assert types(fired)[-3:] == ["DeadlineMissed", "CaseEscalated", "CreditTriggerRaised"]
    events = decide(state, REPORT, just_after, EDITION_3, CALENDAR)
    assert types(events) == ["RectificationReported"]
    # Edition 4: the reminders that never went out are recorded as lapsed first.
    current, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(current, REPORT, just_after, DEFAULT, CALENDAR)
    assert rule(e) == "case.timer.due_first" and "reminder:1:P3D" in e.value.message
    current, fired = fire_due(current, just_after)
    assert types(fired)[:3] == ["ReminderLapsed", "ReminderLapsed", "DeadlineMissed"]
    # Edition 1 decided against the state as given (recorded cases replay so).
    legacy, _ = run([(register(), NOW)], policy=LEGACY)
    assert types(decide(legacy, REPORT, just_after, LEGACY, CALENDAR)) == ["RectificationReported"]


def test_catch_up_fires_every_due_timer_in_order_and_stops_at_a_closed_case():
    state, _ = run([(register(), NOW)])
    assert catch_up(state, NOW, DEFAULT, CALENDAR) == (state, [])
    reminded, events = fire_due(state, GENERAL_DEADLINE - timedelta(seconds=1))
    assert types(events) == ["ReminderDue", "ReminderDue"]
    after, events = fire_due(reminded, GENERAL_DEADLINE)
    assert types(events) == ["DeadlineMissed", "CaseEscalated", "CreditTriggerRaised"]
    assert after.escalation_index == 1
    closed, _ = run([(register(mode=RectificationMode.IMMEDIATE), NOW)])
    assert catch_up(closed, NOW + timedelta(days=400), DEFAULT, CALENDAR) == (closed, [])


# --- 4. the listing maximum bounds every deadline ----------------------------------------------

# A major hazard listed on 3 March 2025: the year ends at 24:00 on Tuesday 3 March 2026.
LISTING_LIMIT = at(2026, 3, 4, 0)


def listed_case_extended_to(deadline: datetime) -> CaseState:
    state, _ = run(
        [
            (register_major(), NOW),
            (extend(deadline), NOW),
            (DecideExtension(COUNTY_SUPERVISOR, True, "同意"), NOW),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW),
        ]
    )
    assert state is not None and state.deadline == deadline
    return state


def test_the_rework_deadline_of_a_listed_case_stays_within_a_year_of_its_listing():
    state = listed_case_extended_to(at(2026, 2, 25))
    state, _ = step(state, REPORT, at(2026, 2, 20))
    after, events = step(
        state, VerifyRectification(COUNTY_SUPERVISOR, False, "不合格"), at(2026, 2, 24)
    )
    assert types(events) == ["VerificationFailed"]
    assert after.deadline == LISTING_LIMIT  # P15D would end on 11 March 2026
    with pytest.raises(DomainError) as e:
        late = VerifyRectification(COUNTY_SUPERVISOR, False, new_deadline=at(2026, 3, 10))
        decide(state, late, at(2026, 2, 24), DEFAULT, CALENDAR)
    assert rule(e) == "case.listing.deadline_exceeds_max"


def test_an_escalation_deadline_stays_within_a_year_of_the_listing():
    state = listed_case_extended_to(at(2026, 2, 27))
    after, events = fire_due(state, at(2026, 2, 27))
    escalated = next(e for e in events if isinstance(e, CaseEscalated))
    assert escalated.grid_level is GridLevel.CITY
    assert escalated.deadline == LISTING_LIMIT  # 10 working days would end on 13 March
    assert after.listing is not None and after.listing.period_start == NOW


def test_once_the_listing_year_is_over_a_missed_deadline_refers_the_case():
    state = listed_case_extended_to(LISTING_LIMIT)
    after, events = fire_due(state, LISTING_LIMIT)
    assert "CaseEscalated" not in types(events)
    referral = next(e for e in events if isinstance(e, EnforcementReferred))
    assert referral.ground is ReferralGround.LISTING_PERIOD_ENDED
    kinds = [e.kind for e in events if isinstance(e, CreditTriggerRaised)]
    assert kinds == [CreditEventKind.MAJOR_OVERDUE_AT_TOP, CreditEventKind.ENFORCEMENT_REFERRAL]
    assert after.status is CaseStatus.REFERRED


def test_a_raised_listing_keeps_the_year_of_the_first_listing():
    state, _ = run([(register_major(), NOW)])
    raise_at = at(2025, 5, 1)
    city = ListHazard(
        CITY_SUPERVISOR, ListingLevel.CITY, deadline=at(2026, 4, 1), listing_measures=FIVE
    )
    with pytest.raises(DomainError) as e:
        decide(state, city, raise_at, DEFAULT, CALENDAR)
    assert rule(e) == "case.listing.deadline_exceeds_max"
    assert (
        LISTING_LIMIT.isoformat() in e.value.message
        or "2026-03-03T16:00:00+00:00" in e.value.message
    )
    # Edition 1 counted the year from the new listing.
    legacy, _ = run([(register_major(), NOW)], policy=LEGACY)
    assert decide(legacy, replace(city, listing_measures=None), raise_at, LEGACY, CALENDAR)


def test_listing_a_case_brings_a_longer_deadline_within_the_maximum():
    state, _ = run([(register(actor=SUPERVISOR, deadline=at(2026, 12, 1)), NOW)])
    events = decide(
        state,
        ListHazard(CITY_SUPERVISOR, ListingLevel.CITY, listing_measures=FIVE),
        NOW,
        DEFAULT,
        CALENDAR,
    )
    listed = events[0]
    assert isinstance(listed, HazardListed)
    assert listed.deadline == LISTING_LIMIT and listed.deadline_no == 2


# --- 5. authority: the actor's grid unit -------------------------------------------------------


def test_a_supervisors_command_must_name_the_unit_they_act_for():
    state = reported_case(NOW)
    with pytest.raises(DomainError) as e:
        decide(state, VerifyRectification(UNITLESS_SUPERVISOR, True), NOW, DEFAULT, CALENDAR)
    assert rule(e) == "case.authority.unit_required" and e.value.field == "actor.unit_code"
    # Edition 1 let it through, as the recorded cases did.
    legacy, _ = run([(register(), NOW), (REPORT, NOW)], policy=LEGACY)
    assert decide(legacy, VerifyRectification(UNITLESS_SUPERVISOR, True), NOW, LEGACY, CALENDAR)


@pytest.mark.parametrize(
    "command",
    [
        VerifyRectification(OUTSIDE_SUPERVISOR, True),
        WithdrawCase(OUTSIDE_SUPERVISOR, "登记错误"),
        RecordRefusal(OUTSIDE_SUPERVISOR, "拒不整改"),
        ListHazard(OUTSIDE_SUPERVISOR, ListingLevel.COUNTY, listing_measures=FIVE),
    ],
    ids=["verify", "withdraw", "refusal", "list"],
)
def test_a_supervisor_of_another_township_acts_on_nothing_here(command: CaseCommand):
    state = reported_case(NOW)
    with pytest.raises(DomainError) as e:
        decide(state, command, NOW, DEFAULT, CALENDAR)
    assert rule(e) == "case.authority.outside_grid"


def test_verification_is_for_the_supervising_unit_or_above():
    state, _ = run([(register(), NOW)])
    state, _ = fire_due(state, GENERAL_DEADLINE)  # escalated to the township
    state, _ = step(state, REPORT, GENERAL_DEADLINE + timedelta(days=1))
    when = GENERAL_DEADLINE + timedelta(days=2)
    with pytest.raises(DomainError) as e:
        decide(state, VerifyRectification(VILLAGE_SUPERVISOR, True), when, DEFAULT, CALENDAR)
    assert rule(e) == "case.authority.below_supervising_unit"
    for actor in (TOWNSHIP_SUPERVISOR, COUNTY_SUPERVISOR):
        assert (
            types(decide(state, VerifyRectification(actor, True), when, DEFAULT, CALENDAR))[-1]
            == "CaseClosed"
        )


def test_a_listed_hazard_is_verified_by_its_listing_authority_pass_or_fail():
    state, _ = run(
        [
            (register_major(), NOW),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW),
            (REPORT, NOW),
        ]
    )
    with pytest.raises(DomainError) as e:
        decide(state, VerifyRectification(CITY_SUPERVISOR, False), NOW, DEFAULT, CALENDAR)
    assert rule(e) == "case.verify.listing_authority_only"
    with pytest.raises(DomainError) as e:
        decide(state, VerifyRectification(CITY_SUPERVISOR, True), NOW, DEFAULT, CALENDAR)
    assert rule(e) == "case.delist.listing_authority_only"
    assert decide(state, VerifyRectification(COUNTY_SUPERVISOR, False), NOW, DEFAULT, CALENDAR)


def test_a_listing_is_made_by_a_unit_at_its_level_or_above():
    state, _ = run([(register(), NOW)])
    county = ListHazard(TOWNSHIP_SUPERVISOR, ListingLevel.COUNTY, listing_measures=FIVE)
    with pytest.raises(DomainError) as e:
        decide(state, county, NOW, DEFAULT, CALENDAR)
    assert rule(e) == "case.list.level_above_actor"
    assert decide(state, replace(county, actor=PROVINCE_SUPERVISOR), NOW, DEFAULT, CALENDAR)
    # Nor may a township supervisor list at the province when registering.
    province = register(
        actor=TOWNSHIP_SUPERVISOR,
        mode=RectificationMode.LISTED,
        listing_level=ListingLevel.PROVINCE,
        listing_measures=FIVE,
    )
    with pytest.raises(DomainError) as e:
        run([(province, NOW)])
    assert rule(e) == "case.list.level_above_actor"


def test_a_registering_inspector_or_supervisor_must_belong_to_the_cases_grid():
    with pytest.raises(DomainError) as e:
        run([(register(actor=OUTSIDE_SUPERVISOR), NOW)])
    assert rule(e) == "case.authority.outside_grid"
    with pytest.raises(DomainError) as e:
        run([(register(actor=replace(INSPECTOR, unit_code=OUTSIDE_SUPERVISOR.unit_code)), NOW)])
    assert rule(e) == "case.authority.outside_grid"
    with pytest.raises(DomainError) as e:
        run([(register(actor=UNITLESS_SUPERVISOR), NOW)])
    assert rule(e) == "case.authority.unit_required"
    assert run([(register(actor=INSPECTOR), NOW)])[0] is not None  # an inspector may omit it


def test_extension_decisions_and_refusals_come_from_the_supervising_unit_or_above():
    state, _ = run([(register(), NOW)])
    state, _ = fire_due(state, GENERAL_DEADLINE)  # the township supervises now
    with pytest.raises(DomainError) as e:
        decide(
            state,
            RecordRefusal(VILLAGE_SUPERVISOR, "拒不整改"),
            GENERAL_DEADLINE,
            DEFAULT,
            CALENDAR,
        )
    assert rule(e) == "case.authority.below_supervising_unit"
    state, _ = step(state, extend(at(2025, 4, 30)), GENERAL_DEADLINE)
    with pytest.raises(DomainError) as e:
        decide(
            state, DecideExtension(VILLAGE_SUPERVISOR, True), GENERAL_DEADLINE, DEFAULT, CALENDAR
        )
    assert rule(e) == "case.authority.below_supervising_unit"


# --- 6. publication -------------------------------------------------------------------------


def test_a_listing_and_its_delisting_are_published_on_the_register_within_five_working_days():
    state, events = run([(register_major(), NOW)])
    listed = next(e for e in events if isinstance(e, HazardListed))
    published = next(e for e in events if isinstance(e, ListingPublished))
    assert (published.listing_no, published.kind, published.publish_by) == (
        listed.listing_no,
        PublicationKind.LISTING,
        listed.publish_by,
    )
    assert published.at <= published.publish_by == at(2025, 3, 11, 0)
    told = notifications_for(fold(events[:2]), published)
    assert [(n.recipient_kind, n.reason) for n in told] == [
        ("public_register", "listing_published:listing")
    ]
    state, _ = step(state, SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW)  # type: ignore[arg-type]
    state, _ = step(state, REPORT, NOW)
    _, events = step(state, VerifyRectification(COUNTY_SUPERVISOR, True), NOW)
    delisting = next(e for e in events if isinstance(e, ListingPublished))
    assert delisting.kind is PublicationKind.DELISTING and delisting.listing_no == listed.listing_no


def test_edition_1_records_no_publication_event():
    _, events = run([(register_major(), NOW)], policy=LEGACY)
    assert "ListingPublished" not in types(events)


# --- 10. notice contents and the 五落实 of a listing ----------------------------------------


@pytest.mark.parametrize(
    ("field", "rule_id"),
    [
        ("measures", "case.notice.measures_required"),
        ("responsible_person", "case.notice.responsible_person_required"),
    ],
)
def test_a_rectification_notice_states_its_measures_and_responsible_person(
    field: str, rule_id: str
):
    with pytest.raises(DomainError) as e:
        run([(register(**{field: " "}), NOW)])
    assert (rule(e), e.value.field) == (rule_id, field)
    # The drill registers without paperwork, and a hazard fixed on the spot needs no notice.
    assert run([(register(**{field: ""}), NOW)], policy=DRILL)[0] is not None
    assert run([(register(mode=RectificationMode.IMMEDIATE, **{field: ""}), NOW)])[0] is not None


def test_a_person_lists_with_the_five_implementations_stated():
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, ListHazard(COUNTY_SUPERVISOR, ListingLevel.COUNTY), NOW, DEFAULT, CALENDAR)
    assert (rule(e), e.value.field) == (
        "case.list.five_implementations_required",
        "listing_measures",
    )
    with pytest.raises(DomainError) as e:
        replace(FIVE, funds="")
    assert e.value.field == "listing_measures.funds"
    events = decide(
        state,
        ListHazard(COUNTY_SUPERVISOR, ListingLevel.COUNTY, listing_measures=FIVE),
        NOW,
        DEFAULT,
        CALENDAR,
    )
    assert isinstance(events[0], HazardListed) and events[0].listing_measures == FIVE


def test_a_listing_made_by_the_ladder_states_the_rungs_measures_and_keeps_the_five():
    state, _ = run([(register(), NOW)])
    state, _ = fire_due(state, GENERAL_DEADLINE)
    state, events = fire_due(state, state.deadline)  # type: ignore[arg-type]
    listed = next(e for e in events if isinstance(e, HazardListed))
    assert listed.measures == "逐级督办第2级: 督办函、通报、提级挂牌(县级)"
    assert listed.measures == rung_measures(2, DEFAULT.escalation.ladder[1])
    # A hazard listed with its 五落实 keeps them when the ladder raises the listing.
    major, _ = run([(register_major(listing_measures=FIVE), NOW)])
    assert major is not None and major.deadline is not None
    after, _ = fire_due(major, major.deadline)
    assert after.listing is not None and after.listing.level is ListingLevel.CITY
    assert after.listing.measures == FIVE


# --- 11. one referral per case -----------------------------------------------------------------


def test_a_second_refusal_is_recorded_but_not_referred_or_counted_again():
    state, _ = run([(register(), NOW), (RecordRefusal(SUPERVISOR, "拒绝签收"), NOW)])
    _, events = step(state, RecordRefusal(SUPERVISOR, "再次拒绝整改"), NOW + timedelta(days=1))  # type: ignore[arg-type]
    assert types(events) == ["RefusalRecorded"]
    # Edition 1 referred and counted every refusal.
    legacy, _ = run([(register(), NOW), (RecordRefusal(SUPERVISOR, "拒绝"), NOW)], policy=LEGACY)
    again = decide(legacy, RecordRefusal(SUPERVISOR, "再次"), NOW, LEGACY, CALENDAR)
    assert types(again) == ["RefusalRecorded", "EnforcementReferred", "CreditTriggerRaised"]


def test_a_refusal_after_the_top_of_the_ladder_counts_the_refusal_once_without_a_new_referral():
    state, _ = run([(register(), NOW)])
    while not state.referred:  # type: ignore[union-attr]
        state, _ = fire_due(state, state.deadline)  # type: ignore[arg-type, union-attr]
    _, events = step(
        state, RecordRefusal(PROVINCE_SUPERVISOR, "拒不停产整顿"), state.deadline or NOW
    )  # type: ignore[union-attr]
    assert types(events) == ["RefusalRecorded", "CreditTriggerRaised"]
    assert events[1].kind is CreditEventKind.REFUSAL  # type: ignore[attr-defined]


def test_a_ladder_step_referral_is_seen_by_the_enforcement_referral_trigger_once():
    rungs = list(DEFAULT.escalation.ladder)
    from domain.policy import Step

    rungs[0] = replace(rungs[0], steps=(*rungs[0].steps, Step.ENFORCEMENT_REFERRAL))
    policy = replace(DEFAULT, escalation=replace(DEFAULT.escalation, ladder=tuple(rungs)))
    state, _ = run([(register(), NOW)], policy=policy)
    after, events = fire_due(state, GENERAL_DEADLINE, policy)  # type: ignore[arg-type]
    kinds = [e.kind for e in events if isinstance(e, CreditTriggerRaised)]
    assert kinds == [CreditEventKind.ESCALATION, CreditEventKind.ENFORCEMENT_REFERRAL]
    _, events = step(after, RecordRefusal(SUPERVISOR, "拒不整改"), GENERAL_DEADLINE, policy)
    assert [e.kind for e in events if isinstance(e, CreditTriggerRaised)] == [
        CreditEventKind.REFUSAL
    ]
    assert "EnforcementReferred" not in types(events)


# --- the listing authority recorded for a case listed at the city by registration -------------


def test_a_city_listing_at_registration_is_the_city_units():
    state, events = run(
        [
            (
                register(
                    actor=CITY_SUPERVISOR,
                    mode=RectificationMode.LISTED,
                    listing_level=ListingLevel.CITY,
                    listing_measures=FIVE,
                ),
                NOW,
            )
        ]
    )
    assert state is not None and state.listing is not None
    assert state.listing.authority_unit_code == CITY.code
    assert state.supervising_unit_code == CITY.code
    assert isinstance(events[1], HazardListed) and events[1].listing_measures == FIVE
