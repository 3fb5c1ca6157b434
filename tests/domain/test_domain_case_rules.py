"""Given events, when a command, then events — one test per rule of a hazard case."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.case import (
    NOTICE_KEY,
    CaseStatus,
    decide,
    due_timers,
    fold,
    notifications_for,
    pending_timers,
)
from domain.case.commands import (
    Actor,
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
    CreditTriggerRaised,
    DeadlineMissed,
    EnforcementReferred,
    ExtensionApproved,
    HazardDelisted,
    HazardListed,
    HazardSource,
    RectificationMode,
    RectificationNoticeIssued,
    ReferralGround,
    ReminderDue,
    VerificationFailed,
)
from domain.errors import CalendarDataMissing, DomainError
from domain.grid import GridLevel
from domain.policy import CreditEventKind, ListingLevel, Step
from tests.domain.domain_builders import (
    AUDITOR,
    CALENDAR,
    CITY_SUPERVISOR,
    COUNTY,
    COUNTY_SUPERVISOR,
    DEFAULT,
    DRILL,
    ENTERPRISE_ACTOR,
    FIVE,
    INSPECTOR,
    LEGACY,
    NOW,
    PATH,
    PHOTO,
    PLAN,
    SHANGHAI,
    SUPERVISOR,
    SYSTEM,
    TOWNSHIP,
    TOWNSHIP_SUPERVISOR,
    VILLAGE,
    register,
    register_major,
    run,
    types,
)

REPORT = ReportRectification(ENTERPRISE_ACTOR, "已更换配电箱", (PHOTO,))


def rule_of(excinfo: pytest.ExceptionInfo[DomainError]) -> str:
    return excinfo.value.rule


def fire_all_due(state, history, now, policy=DEFAULT):  # type: ignore[no-untyped-def]
    """Fire every timer due at ``now`` in order, as a workflow would."""
    while True:
        due = due_timers(state, now, policy, CALENDAR)
        if not due:
            return state, history
        events = decide(state, FireTimer(SYSTEM, due[0].key), now, policy, CALENDAR)
        history = history + events
        state = fold(events, state)


# --- registration -----------------------------------------------------------------------------


def test_a_general_hazard_with_a_deadline_gets_a_rectification_notice_with_the_policy_deadline():
    state, events = run([(register(), NOW)])
    assert types(events) == ["HazardRegistered", "RectificationNoticeIssued"]
    notice = events[1]
    assert isinstance(notice, RectificationNoticeIssued)
    # P15D as a legal period: days from 4 March, the 15th (Tuesday 18 March) ends at 24:00.
    assert notice.deadline == datetime(2025, 3, 19, tzinfo=SHANGHAI)
    assert (notice.measures, notice.responsible_person) == ("更换配电箱, 整理线路", "车间主任 刘")
    assert state is not None and state.status is CaseStatus.RECTIFYING
    assert events[0].policy_fingerprint == DEFAULT.fingerprint  # type: ignore[attr-defined]


def test_an_edition_1_policy_keeps_the_exact_fifteen_days_of_recorded_cases():
    _, events = run([(register(), NOW)], policy=LEGACY)
    assert events[1].deadline == datetime(2025, 3, 18, 9, 0, tzinfo=SHANGHAI)  # type: ignore[attr-defined]


def test_an_immediate_hazard_is_registered_and_closed_at_once():
    state, events = run([(register(mode=RectificationMode.IMMEDIATE), NOW)])
    assert types(events) == ["HazardRegistered", "CaseClosed"]
    assert state is not None and state.status is CaseStatus.CLOSED
    assert pending_timers(state, DEFAULT) == []


def test_a_major_hazard_cannot_be_fixed_immediately():
    with pytest.raises(DomainError) as e:
        run([(register_major(mode=RectificationMode.IMMEDIATE), NOW)])
    assert rule_of(e) == "case.register.major_not_immediate"


def test_a_major_hazard_must_cite_its_checklist_clause():
    with pytest.raises(DomainError) as e:
        run([(register_major(checklist_clause=None), NOW)])
    assert rule_of(e) == "case.register.major_requires_clause"
    assert e.value.field == "checklist_clause"


def test_a_major_hazard_is_listed_at_the_county_by_the_county_unit_at_registration():
    state, events = run([(register_major(), NOW)])
    assert types(events) == [
        "HazardRegistered",
        "HazardListed",
        "ListingPublished",
        "RectificationNoticeIssued",
    ]
    listed = events[1]
    assert isinstance(listed, HazardListed)
    assert listed.level is ListingLevel.COUNTY
    assert listed.authority_unit_code == COUNTY.code
    assert listed.listing_no == f"GP-COUNTY-{COUNTY.code}-2025-" + listed.listing_no[-8:]
    assert listed.publish_by == datetime(2025, 3, 11, tzinfo=SHANGHAI)  # 5 working days, 24:00
    assert state is not None and state.supervising_level is GridLevel.COUNTY
    assert state.deadline == datetime(2025, 6, 4, tzinfo=SHANGHAI)  # P3M: 24:00 on 3 June


def test_the_listing_number_is_the_same_for_the_same_hazard_and_differs_for_another():
    _, first = run([(register_major(), NOW)])
    _, again = run([(register_major(), NOW)])
    _, other = run([(register_major(hazard_id="H-0002"), NOW)])
    assert first[1] == again[1]
    assert first[1].listing_no != other[1].listing_no  # type: ignore[attr-defined]


def test_a_supervisor_may_list_a_general_hazard_at_registration_but_an_inspector_may_not():
    cmd = register(
        mode=RectificationMode.LISTED, listing_level=ListingLevel.CITY, listing_measures=FIVE
    )
    with pytest.raises(DomainError) as e:
        run([(cmd, NOW)])
    assert rule_of(e) == "case.list.supervisor_only"
    state, _events = run([(replace(cmd, actor=CITY_SUPERVISOR), NOW)])
    assert state is not None and state.listed_level is ListingLevel.CITY
    assert state.listing is not None and state.listing.measures == FIVE


def test_a_listed_deadline_beyond_the_listing_maximum_is_refused():
    cmd = register_major(deadline=NOW + timedelta(days=400))
    with pytest.raises(DomainError) as e:
        run([(cmd, NOW)])
    assert rule_of(e) == "case.listing.deadline_exceeds_max"


def test_a_deadline_in_the_past_is_refused_at_registration():
    with pytest.raises(DomainError) as e:
        run([(register(deadline=NOW - timedelta(minutes=1)), NOW)])
    assert rule_of(e) == "case.deadline.in_past"


def test_an_enterprise_may_register_only_its_own_self_inspection_findings():
    with pytest.raises(DomainError) as e:
        run([(register(actor=ENTERPRISE_ACTOR), NOW)])
    assert rule_of(e) == "case.register.role"
    own = register(
        actor=ENTERPRISE_ACTOR,
        source=HazardSource.SELF_INSPECTION,
        deadline=NOW + timedelta(days=10),  # edition 5: the enterprise sets its own deadline
    )
    state, _ = run([(own, NOW)])
    assert state is not None and state.self_reported


def test_a_grid_path_must_start_at_the_enterprise_unit_and_reach_every_ladder_level():
    with pytest.raises(DomainError) as e:
        run([(register(grid_path=PATH[1:]), NOW)])
    assert rule_of(e) == "case.register.grid_path_starts_at_enterprise_unit"
    with pytest.raises(DomainError) as e:
        run([(register(grid_path=PATH[:3]), NOW)])
    assert rule_of(e) == "case.register.grid_path_missing_level"
    with pytest.raises(DomainError) as e:
        run([(register(grid_path=(VILLAGE, COUNTY, TOWNSHIP, *PATH[3:])), NOW)])
    assert rule_of(e) == "case.register.grid_path_chain"


def test_a_case_is_registered_only_once_and_nothing_happens_before_registration():
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, register(), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.register.already_registered"
    with pytest.raises(DomainError) as e:
        decide(None, REPORT, NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.not_registered"


def test_an_auditor_changes_nothing():
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, WithdrawCase(AUDITOR, "test"), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.auditor.read_only"


def test_now_without_a_time_zone_is_refused():
    with pytest.raises(DomainError) as e:
        run([(register(), datetime(2025, 3, 3, 9))])
    assert rule_of(e) == "time.aware_required"


# --- plan, report, verification ---------------------------------------------------------------


def test_a_major_hazard_cannot_be_reported_before_its_governance_plan():
    state, _ = run([(register_major(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, REPORT, NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.report.requires_governance_plan"


def test_a_governance_plan_needs_all_six_parts():
    with pytest.raises(DomainError) as e:
        replace(PLAN, funds_and_materials=" ")
    assert rule_of(e) == "case.plan.six_parts_required"
    assert e.value.field == "plan.funds_and_materials"


def test_a_governance_plan_is_for_major_hazards_and_comes_from_the_enterprise():
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.plan.major_only"
    major, _ = run([(register_major(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(major, SubmitGovernancePlan(SUPERVISOR, PLAN), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.plan.enterprise_only"


def test_only_the_enterprise_reports_and_only_with_evidence():
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, replace(REPORT, actor=SUPERVISOR), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.report.enterprise_only"
    with pytest.raises(DomainError) as e:
        decide(state, replace(REPORT, evidence=()), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.report.evidence_required"


def test_verifying_without_a_report_is_refused():
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, VerifyRectification(SUPERVISOR, passed=True), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.verify.requires_report"


def test_a_report_stops_the_deadline_and_starts_the_review_window():
    later = NOW + timedelta(days=2)
    state, _events = run([(register(), NOW), (REPORT, later)])
    assert state is not None and state.status is CaseStatus.REPORTED
    timers = pending_timers(state, DEFAULT)
    assert [t.key for t in timers] == ["review:1"]
    assert timers[0].due_at == later + timedelta(days=10)  # Hubei: 10 days
    assert not state.is_overdue(NOW + timedelta(days=30))


def test_a_passed_verification_closes_a_general_case():
    state, events = run(
        [(register(), NOW), (REPORT, NOW), (VerifyRectification(SUPERVISOR, True, "合格"), NOW)]
    )
    assert types(events)[-2:] == ["VerificationPassed", "CaseClosed"]
    assert state is not None and state.status is CaseStatus.CLOSED


def test_a_passed_verification_of_a_listed_hazard_delists_it_then_closes_it():
    state, events = run(
        [
            (register_major(), NOW),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW),
            (REPORT, NOW),
            (VerifyRectification(COUNTY_SUPERVISOR, True), NOW),
        ]
    )
    assert types(events)[-4:] == [
        "VerificationPassed",
        "HazardDelisted",
        "ListingPublished",
        "CaseClosed",
    ]
    assert isinstance(events[-3], HazardDelisted) and events[-3].authority_unit_code == COUNTY.code
    assert state is not None and state.listing is None


def test_only_the_listing_authority_may_delist():
    state, _ = run(
        [
            (register_major(), NOW),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW),
            (REPORT, NOW),
        ]
    )
    with pytest.raises(DomainError) as e:
        decide(state, VerifyRectification(TOWNSHIP_SUPERVISOR, True), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.delist.listing_authority_only"


def test_a_failed_verification_sends_the_case_back_with_the_policy_rework_deadline():
    state, events = run(
        [
            (register(), NOW),
            (REPORT, NOW),
            (VerifyRectification(SUPERVISOR, False, "未整改到位"), NOW),
        ]
    )
    failed = events[-1]
    assert isinstance(failed, VerificationFailed) and not failed.counts_as_missed
    assert failed.deadline == datetime(2025, 3, 19, tzinfo=SHANGHAI)  # P15D, 24:00 on 18 March
    assert failed.deadline_no == 2
    assert state is not None and state.status is CaseStatus.RECTIFYING
    assert [t.key for t in pending_timers(state, DEFAULT)][-1] == "deadline:2"


def test_a_failed_verification_with_a_past_deadline_is_refused():
    state, _ = run([(register(), NOW), (REPORT, NOW)])
    cmd = VerifyRectification(SUPERVISOR, False, new_deadline=NOW - timedelta(hours=1))
    with pytest.raises(DomainError) as e:
        decide(state, cmd, NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.deadline.in_past"


# --- extensions ---------------------------------------------------------------------------------

EXTEND = RequestExtension(
    ENTERPRISE_ACTOR,
    requested_deadline=datetime(2025, 9, 30, 18, tzinfo=SHANGHAI),
    reasons="设备到货延迟",
    interim_safeguards="停用相关工位",
)


def test_an_extension_asked_early_enough_can_be_approved_and_moves_the_deadline():
    state, events = run(
        [
            (register_major(), NOW),
            (EXTEND, NOW),
            (DecideExtension(SUPERVISOR, approve=True, reason="理由充分"), NOW),
        ]
    )
    approved = events[-1]
    assert isinstance(approved, ExtensionApproved)
    assert state is not None and state.deadline == EXTEND.requested_deadline
    assert "deadline:2" in [t.key for t in pending_timers(state, DEFAULT)]
    requested = events[-2]
    # Qingdao: decided within 10 working days → 24:00 on Monday 17 March.
    assert requested.decide_by == datetime(2025, 3, 18, tzinfo=SHANGHAI)  # type: ignore[attr-defined]


def test_an_extension_asked_later_than_twenty_working_days_before_the_deadline_is_refused():
    # deadline 3 June 09:00 (a Tuesday): the day it closes is 3 June; 20 working days before
    # (with the 1 May and Dragon Boat holidays and the 27 April working Sunday) is 30 April.
    state, _ = run([(register_major(), NOW)])
    assert state is not None
    last_ok = datetime(2025, 4, 30, 23, 59, tzinfo=SHANGHAI)
    too_late = datetime(2025, 5, 1, 0, 0, tzinfo=SHANGHAI)
    assert decide(state, EXTEND, last_ok, DEFAULT, CALENDAR)
    with pytest.raises(DomainError) as e:
        decide(state, EXTEND, too_late, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.extension.too_late"


def test_extensions_are_limited_by_the_policy_and_one_at_a_time():
    state, _ = run([(register_major(), NOW), (EXTEND, NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, EXTEND, NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.extension.already_pending"
    state, _ = run(
        [(register_major(), NOW), (EXTEND, NOW), (DecideExtension(SUPERVISOR, True), NOW)]
    )
    later = replace(EXTEND, requested_deadline=datetime(2025, 10, 30, tzinfo=SHANGHAI))
    with pytest.raises(DomainError) as e:
        decide(state, later, NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.extension.limit_reached"


def test_an_extension_must_move_the_deadline_later():
    state, _ = run([(register_major(), NOW)])
    earlier = replace(EXTEND, requested_deadline=datetime(2025, 5, 1, tzinfo=SHANGHAI))
    with pytest.raises(DomainError) as e:
        decide(state, earlier, NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.extension.not_later"


def test_a_rejected_extension_needs_a_reason_and_leaves_the_deadline():
    state, _ = run([(register_major(), NOW), (EXTEND, NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, DecideExtension(SUPERVISOR, approve=False), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.extension.rejection_reason_required"
    events = decide(state, DecideExtension(SUPERVISOR, False, "理由不足"), NOW, DEFAULT, CALENDAR)
    after = fold(events, state)
    assert after is not None and state is not None
    assert after.deadline == state.deadline and after.pending_extension is None


def test_deciding_with_no_pending_request_is_refused():
    state, _ = run([(register_major(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, DecideExtension(SUPERVISOR, True), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.extension.none_pending"


def test_extending_a_closed_case_is_refused():
    state, _ = run([(register(), NOW), (REPORT, NOW), (VerifyRectification(SUPERVISOR, True), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, EXTEND, NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.closed.no_commands"


def test_a_deadline_in_a_year_without_holiday_data_is_an_error_not_a_guess():
    # 5 working days to publish a listing from 28 December 2026 reach into 2027. The hazard is
    # recorded (a registration is never refused for calendar data); its notice is not guessed.
    late = datetime(2026, 12, 28, 9, tzinfo=SHANGHAI)
    state, events = run([(register_major(found_at=late), late)])
    assert types(events) == ["HazardRegistered", "NoticeAwaitingCalendar"]
    with pytest.raises(CalendarDataMissing) as e:
        decide(state, FireTimer(SYSTEM, NOTICE_KEY), late, DEFAULT, CALENDAR)
    assert e.value.year == 2027 and e.value.rule == "calendar.year_missing"


# --- listing, refusal, withdrawal -------------------------------------------------------------


def test_a_supervisor_raises_a_listing_but_never_lowers_it():
    state, _ = run([(register_major(), NOW)])
    city = ListHazard(CITY_SUPERVISOR, ListingLevel.CITY, listing_measures=FIVE)
    events = decide(state, city, NOW, DEFAULT, CALENDAR)
    assert isinstance(events[0], HazardListed) and events[0].supersedes is not None
    raised = fold(events, state)
    assert raised is not None and raised.supervising_level is GridLevel.CITY
    lower = ListHazard(CITY_SUPERVISOR, ListingLevel.COUNTY, listing_measures=FIVE)
    with pytest.raises(DomainError) as e:
        decide(raised, lower, NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.list.level_not_higher"


def test_a_refusal_is_recorded_referred_to_enforcement_and_raised_to_credit():
    state, events = run([(register(), NOW), (RecordRefusal(SUPERVISOR, "拒绝签收整改通知书"), NOW)])
    assert types(events)[-4:] == [
        "RefusalRecorded",
        "EnforcementReferred",
        "CreditTriggerRaised",
        "CreditTriggerRaised",
    ]
    referred = events[-3]
    assert isinstance(referred, EnforcementReferred) and referred.authority_unit_code == COUNTY.code
    kinds = [e.kind for e in events[-2:] if isinstance(e, CreditTriggerRaised)]
    # The refusal counts, and so does the referral it causes (the enforcement_referral trigger).
    assert kinds == [CreditEventKind.REFUSAL, CreditEventKind.ENFORCEMENT_REFERRAL]
    assert state is not None and state.status is CaseStatus.REFERRED


def test_a_withdrawal_needs_a_supervisor_and_a_reason_and_revokes_the_listing():
    state, _ = run([(register_major(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, WithdrawCase(INSPECTOR, "登记错误"), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.withdraw.supervisor_only"
    with pytest.raises(DomainError) as e:
        decide(state, WithdrawCase(SUPERVISOR, " "), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.withdraw.reason_required"
    events = decide(state, WithdrawCase(SUPERVISOR, "登记错误"), NOW, DEFAULT, CALENDAR)
    assert types(events) == ["HazardDelisted", "ListingPublished", "CaseWithdrawn"]
    assert fold(events, state).status is CaseStatus.WITHDRAWN  # type: ignore[union-attr]


# --- timers, reminders, escalation --------------------------------------------------------------


def test_reminders_fire_three_days_and_one_day_before_the_deadline():
    state, _ = run([(register(), NOW)])
    assert state is not None and state.deadline is not None
    at = state.deadline - timedelta(days=3)
    events = decide(state, FireTimer(SYSTEM, "reminder:1:P3D"), at, DEFAULT, CALENDAR)
    assert isinstance(events[0], ReminderDue) and events[0].before == "P3D"
    after = fold(events, state)
    assert "reminder:1:P3D" not in [t.key for t in pending_timers(after, DEFAULT)]


def test_a_timer_fired_early_is_refused():
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, FireTimer(SYSTEM, "deadline:1"), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.timer.not_due"


def test_a_timer_fires_once_and_only_by_the_system():
    state, _ = run([(register(), NOW)])
    at = NOW + timedelta(days=13)
    with pytest.raises(DomainError) as e:
        decide(state, FireTimer(SUPERVISOR, "reminder:1:P3D"), at, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.timer.system_only"
    events = decide(state, FireTimer(SYSTEM, "reminder:1:P3D"), at, DEFAULT, CALENDAR)
    with pytest.raises(DomainError) as e:
        decide(fold(events, state), FireTimer(SYSTEM, "reminder:1:P3D"), at, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.timer.already_fired"
    with pytest.raises(DomainError) as e:
        decide(state, FireTimer(SYSTEM, "deadline:7"), at, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.timer.not_pending"


def test_a_missed_deadline_escalates_to_the_township_with_a_supervision_letter():
    state, _ = run([(register(), NOW)])
    assert state is not None and state.deadline is not None
    at = state.deadline
    events = decide(state, FireTimer(SYSTEM, "deadline:1"), at, DEFAULT, CALENDAR)
    assert types(events) == ["DeadlineMissed", "CaseEscalated", "CreditTriggerRaised"]
    escalated = events[1]
    assert isinstance(escalated, CaseEscalated)
    assert (escalated.grid_level, escalated.unit_code) == (GridLevel.TOWNSHIP, TOWNSHIP.code)
    assert escalated.steps == (Step.SUPERVISION_LETTER,)
    # Missed at 00:00 on 19 March; 10 working days from 19 March → 24:00 Wednesday 2 April.
    assert escalated.deadline == datetime(2025, 4, 3, tzinfo=SHANGHAI)
    after = fold(events, state)
    assert after is not None and after.status is CaseStatus.ESCALATED
    assert after.escalation_index == 1
    notified = notifications_for(state, escalated)
    assert ("grid_responsible", TOWNSHIP.responsible_person) in [
        (n.recipient_kind, n.recipient_id) for n in notified
    ]


def test_the_second_escalation_lists_a_general_hazard_at_the_county():
    state, history = run([(register(), NOW)])
    # Missed on 19 March 09:00 → township deadline: 10 working days → 24:00 on 2 April.
    state, history = fire_all_due(state, history, NOW + timedelta(days=16))
    assert state is not None and state.deadline == datetime(2025, 4, 3, tzinfo=SHANGHAI)
    state, history = fire_all_due(state, history, datetime(2025, 4, 3, 1, tzinfo=SHANGHAI))
    assert state is not None and state.escalation_index == 2
    listed = [e for e in history if isinstance(e, HazardListed)]
    assert [x.level for x in listed] == [ListingLevel.COUNTY]


def test_a_major_hazard_listed_at_the_county_escalates_straight_to_the_city():
    state, _ = run([(register_major(), NOW)])
    assert state is not None and state.deadline is not None
    events = decide(state, FireTimer(SYSTEM, "deadline:1"), state.deadline, DEFAULT, CALENDAR)
    escalated = next(e for e in events if isinstance(e, CaseEscalated))
    assert escalated.grid_level is GridLevel.CITY and escalated.escalation_index == 3
    assert [e.level for e in events if isinstance(e, HazardListed)] == [ListingLevel.CITY]


def test_a_drill_runs_the_whole_ladder_to_enforcement_and_credit_in_about_a_minute():
    state, history = run([(register_major(), NOW)], policy=DRILL)
    levels = []
    now = NOW
    while state is not None and pending_timers(state, DRILL):
        timer = pending_timers(state, DRILL)[0]
        now = max(now, timer.due_at)
        events = decide(state, FireTimer(SYSTEM, timer.key), now, DRILL, CALENDAR)
        history += events
        before = state.escalation_index
        state = fold(events, state)
        assert state is not None and state.escalation_index >= before
        levels += [e.grid_level for e in events if isinstance(e, CaseEscalated)]
    assert levels == [GridLevel.CITY, GridLevel.PROVINCE]
    assert now - NOW <= timedelta(seconds=90)
    referral = [e for e in history if isinstance(e, EnforcementReferred)]
    assert [r.ground for r in referral] == [ReferralGround.OVERDUE_AT_TOP]
    kinds = [e.kind for e in history if isinstance(e, CreditTriggerRaised)]
    assert kinds[-2:] == [
        CreditEventKind.MAJOR_OVERDUE_AT_TOP,
        CreditEventKind.ENFORCEMENT_REFERRAL,
    ]
    assert state is not None and state.status is CaseStatus.REFERRED
    assert state.listed_level is ListingLevel.PROVINCE
    assert [t.key for t in pending_timers(state, DRILL)] == []


def test_under_edition_1_a_pending_extension_lapses_when_the_deadline_is_missed():
    state, _ = run([(register_major(), NOW), (EXTEND, NOW)], policy=LEGACY)
    assert state is not None and state.deadline is not None
    events = decide(state, FireTimer(SYSTEM, "deadline:1"), state.deadline, LEGACY, CALENDAR)
    missed = events[0]
    assert isinstance(missed, DeadlineMissed) and missed.extension_lapsed
    assert fold(events, state).pending_extension is None  # type: ignore[union-attr]


def test_an_unverified_report_raises_a_verification_overdue_to_the_supervisor_and_above():
    state, _ = run([(register(), NOW), (REPORT, NOW)])
    at = NOW + timedelta(days=10)
    events = decide(state, FireTimer(SYSTEM, "review:1"), at, DEFAULT, CALENDAR)
    assert types(events) == ["VerificationOverdue"]
    who = {n.recipient_id for n in notifications_for(state, events[0])}
    assert who == {VILLAGE.responsible_person, TOWNSHIP.responsible_person}


def test_reminders_earlier_than_the_moment_a_deadline_was_set_are_not_pending():
    state, _ = run([(register(deadline=NOW + timedelta(hours=12)), NOW)])
    assert [t.key for t in pending_timers(state, DEFAULT)] == ["deadline:1"]


def test_notification_step_keys_are_unique_per_event_and_recipient():
    state, history = run([(register_major(), NOW)])
    keys: list[str] = []
    replayed = None
    for event in history:
        keys += [n.step_key for n in notifications_for(replayed, event)]
        replayed = fold([event], replayed)
    assert len(keys) == len(set(keys)) > 0
    assert any(k.endswith(f"enterprise:{state.credit_code}") for k in keys)  # type: ignore[union-attr]


def test_only_a_supervisor_records_a_refusal():
    state, _ = run([(register(), NOW)])
    with pytest.raises(DomainError) as e:
        decide(state, RecordRefusal(Actor("x", Role.ADMIN), "拒不整改"), NOW, DEFAULT, CALENDAR)
    assert rule_of(e) == "case.refusal.supervisor_only"


def test_a_governance_plan_with_every_part_is_accepted():
    state, _ = run([(register_major(), NOW)])
    events = decide(state, SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW, DEFAULT, CALENDAR)
    assert types(events) == ["GovernancePlanSubmitted"]
    assert events[0].plan == PLAN  # type: ignore[attr-defined]
    assert fold(events, state).plan_submitted  # type: ignore[union-attr]
