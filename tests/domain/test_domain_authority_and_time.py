"""Given events, when a command, then events — who may withdraw a case and decide on a credit
record, what keeps an undecided extension request moving, which ids and instants a case can
be recorded with, and which reminders a catch-up still sends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.case import (
    CaseState,
    catch_up,
    decide,
    fold,
    notifications_for,
    pending_timers,
    validate_hazard_id,
)
from domain.case.commands import (
    Actor,
    CaseCommand,
    DecideExtension,
    FireTimer,
    ListHazard,
    ReportRectification,
    RequestExtension,
    Role,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.events import CaseEvent, ExtensionDecisionOverdue, ReminderLapsed
from domain.credit import (
    CreditState,
    decide_credit,
    fold_credit,
)
from domain.credit.commands import (
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FireCreditTimer,
    OpenProceeding,
    RecordCreditEvent,
    RevokeEarlyRemoval,
)
from domain.credit.events import EarlyRemovalApplied
from domain.errors import DomainError
from domain.grid import GridLevel
from domain.policy import CreditEventKind, ListingLevel
from tests.domain.domain_builders import (
    CALENDAR,
    CITY,
    CITY_SUPERVISOR,
    COUNTY,
    COUNTY_SUPERVISOR,
    DEFAULT,
    EDITION_2,
    EDITION_3,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    FIVE,
    LEGACY,
    NOW,
    PHOTO,
    PROVINCE,
    SHANGHAI,
    SYSTEM,
    TOWNSHIP,
    TOWNSHIP_SUPERVISOR,
    UNITLESS_SUPERVISOR,
    VILLAGE,
    VILLAGE_SUPERVISOR,
    register,
    register_major,
    run,
    supervisor_of,
    types,
)

GENERAL_DEADLINE = datetime(2025, 3, 19, tzinfo=SHANGHAI)  # P15D from Monday 3 March 09:00
SUPERVISOR_OF_COUNTY = supervisor_of("sup-county-4", COUNTY)
REPORT_NOW = ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,))


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def refused(
    state: CaseState | None, command: CaseCommand, now: datetime = NOW, policy=DEFAULT
) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as e:
        decide(state, command, now, policy, CALENDAR)
    return e.value


def fire_each_when_due(state: CaseState, until: datetime) -> tuple[CaseState, list[CaseEvent]]:
    """Fire the earliest timer at its due instant, as a running workflow does, until ``until``."""
    events: list[CaseEvent] = []
    while True:
        timers = pending_timers(state, DEFAULT, CALENDAR)
        if not timers or timers[0].due_at > until:
            return state, events
        fired = decide(state, FireTimer(SYSTEM, timers[0].key), timers[0].due_at, DEFAULT, CALENDAR)
        events += fired
        after = fold(fired, state)
        assert after is not None
        state = after


def escalated_to_township() -> CaseState:
    state, _ = run([(register(), NOW)])
    state, _ = catch_up(state, GENERAL_DEADLINE, DEFAULT, CALENDAR)
    assert state is not None and state.supervising_level is GridLevel.TOWNSHIP
    return state


# --- 1. withdrawal (撤销督办) is for the supervising unit or above -------------------------------


def test_a_unit_below_the_supervising_unit_may_not_withdraw_an_escalated_case():
    state = escalated_to_township()
    error = refused(state, WithdrawCase(VILLAGE_SUPERVISOR, "误报"), GENERAL_DEADLINE)
    assert (error.rule, error.field) == ("case.authority.below_supervising_unit", "actor.unit_code")
    events = decide(
        state, WithdrawCase(TOWNSHIP_SUPERVISOR, "误报"), GENERAL_DEADLINE, DEFAULT, CALENDAR
    )
    assert types(events) == ["CaseWithdrawn"]


def test_a_township_may_not_take_down_a_county_listing_by_withdrawing_the_case():
    state, _ = run([(register_major(), NOW)])
    assert state is not None and state.listing is not None
    assert state.listing.level is ListingLevel.COUNTY
    # The listing moved the supervision up to its authority: the county bureau.
    assert state.supervising_unit_code == state.listing.authority_unit_code == COUNTY.code
    error = refused(state, WithdrawCase(TOWNSHIP_SUPERVISOR, "误报"))
    assert error.rule == "case.authority.below_supervising_unit"
    events = decide(state, WithdrawCase(COUNTY_SUPERVISOR, "误报"), NOW, DEFAULT, CALENDAR)
    assert types(events) == ["HazardDelisted", "ListingPublished", "CaseWithdrawn"]


def test_a_city_listing_is_withdrawn_by_the_city_or_above_not_by_the_county():
    state, _ = run(
        [
            (register(), NOW),
            (ListHazard(CITY_SUPERVISOR, ListingLevel.CITY, listing_measures=FIVE), NOW),
        ]
    )
    assert state is not None and state.supervising_unit_code == CITY.code
    assert refused(state, WithdrawCase(COUNTY_SUPERVISOR, "误报")).rule == (
        "case.authority.below_supervising_unit"
    )
    province = supervisor_of("sup-province", PROVINCE)
    assert types(decide(state, WithdrawCase(province, "误报"), NOW, DEFAULT, CALENDAR))[-1] == (
        "CaseWithdrawn"
    )


def test_under_edition_1_any_supervisor_on_the_path_still_withdraws_as_recorded_cases_did():
    state, _ = run([(register_major(), NOW)], policy=LEGACY)
    events = decide(state, WithdrawCase(TOWNSHIP_SUPERVISOR, "误报"), NOW, LEGACY, CALENDAR)
    assert types(events) == ["HazardDelisted", "CaseWithdrawn"]


def test_a_supervisor_naming_a_level_that_contradicts_the_grid_path_is_refused():
    claims_county = Actor(
        "sup-x", Role.SUPERVISOR, unit_code=TOWNSHIP.code, unit_level=COUNTY.level
    )
    state = escalated_to_township()
    error = refused(state, WithdrawCase(claims_county, "误报"), GENERAL_DEADLINE)
    assert (error.rule, error.field) == ("case.authority.unit_level_mismatch", "actor.unit_level")


# --- 2. an undecided extension request is alerted further up the grid until it is decided ------


def requested() -> tuple[CaseState, datetime]:
    """The enterprise asked on Monday 3 March; the village unit decides within 2 working days."""
    state, _ = run([(register(), NOW), (extension_to(at(2025, 4, 30)), NOW)])
    assert state is not None and state.pending_extension is not None
    return state, state.pending_extension.decide_by


def extension_to(deadline: datetime) -> RequestExtension:
    return RequestExtension(ENTERPRISE_ACTOR, deadline, "设备到货延迟", "停用工位, 专人值守")


def test_the_decision_alert_repeats_every_decide_within_one_grid_level_further_up():
    state, decide_by = requested()
    assert decide_by == at(2025, 3, 6, 0)  # 24:00 on Wednesday 5 March
    state, events = fire_each_when_due(state, at(2025, 3, 18, 12))
    alerts = [e for e in events if isinstance(e, ExtensionDecisionOverdue)]
    # Every two working days after the one before: Friday 7, Tuesday 11, Thursday 13, Monday 17.
    assert [(a.timer_key, a.at) for a in alerts] == [
        ("decision:1", decide_by),
        ("decision:1:2", at(2025, 3, 8, 0)),
        ("decision:1:3", at(2025, 3, 12, 0)),
        ("decision:1:4", at(2025, 3, 14, 0)),
        ("decision:1:5", at(2025, 3, 18, 0)),
    ]
    assert [a.alerted_unit_code for a in alerts] == [
        None,  # the first alert: the deciding unit and the one above (recorded so before)
        COUNTY.code,
        CITY.code,
        PROVINCE.code,
        PROVINCE.code,  # the top of the grid path, where it stays
    ]
    assert [a.alert_no for a in alerts] == [1, 2, 3, 4, 5]
    assert all(a.deciding_unit_code == VILLAGE.code and a.decide_by == decide_by for a in alerts)
    assert "DeadlineMissed" not in types(events)  # the request was made in time
    # Still undecided: the next alert is what the case waits for.
    assert [t.key for t in pending_timers(state, DEFAULT, CALENDAR)] == ["decision:1:6"]


def test_each_repeated_alert_tells_the_deciding_unit_and_the_level_it_has_reached():
    state, decide_by = requested()
    state, _ = catch_up(state, decide_by, DEFAULT, CALENDAR)
    assert state is not None
    second = decide(state, FireTimer(SYSTEM, "decision:1:2"), at(2025, 3, 8, 0), DEFAULT, CALENDAR)
    told = {(n.recipient_id, n.reason) for n in notifications_for(state, second[0])}
    assert told == {
        (VILLAGE.responsible_person, "extension_decision_overdue"),
        (COUNTY.responsible_person, "extension_decision_overdue"),
    }


def test_a_decision_after_the_alerts_ends_them_and_moves_the_deadline():
    state, _ = requested()
    state, _ = catch_up(state, at(2025, 3, 20), DEFAULT, CALENDAR)
    after = fold(
        decide(
            state,
            DecideExtension(VILLAGE_SUPERVISOR, True, "同意"),
            at(2025, 3, 20),
            DEFAULT,
            CALENDAR,
        ),
        state,
    )
    assert after is not None and after.deadline == at(2025, 4, 30)
    kinds = {t.kind for t in pending_timers(after, DEFAULT, CALENDAR, at(2025, 3, 20))}
    assert kinds == {"reminder", "deadline"}


def test_while_a_request_is_pending_the_case_always_has_a_timer_to_wait_for():
    state, _ = requested()
    now = NOW
    for _ in range(40):
        timers = pending_timers(state, DEFAULT, CALENDAR, now)
        assert timers, "an open case with a pending request waits for a timer"
        now = max(now, timers[0].due_at)
        state = fold(decide(state, FireTimer(SYSTEM, timers[0].key), now, DEFAULT, CALENDAR), state)
        assert state is not None and state.is_open
    assert state.pending_extension is not None and state.escalation_index == 0


def test_under_edition_1_a_pending_request_has_no_decision_alert():
    far = register(deadline=at(2025, 4, 30))  # edition 1 asks 20 working days ahead of any case
    state, _ = run([(far, NOW), (extension_to(at(2025, 5, 30)), NOW)], policy=LEGACY)
    kinds = [t.kind for t in pending_timers(state, LEGACY, CALENDAR)]
    assert "extension_decision" not in kinds and "deadline" in kinds


# --- 4. a hazard id the case can be recorded under ------------------------------------------


@pytest.mark.parametrize("bad", ["H 1", "-H1", "H/1", "隐患1", "H" * 81])
def test_a_hazard_id_the_case_cannot_be_stored_under_is_refused_at_registration(bad: str):
    error = refused(None, register(hazard_id=bad))
    assert (error.rule, error.field) == ("case.register.hazard_id_pattern", "hazard_id")


def test_letters_digits_dots_underscores_and_dashes_make_a_hazard_id():
    assert validate_hazard_id("H-2025.03_a" + "x" * 69) == "H-2025.03_a" + "x" * 69
    assert types(decide(None, register(hazard_id="2025.H_1-a"), NOW, DEFAULT, CALENDAR))[0] == (
        "HazardRegistered"
    )


# --- 5. instants outside years 1900..9998 are refused, naming the field ------------------------

EARLY = datetime.fromisoformat("0001-01-01T00:00:00+05:00")
LATE = datetime.fromisoformat("9999-12-31T23:59:59-05:00")


def test_a_found_at_before_1900_is_refused_not_overflowed():
    error = refused(None, register(found_at=EARLY))
    assert (error.rule, error.field) == ("time.out_of_range", "found_at")
    error = refused(None, register(found_at=datetime(1899, 12, 31, tzinfo=SHANGHAI)))
    assert error.rule == "time.out_of_range"


def test_a_deadline_after_9998_is_refused_wherever_a_person_gives_one():
    error = refused(None, register(deadline=LATE))
    assert (error.rule, error.field) == ("time.out_of_range", "deadline")
    state, _ = run([(register(), NOW)])
    for command, field in (
        (extension_to(LATE), "requested_deadline"),
        (
            ListHazard(
                COUNTY_SUPERVISOR, ListingLevel.COUNTY, deadline=LATE, listing_measures=FIVE
            ),
            "deadline",
        ),
    ):
        error = refused(state, command)
        assert (error.rule, error.field) == ("time.out_of_range", field)
    reported, _ = run(
        [(register(), NOW), (ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,)), NOW)]
    )
    error = refused(reported, VerifyRectification(COUNTY_SUPERVISOR, False, new_deadline=LATE))
    assert (error.rule, error.field) == ("time.out_of_range", "new_deadline")
    pending, _ = requested()
    error = refused(pending, DecideExtension(VILLAGE_SUPERVISOR, True, new_deadline=LATE))
    assert (error.rule, error.field) == ("time.out_of_range", "new_deadline")


def test_the_edges_of_the_window_are_accepted():
    events = decide(
        None,
        register(
            found_at=datetime(1900, 1, 1, tzinfo=SHANGHAI),
            deadline=datetime.fromisoformat("9998-12-31T23:59:59-05:00"),
        ),
        NOW,
        DEFAULT,
        CALENDAR,
    )
    assert types(events) == ["HazardRegistered", "RectificationNoticeIssued"]
    assert events[1].deadline.year == 9999  # type: ignore[attr-defined]  # in UTC


def test_a_credit_event_from_outside_the_window_is_refused():
    command = RecordCreditEvent(
        SYSTEM, ENTERPRISE.credit_code, ENTERPRISE.name, "H-1", CreditEventKind.REFUSAL, EARLY
    )
    with pytest.raises(DomainError) as e:
        decide_credit(None, command, NOW, DEFAULT, CALENDAR)
    assert (e.value.rule, e.value.field) == ("time.out_of_range", "occurred_at")
    with pytest.raises(DomainError) as e:
        decide_credit(None, command, LATE, DEFAULT, CALENDAR)
    assert (e.value.rule, e.value.field) == ("time.out_of_range", "now")


# --- 6. a catch-up after the deadline sends no "3 days before" ---------------------------------


def test_reminders_of_a_deadline_already_passed_are_not_sent_on_catch_up():
    # Edition 3 dropped them in silence; its cases decide so still (edition 4: below).
    state, _ = run([(register(), NOW)], policy=EDITION_3)
    after_outage = GENERAL_DEADLINE + timedelta(days=2)
    _, events = catch_up(state, after_outage, EDITION_3, CALENDAR)
    assert types(events) == ["DeadlineMissed", "CaseEscalated", "CreditTriggerRaised"]
    error = refused(state, FireTimer(SYSTEM, "reminder:1:P3D"), after_outage, EDITION_3)
    assert (error.rule, error.field) == ("case.timer.not_pending", "key")
    # A reminder that is late but whose deadline is still ahead is sent.
    _, late_reminders = catch_up(state, GENERAL_DEADLINE - timedelta(hours=2), EDITION_3, CALENDAR)
    assert types(late_reminders) == ["ReminderDue", "ReminderDue"]


def test_under_edition_4_a_reminder_whose_deadline_passed_unsent_is_recorded_as_lapsed():
    state, _ = run([(register(), NOW)])
    assert DEFAULT.edition >= 4
    after_outage = GENERAL_DEADLINE + timedelta(days=2)
    _, events = catch_up(state, after_outage, DEFAULT, CALENDAR)
    assert types(events) == [
        "ReminderLapsed",
        "ReminderLapsed",
        "DeadlineMissed",
        "CaseEscalated",
        "CreditTriggerRaised",
    ]
    three, one = events[0], events[1]
    assert isinstance(three, ReminderLapsed) and isinstance(one, ReminderLapsed)
    assert (three.timer_key, three.before) == ("reminder:1:P3D", "P3D")
    assert three.due_at == GENERAL_DEADLINE - timedelta(days=3)
    assert one.due_at == GENERAL_DEADLINE - timedelta(days=1)
    assert three.deadline == GENERAL_DEADLINE and three.at == after_outage  # noticed then
    # Recorded, and told to nobody: the enterprise was not reminded, and is not now.
    assert notifications_for(state, three) == []
    # A reminder that is late but whose deadline is still ahead is sent, as before.
    _, late_reminders = catch_up(state, GENERAL_DEADLINE - timedelta(hours=2), DEFAULT, CALENDAR)
    assert types(late_reminders) == ["ReminderDue", "ReminderDue"]
    # A reminder sent in time never lapses; only the one missed is recorded so.
    sent, _ = catch_up(state, GENERAL_DEADLINE - timedelta(days=2), DEFAULT, CALENDAR)
    _, events = catch_up(sent, after_outage, DEFAULT, CALENDAR)
    assert types(events)[:2] == ["ReminderLapsed", "DeadlineMissed"]
    assert events[0].timer_key == "reminder:1:P1D"  # type: ignore[attr-defined]


def test_under_edition_4_a_lapsed_reminder_is_fired_once_and_only_by_the_system():
    state, _ = run([(register(), NOW)])
    after_outage = GENERAL_DEADLINE + timedelta(hours=1)
    timers = pending_timers(state, DEFAULT, CALENDAR, after_outage)
    assert [(t.key, t.kind) for t in timers] == [
        ("reminder:1:P3D", "reminder_lapsed"),
        ("reminder:1:P1D", "reminder_lapsed"),
        ("deadline:1", "deadline"),
    ]
    error = refused(state, FireTimer(SUPERVISOR_OF_COUNTY, "reminder:1:P3D"), after_outage)
    assert error.rule == "case.timer.system_only"
    lapsed = fold(
        decide(state, FireTimer(SYSTEM, "reminder:1:P3D"), after_outage, DEFAULT, CALENDAR), state
    )
    error = refused(lapsed, FireTimer(SYSTEM, "reminder:1:P3D"), after_outage)
    assert error.rule == "case.timer.already_fired"
    # A person's command waits for the lapse to be recorded first, like any due timer.
    error = refused(lapsed, REPORT_NOW, after_outage)
    assert error.rule == "case.timer.due_first" and "reminder:1:P1D" in error.message


def test_under_edition_1_a_catch_up_still_sends_the_reminders_first_as_recorded_cases_did():
    state, _ = run([(register(), NOW)], policy=LEGACY)
    _, events = catch_up(state, at(2025, 3, 25), LEGACY, CALENDAR)
    assert types(events)[:3] == ["ReminderDue", "ReminderDue", "DeadlineMissed"]


def test_a_pending_request_past_the_deadline_waits_for_the_alert_not_for_old_reminders():
    state, _ = requested()
    past = GENERAL_DEADLINE + timedelta(days=1)
    state, _ = catch_up(state, past, DEFAULT, CALENDAR)
    timers = pending_timers(state, DEFAULT, CALENDAR, past)
    assert [t.kind for t in timers] == ["extension_decision"]
    assert timers[0].due_at > past


# --- 11. credit decisions are the department's (county or above) -------------------------------


def credit(*steps: tuple[CreditCommand, datetime], policy=DEFAULT) -> CreditState:  # type: ignore[no-untyped-def]
    state: CreditState | None = None
    for command, now in steps:
        state = fold_credit(decide_credit(state, command, now, policy, CALENDAR), state)
    assert state is not None
    return state


def with_open_window(policy=DEFAULT) -> tuple[CreditState, datetime]:  # type: ignore[no-untyped-def]
    recorded = RecordCreditEvent(
        SYSTEM, ENTERPRISE.credit_code, ENTERPRISE.name, "H-1", CreditEventKind.REFUSAL, NOW
    )
    state = credit((recorded, NOW), policy=policy)
    assert state.proceeding is not None and state.proceeding.objection_until is not None
    closes = state.proceeding.objection_until
    key = f"objection:{state.proceeding.proceeding_no}"
    return credit((recorded, NOW), (FireCreditTimer(SYSTEM, key), closes), policy=policy), closes


def credit_refusal(state: CreditState, command: CreditCommand, now: datetime) -> DomainError:
    with pytest.raises(DomainError) as e:
        decide_credit(state, command, now, DEFAULT, CALENDAR)
    return e.value


def test_a_village_or_township_supervisor_cannot_blacklist_an_enterprise():
    state, closes = with_open_window()
    for below in (VILLAGE_SUPERVISOR, TOWNSHIP_SUPERVISOR):
        error = credit_refusal(state, DecideListing(below, True, "令11号"), closes)
        assert (error.rule, error.field) == ("credit.authority.level_below", "actor.unit_level")
    error = credit_refusal(state, DecideListing(UNITLESS_SUPERVISOR, True, "令11号"), closes)
    assert (error.rule, error.field) == ("credit.authority.unit_required", "actor.unit_level")
    for allowed in (COUNTY_SUPERVISOR, CITY_SUPERVISOR):
        events = decide_credit(
            state, DecideListing(allowed, True, "令11号"), closes, DEFAULT, CALENDAR
        )
        assert "BlacklistPublished" in [e.EVENT_TYPE for e in events]


def test_opening_removing_early_and_revoking_are_the_county_bureaus_too():
    opened = credit(
        (
            RecordCreditEvent(
                SYSTEM,
                ENTERPRISE.credit_code,
                ENTERPRISE.name,
                "H-1",
                CreditEventKind.ESCALATION,
                NOW,
            ),
            NOW,
        )
    )
    error = credit_refusal(opened, OpenProceeding(TOWNSHIP_SUPERVISOR, "accident", "较大事故"), NOW)
    assert error.rule == "credit.authority.level_below"
    assert decide_credit(
        opened, OpenProceeding(COUNTY_SUPERVISOR, "accident", "较大事故"), NOW, DEFAULT, CALENDAR
    )
    state, closes = with_open_window()
    listed = fold_credit(
        decide_credit(
            state, DecideListing(COUNTY_SUPERVISOR, True, "令11号"), closes, DEFAULT, CALENDAR
        ),
        state,
    )
    assert listed is not None and listed.blacklist is not None
    later = listed.blacklist.early_removal_from
    applied = fold_credit([EarlyRemovalApplied("已整改", ENTERPRISE_ACTOR.id, later)], listed)
    assert applied is not None
    error = credit_refusal(applied, DecideEarlyRemoval(TOWNSHIP_SUPERVISOR, True, "修复"), later)
    assert error.rule == "credit.authority.level_below"
    removed = fold_credit(
        decide_credit(
            applied, DecideEarlyRemoval(COUNTY_SUPERVISOR, True, "修复"), later, DEFAULT, CALENDAR
        ),
        applied,
    )
    assert removed is not None and not removed.is_blacklisted
    error = credit_refusal(removed, RevokeEarlyRemoval(VILLAGE_SUPERVISOR, "弄虚作假"), later)
    assert error.rule == "credit.authority.level_below"
    assert decide_credit(
        removed, RevokeEarlyRemoval(COUNTY_SUPERVISOR, "弄虚作假"), later, DEFAULT, CALENDAR
    )


def test_a_policy_without_decided_by_level_lets_any_supervisor_decide_as_before():
    assert DEFAULT.credit.decided_by_level is GridLevel.COUNTY
    assert LEGACY.credit.decided_by_level is None  # as the policies recorded in histories
    data = DEFAULT.to_data()
    del data["credit"]["decided_by_level"]
    from domain.policy import Policy

    without = Policy.from_data(data)
    state, closes = with_open_window(without)
    events = decide_credit(
        state, DecideListing(VILLAGE_SUPERVISOR, True, "令11号"), closes, without, CALENDAR
    )
    assert "BlacklistPublished" in [e.EVENT_TYPE for e in events]
    unitless = Actor("sup-nounit", Role.SUPERVISOR)
    assert decide_credit(
        state, DecideListing(unitless, False, "不予列入"), closes, without, CALENDAR
    )


# --- edition 2 cases decide as they were recorded ----------------------------------------------


def test_under_edition_2_a_unit_on_the_path_below_the_supervising_unit_still_withdraws():
    state, _ = run([(register(), NOW)], policy=EDITION_2)
    state, _ = catch_up(state, GENERAL_DEADLINE, EDITION_2, CALENDAR)
    assert state is not None and state.supervising_level is GridLevel.TOWNSHIP
    events = decide(
        state, WithdrawCase(VILLAGE_SUPERVISOR, "误报"), GENERAL_DEADLINE, EDITION_2, CALENDAR
    )
    assert types(events) == ["CaseWithdrawn"]


def test_under_edition_2_an_undecided_request_is_alerted_once_and_then_waits():
    state, _ = run([(register(), NOW), (extension_to(at(2025, 4, 30)), NOW)], policy=EDITION_2)
    assert state is not None and state.pending_extension is not None
    decide_by = state.pending_extension.decide_by
    state, events = catch_up(state, at(2025, 3, 20), EDITION_2, CALENDAR)
    assert [e.timer_key for e in events if isinstance(e, ExtensionDecisionOverdue)] == [
        "decision:1"
    ]
    assert events[0].at == at(2025, 3, 20) and events[0].decide_by == decide_by  # type: ignore[attr-defined]
    assert pending_timers(state, EDITION_2, CALENDAR, at(2025, 3, 20)) == []


def test_under_edition_2_a_catch_up_still_sends_the_reminders_first():
    state, _ = run([(register(), NOW)], policy=EDITION_2)
    _, events = catch_up(state, GENERAL_DEADLINE + timedelta(days=2), EDITION_2, CALENDAR)
    assert types(events)[:3] == ["ReminderDue", "ReminderDue", "DeadlineMissed"]


# --- an alert counted into a year without calendar data waits for that year, not on it ---------


def test_an_alert_not_yet_due_in_a_year_without_calendar_data_blocks_nothing_before_it():
    """chinese-calendar knows 2004-2026. An unlisted request made on Tuesday 22 December 2026
    is alerted on 25, 29 and 31 December; the next alert, two working days after 30 December,
    counts 31 December and one day of 2027: it cannot be due before 24:00 on 1 January. Until
    then it stands there and blocks nothing, so the decision that ends the wait is taken."""
    from domain.calendar import WorkingCalendar
    from domain.errors import CalendarDataMissing

    package_only = WorkingCalendar()
    asked = at(2026, 12, 22)
    steps = [
        (register(deadline=at(2026, 12, 31, 12)), asked),
        (extension_to(at(2027, 1, 29)), asked),
    ]
    state, _ = run(steps, calendar=package_only)
    new_year = datetime(2027, 1, 1, tzinfo=SHANGHAI)
    now = asked
    alerts = []
    while True:
        first = pending_timers(state, DEFAULT, package_only, now)[0]
        if first.due_at >= new_year:
            break
        now = max(now, first.due_at)
        fired = decide(state, FireTimer(SYSTEM, first.key), now, DEFAULT, package_only)
        alerts += [e.at for e in fired if isinstance(e, ExtensionDecisionOverdue)]
        state = fold(fired, state)
    assert alerts == [at(2026, 12, 25, 0), at(2026, 12, 29, 0), at(2026, 12, 31, 0)]
    earliest = datetime(2027, 1, 2, tzinfo=SHANGHAI)  # 24:00 on 1 January
    assert (first.key, first.due_at) == ("decision:1:4", earliest)
    assert pending_timers(state, DEFAULT, package_only, new_year)[0].due_at == earliest
    decided = decide(
        state, DecideExtension(VILLAGE_SUPERVISOR, False, "理由不足"), now, DEFAULT, package_only
    )
    assert types(decided)[0] == "ExtensionRejected"
    # From then on the alert may be due: without 2027's data, that is the case's block.
    with pytest.raises(CalendarDataMissing):
        pending_timers(state, DEFAULT, package_only, earliest)
