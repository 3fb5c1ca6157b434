"""The credit record: triggers, the listing proceeding's lifecycle, ratings, whitelist."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.credit import (
    CreditState,
    credit_command_from_data,
    credit_command_to_data,
    credit_event_from_data,
    credit_event_to_data,
    credit_state_to_data,
    decide_credit,
    fold_credit,
    inspections_per_year,
    pending_credit_timers,
    whitelist_eligible,
)
from domain.credit.commands import (
    CREDIT_COMMAND_CLASSES,
    AcknowledgeCreditService,
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
    FireCreditTimer,
    OpenCreditRecord,
    OpenProceeding,
    RecordCreditEvent,
    RevokeEarlyRemoval,
)
from domain.credit.events import (
    BlacklistPublished,
    CreditEvent,
    ProceedingNoticeIssued,
    RatingChanged,
)
from domain.errors import DomainError
from domain.policy import CreditEventKind
from tests.domain.domain_builders import (
    CALENDAR,
    DEFAULT,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    LEGACY,
    NOW,
    SHANGHAI,
    SUPERVISOR,
    SYSTEM,
)


def record(kind: CreditEventKind, case_id: str = "H-1", at: datetime = NOW) -> RecordCreditEvent:
    return RecordCreditEvent(SYSTEM, ENTERPRISE.credit_code, ENTERPRISE.name, case_id, kind, at)


def run(
    steps: list[tuple[CreditCommand, datetime]],
) -> tuple[CreditState | None, list[CreditEvent]]:
    state: CreditState | None = None
    history: list[CreditEvent] = []
    for command, now in steps:
        events = decide_credit(state, command, now, DEFAULT, CALENDAR)
        history += events
        state = fold_credit(events, state)
    return state, history


SERVED = f"credit-{ENTERPRISE.credit_code}:0f1e2d3c:enterprise"


def names(events: list[CreditEvent]) -> list[str]:
    return [e.EVENT_TYPE for e in events]


def listed_state() -> tuple[CreditState, list[CreditEvent], datetime]:
    state, history = run([(record(CreditEventKind.MAJOR_OVERDUE_AT_TOP), NOW)])
    assert state is not None and state.proceeding is not None
    window_end = state.proceeding.objection_until
    assert window_end is not None
    key = f"objection:{state.proceeding.proceeding_no}"
    for command in (FireCreditTimer(SYSTEM, key), DecideListing(SUPERVISOR, True, "令11号 第X条")):
        events = decide_credit(state, command, window_end, DEFAULT, CALENDAR)
        history += events
        state = fold_credit(events, state)
        assert state is not None
    return state, history, window_end


def test_a_major_hazard_overdue_at_the_top_opens_a_proceeding_with_a_notice():
    _state, events = run([(record(CreditEventKind.MAJOR_OVERDUE_AT_TOP), NOW)])
    assert names(events)[:4] == [
        "CreditRecordOpened",
        "CreditEventRecorded",
        "ProceedingOpened",
        "ProceedingNoticeIssued",
    ]
    notice = events[3]
    assert isinstance(notice, ProceedingNoticeIssued)
    # 5 working days after Monday 3 March: 24:00 on Monday 10 March.
    assert notice.objection_until == datetime(2025, 3, 11, tzinfo=SHANGHAI)
    assert isinstance(events[-1], RatingChanged) and events[-1].new == "C"  # 100 - 30


def test_a_single_escalation_opens_no_proceeding_but_the_third_within_a_year_does():
    steps = [
        (record(CreditEventKind.ESCALATION, f"H-{i}"), NOW + timedelta(days=i)) for i in range(3)
    ]
    _, events = run(steps[:2])
    assert "ProceedingOpened" not in names(events)
    _, events = run(steps)
    assert names(events).count("ProceedingOpened") == 1


def test_escalations_older_than_the_window_do_not_count():
    steps = [
        (record(CreditEventKind.ESCALATION, f"H-{i}"), NOW + timedelta(days=200 * i))
        for i in range(3)
    ]
    _, events = run(steps)
    assert "ProceedingOpened" not in names(events)


def test_the_listing_waits_for_the_objection_window_to_close():
    state, _ = run([(record(CreditEventKind.REFUSAL), NOW)])
    with pytest.raises(DomainError) as e:
        decide_credit(state, DecideListing(SUPERVISOR, True, "basis"), NOW, DEFAULT, CALENDAR)
    assert e.value.rule == "credit.decide.objection_window_open"
    events = decide_credit(state, FileObjection(ENTERPRISE_ACTOR, "已整改"), NOW, DEFAULT, CALENDAR)
    assert names(events) == ["ObjectionFiled"]


def test_an_objection_after_the_window_is_refused():
    state, _ = run([(record(CreditEventKind.REFUSAL), NOW)])
    assert state is not None and state.proceeding is not None
    late = state.proceeding.objection_until
    assert late is not None
    with pytest.raises(DomainError) as e:
        decide_credit(state, FileObjection(ENTERPRISE_ACTOR, "x"), late, DEFAULT, CALENDAR)
    assert e.value.rule == "credit.objection.window_closed"


def test_a_listing_is_published_for_three_years_with_early_removal_after_twelve_months():
    state, history, _at = listed_state()
    published = next(e for e in history if isinstance(e, BlacklistPublished))
    assert published.expires_at == datetime(2028, 3, 11, tzinfo=SHANGHAI)
    assert published.early_removal_from == datetime(2026, 3, 11, tzinfo=SHANGHAI)
    assert state.is_blacklisted and state.rating == "D"
    assert [t.kind for t in pending_credit_timers(state, DEFAULT)] == ["expiry"]


def test_a_decision_not_to_list_closes_the_proceeding():
    state, _ = run([(record(CreditEventKind.REFUSAL), NOW)])
    assert state is not None and state.proceeding is not None
    end = state.proceeding.objection_until
    assert end is not None
    key = f"objection:{state.proceeding.proceeding_no}"
    state = fold_credit(
        decide_credit(state, FireCreditTimer(SYSTEM, key), end, DEFAULT, CALENDAR), state
    )
    events = decide_credit(
        state, DecideListing(SUPERVISOR, False, "情节轻微"), end, DEFAULT, CALENDAR
    )
    after = fold_credit(events, state)
    assert after is not None and after.proceeding is None and not after.is_blacklisted


def test_early_removal_may_not_be_applied_for_before_twelve_months():
    state, _, at = listed_state()
    with pytest.raises(DomainError) as e:
        decide_credit(state, ApplyEarlyRemoval(ENTERPRISE_ACTOR, "已整改"), at, DEFAULT, CALENDAR)
    assert e.value.rule == "credit.early_removal.too_early"


def test_an_early_removal_obtained_by_false_statements_is_revoked_with_the_original_expiry():
    state, _, at = listed_state()
    year_later = at + timedelta(days=366)
    for command in (
        ApplyEarlyRemoval(ENTERPRISE_ACTOR, "已整改并培训"),
        DecideEarlyRemoval(SUPERVISOR, True, "符合条件"),
    ):
        state = fold_credit(decide_credit(state, command, year_later, DEFAULT, CALENDAR), state)  # type: ignore[assignment]
    assert not state.is_blacklisted
    assert pending_credit_timers(state, DEFAULT) == []
    original = state.blacklist.expires_at  # type: ignore[union-attr]
    events = decide_credit(
        state, RevokeEarlyRemoval(SUPERVISOR, "弄虚作假"), year_later, DEFAULT, CALENDAR
    )
    restored = fold_credit(events, state)
    assert restored is not None and restored.is_blacklisted
    assert restored.blacklist is not None and restored.blacklist.expires_at == original
    assert restored.rating == "D"


def test_the_listing_expires_automatically_at_its_end():
    state, _, _ = listed_state()
    (timer,) = pending_credit_timers(state, DEFAULT)
    with pytest.raises(DomainError) as e:
        decide_credit(
            state,
            FireCreditTimer(SYSTEM, timer.key),
            timer.due_at - timedelta(seconds=1),
            DEFAULT,
            CALENDAR,
        )
    assert e.value.rule == "credit.timer.not_due"
    events = decide_credit(
        state, FireCreditTimer(SYSTEM, timer.key), timer.due_at, DEFAULT, CALENDAR
    )
    assert names(events)[0] == "BlacklistExpired"
    after = fold_credit(events, state)
    assert after is not None and not after.is_blacklisted and after.rating == "A"
    with pytest.raises(DomainError) as e:
        decide_credit(after, FireCreditTimer(SYSTEM, timer.key), timer.due_at, DEFAULT, CALENDAR)
    assert e.value.rule == "credit.timer.already_fired"


def test_a_supervisor_may_open_a_proceeding_on_another_ground_but_not_twice():
    state, _ = run([(OpenCreditRecord(SUPERVISOR, ENTERPRISE.credit_code, ENTERPRISE.name), NOW)])
    cmd = OpenProceeding(SUPERVISOR, "较大事故", "令11号 第六条")
    events = decide_credit(state, cmd, NOW, DEFAULT, CALENDAR)
    assert names(events) == ["ProceedingOpened", "ProceedingNoticeIssued"]
    with pytest.raises(DomainError) as e:
        decide_credit(fold_credit(events, state), cmd, NOW, DEFAULT, CALENDAR)
    assert e.value.rule == "credit.proceeding.already_open"


def test_whitelist_eligibility_needs_three_clean_years_and_an_a_rating():
    state, _ = run([(OpenCreditRecord(SUPERVISOR, ENTERPRISE.credit_code, ENTERPRISE.name), NOW)])
    assert not whitelist_eligible(state, NOW + timedelta(days=365), DEFAULT, CALENDAR)
    assert whitelist_eligible(state, datetime(2028, 3, 4, tzinfo=SHANGHAI), DEFAULT, CALENDAR)
    marked, _ = run(
        [
            (OpenCreditRecord(SUPERVISOR, ENTERPRISE.credit_code, ENTERPRISE.name), NOW),
            (
                record(CreditEventKind.ESCALATION, at=NOW + timedelta(days=400)),
                NOW + timedelta(days=400),
            ),
        ]
    )
    assert not whitelist_eligible(marked, datetime(2028, 3, 4, tzinfo=SHANGHAI), DEFAULT, CALENDAR)


def test_a_credit_event_for_another_enterprise_is_refused():
    state, _ = run([(record(CreditEventKind.ESCALATION), NOW)])
    other = RecordCreditEvent(
        SYSTEM, "91350100M000100Y43", "x", "H-9", CreditEventKind.ESCALATION, NOW
    )
    with pytest.raises(DomainError) as e:
        decide_credit(state, other, NOW, DEFAULT, CALENDAR)
    assert e.value.rule == "credit.record.other_enterprise"


def test_every_credit_event_and_command_round_trips_through_json_data():
    _, history, at = listed_state()
    state = fold_credit(history)
    year_later = at + timedelta(days=366)
    commands: list[CreditCommand] = [
        record(CreditEventKind.REFUSAL),
        OpenCreditRecord(SUPERVISOR, ENTERPRISE.credit_code, ENTERPRISE.name),
        OpenProceeding(SUPERVISOR, "g", "b"),
        FileObjection(ENTERPRISE_ACTOR, "s"),
        DecideListing(SUPERVISOR, True, "b"),
        ApplyEarlyRemoval(ENTERPRISE_ACTOR, "s"),
        DecideEarlyRemoval(SUPERVISOR, False, "r"),
        RevokeEarlyRemoval(SUPERVISOR, "r"),
        FireCreditTimer(SYSTEM, "expiry:x"),
        AcknowledgeCreditService(ENTERPRISE_ACTOR, SERVED, "credit_ListingDecided"),
    ]
    assert {type(c) for c in commands} == set(CREDIT_COMMAND_CLASSES)
    for c in commands:
        assert credit_command_from_data(c.COMMAND_TYPE, 1, credit_command_to_data(c)) == c
    for command in (
        AcknowledgeCreditService(ENTERPRISE_ACTOR, SERVED, "credit_ListingDecided"),
        ApplyEarlyRemoval(ENTERPRISE_ACTOR, "s"),
        DecideEarlyRemoval(SUPERVISOR, False, "r"),
    ):
        events = decide_credit(state, command, year_later, DEFAULT, CALENDAR)
        history += events
        state = fold_credit(events, state)
    for e in history:
        assert credit_event_from_data(e.EVENT_TYPE, 1, credit_event_to_data(e)) == e
    assert credit_state_to_data(fold_credit(history)) == credit_state_to_data(state)


# --- notice, publication, inspection frequency (policy edition 2) -----------------------------


def test_the_notice_states_the_reasons_from_the_trigger_the_legal_basis_and_the_right_to_object():
    _, events = run([(record(CreditEventKind.MAJOR_OVERDUE_AT_TOP, "H-7"), NOW)])
    notice = next(e for e in events if isinstance(e, ProceedingNoticeIssued))
    assert notice.reasons == "重大事故隐患经逐级督办至最高层级仍逾期未整改 (案件 H-7)"
    assert DEFAULT.credit.notice is not None
    assert notice.basis == DEFAULT.credit.notice.basis and "应急管理部令第11号" in notice.basis
    assert notice.rights.startswith(DEFAULT.credit.notice.rights)
    assert notice.objection_until.astimezone(SHANGHAI).isoformat() in notice.rights  # by when
    # The notice travels with the notification: its data carries all three.
    data = credit_event_to_data(notice)
    assert {"reasons", "basis", "rights"} <= set(data)


def test_a_notice_for_three_escalations_and_for_a_supervisors_ground_states_its_reasons():
    steps = [
        (record(CreditEventKind.ESCALATION, f"H-{i}"), NOW + timedelta(days=i)) for i in range(3)
    ]
    _, events = run(steps)
    notice = next(e for e in events if isinstance(e, ProceedingNoticeIssued))
    assert notice.reasons == "P12M 内事故隐患逾期升级 3 次 (案件 H-2)"
    opened = decide_credit(
        fold_credit(run([(OpenCreditRecord(SUPERVISOR, ENTERPRISE.credit_code, "x"), NOW)])[1]),
        OpenProceeding(SUPERVISOR, "发生较大生产安全事故", "令11号 第六条第(二)项"),
        NOW,
        DEFAULT,
        CALENDAR,
    )
    notice = next(e for e in opened if isinstance(e, ProceedingNoticeIssued))
    assert (notice.reasons, notice.basis) == ("发生较大生产安全事故", "令11号 第六条第(二)项")


def test_an_edition_1_notice_carries_the_window_only_as_recorded_ones_do():
    state = None
    events = decide_credit(state, record(CreditEventKind.REFUSAL), NOW, LEGACY, CALENDAR)
    notice = next(e for e in events if isinstance(e, ProceedingNoticeIssued))
    assert (notice.reasons, notice.basis, notice.rights) == ("", "", "")
    assert set(credit_event_to_data(notice)) == {"proceeding_no", "objection_until", "at"}


def test_the_blacklist_is_published_with_the_decision_it_publishes_and_its_legal_deadline():
    _, history, decided_at = listed_state()
    published = next(e for e in history if isinstance(e, BlacklistPublished))
    assert published.decided_at == decided_at == published.at
    # 7 working days after the decision at 00:00 on Tuesday 11 March (12–14, 17–20 March):
    # 24:00 on Thursday 20 March.
    assert published.publish_by == datetime(2025, 3, 21, tzinfo=SHANGHAI)
    assert published.at <= published.publish_by


def test_the_inspection_frequency_follows_the_grade_and_a_d_enterprise_is_inspected_four_times():
    clean, _ = run([(OpenCreditRecord(SUPERVISOR, ENTERPRISE.credit_code, ENTERPRISE.name), NOW)])
    assert clean is not None
    assert inspections_per_year(clean, NOW, DEFAULT, CALENDAR) == 1  # A
    state, _, at = listed_state()
    assert inspections_per_year(state, at, DEFAULT, CALENDAR) == 4  # on the list: D
    assert inspections_per_year(state, at, LEGACY, CALENDAR) is None  # no frequencies in it


# --- 签收: the enterprise acknowledges a credit notice served on it -------------------------


def test_the_enterprise_acknowledges_its_listing_decision_and_nothing_else_changes():
    state, _history, at = listed_state()
    events = decide_credit(
        state,
        AcknowledgeCreditService(ENTERPRISE_ACTOR, SERVED, "credit_ListingDecided"),
        at,
        DEFAULT,
        CALENDAR,
    )
    assert names(events) == ["CreditServiceAcknowledged"]
    assert events[0].acknowledged_by == ENTERPRISE_ACTOR.id
    after = fold_credit(events, state)
    assert after is not None
    assert after.version == state.version + 1
    assert {**credit_state_to_data(after), "version": 0} == {
        **credit_state_to_data(state),
        "version": 0,
    }


@pytest.mark.parametrize(
    ("actor", "step_key", "kind", "rule"),
    [
        ("supervisor", SERVED, "credit_ListingDecided", "credit.service.enterprise_only"),
        (
            "enterprise",
            "credit-OTHER:x:enterprise",
            "credit_ListingDecided",
            "credit.service.step_unknown",
        ),
        ("enterprise", SERVED, "credit_BlacklistPublished", "credit.service.kind_not_served"),
    ],
)
def test_only_the_enterprise_acknowledges_its_own_served_credit_notices(
    actor, step_key, kind, rule
):
    state, _history, at = listed_state()
    who = SUPERVISOR if actor == "supervisor" else ENTERPRISE_ACTOR
    with pytest.raises(DomainError) as refused:
        decide_credit(state, AcknowledgeCreditService(who, step_key, kind), at, DEFAULT, CALENDAR)
    assert refused.value.rule == rule
