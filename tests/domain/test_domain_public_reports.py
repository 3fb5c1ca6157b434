"""Public reports (举报), given / when / then: the policy's section."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.case.commands import Actor, Role
from domain.case.events import HazardClass
from domain.errors import DomainError, PolicyError
from domain.policy import Policy
from domain.public_report import (
    DecideReward,
    DismissReport,
    FireReportTimer,
    PublicReportState,
    ReceivePublicReport,
    RewardBasis,
    SubstantiateReport,
    decide_report,
    due_report_timers,
    fold_report,
    pending_report_timers,
    report_event_from_data,
    report_event_to_data,
    reward_amount,
)
from tests.domain.domain_builders import (
    CITY,
    COUNTY,
    COUNTY_SUPERVISOR,
    DEFAULT,
    ENTERPRISE,
    INSPECTOR,
    NOW,
    PATH,
    PROVINCE,
    SYSTEM,
    TOWNSHIP,
    VILLAGE_SUPERVISOR,
)


def _with(**changes: object) -> dict[str, object]:
    data = DEFAULT.to_data()
    data["public_reports"] = {**data["public_reports"], **changes}
    return data


def test_the_shipped_policy_states_the_national_reward_numbers():
    rules = DEFAULT.public_reports
    assert rules is not None
    assert (rules.major_reward_share_percent, rules.major_reward_min_yuan) == (15, 3000)
    assert rules.major_reward_max_yuan == 300000
    assert "enterprise" not in rules.identity_visible_to


@pytest.mark.parametrize(
    ("changes", "key", "rule"),
    [
        (
            {"verify_within": "P30WD"},
            "public_reports.verify_within",
            "policy.public_reports_calendar",
        ),
        (
            {"identity_visible_to": ["supervisor", "enterprise"]},
            "public_reports.identity_visible_to[1]",
            "policy.public_reports_role",
        ),
        (
            {"major_reward_share_percent": 101},
            "public_reports.major_reward_share_percent",
            "policy.range",
        ),
        ({"major_reward_min_yuan": 400000}, "public_reports.major_reward_min_yuan", "policy.range"),
        ({"per_address_per_hour": 0}, "public_reports.per_address_per_hour", "policy.range"),
        ({"proof_of_work_bits": 33}, "public_reports.proof_of_work_bits", "policy.range"),
    ],
)
def test_when_a_public_reports_value_breaks_its_rule_then_the_policy_names_the_key(
    changes: dict[str, object], key: str, rule: str
):
    with pytest.raises(PolicyError) as e:
        Policy.from_data(_with(**changes))
    assert (e.value.key, e.value.rule) == (key, rule)


# --- the report's course ---------------------------------------------------------------------

PUBLIC = Actor("public", Role.SYSTEM)
RECEIVE = ReceivePublicReport(
    actor=PUBLIC,
    report_id="R-" + "a" * 24,
    grid_path=PATH,
    credit_code=ENTERPRISE.credit_code,
    enterprise_name=ENTERPRISE.name,
    place="一号车间后门",
    description="车间内堆放大量易燃物, 消防通道堵塞",
    identity_digest="b" * 64,
)


def run_report(*steps):  # type: ignore[no-untyped-def]
    state: PublicReportState | None = None
    events = []
    for command, now in steps:
        new = decide_report(state, command, now, DEFAULT)
        events += new
        state = fold_report(new, state)
    return state, events


def refused(*steps) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as e:
        run_report(*steps)
    return e.value.rule


def test_given_a_report_it_is_assigned_to_the_enterprises_grid_unit_with_a_verify_by():
    state, events = run_report((RECEIVE, NOW))
    assert state is not None and state.assigned_unit == PATH[0]
    assert state.verify_by == NOW + timedelta(days=30)  # verify_within = P30D
    assert events[0].identity_digest == "b" * 64  # type: ignore[attr-defined]
    assert (
        report_event_from_data(events[0].EVENT_TYPE, report_event_to_data(events[0])) == (events[0])
    )


def test_a_report_without_description_place_or_village_unit_is_refused():
    from dataclasses import replace

    assert refused((replace(RECEIVE, description=" "), NOW)) == "public_report.description_required"
    assert refused((replace(RECEIVE, place=""), NOW)) == "public_report.place_required"
    assert (
        refused((replace(RECEIVE, grid_path=PATH[1:]), NOW)) == "public_report.grid_unit_required"
    )
    assert refused((replace(RECEIVE, report_id="R-1"), NOW)) == "public_report.report_id_pattern"


def test_given_nobody_verifies_then_a_reminder_and_alerts_up_the_grid_follow():
    state, _ = run_report((RECEIVE, NOW))
    fired = []
    later = NOW + timedelta(days=52)
    while due := due_report_timers(state, later, DEFAULT):
        new = decide_report(state, FireReportTimer(SYSTEM, due[0].key), due[0].due_at, DEFAULT)
        fired += new
        state = fold_report(new, state)
    assert [e.EVENT_TYPE for e in fired] == ["PublicReportReminderDue"] + [
        "PublicReportVerificationOverdue"
    ] * 4
    assert [e.at - NOW for e in fired] == [timedelta(days=d) for d in (27, 30, 37, 44, 51)]
    alerted = [e.alerted_unit_code for e in fired[1:]]  # type: ignore[attr-defined]
    assert alerted == [TOWNSHIP.code, COUNTY.code, CITY.code, PROVINCE.code]


def test_a_timer_is_not_fired_early_nor_by_a_person():
    state, _ = run_report((RECEIVE, NOW))
    with pytest.raises(DomainError) as e:
        decide_report(state, FireReportTimer(SYSTEM, "overdue:1"), NOW, DEFAULT)
    assert e.value.rule == "public_report.timer.not_due"
    with pytest.raises(DomainError) as e:
        decide_report(state, FireReportTimer(COUNTY_SUPERVISOR, "overdue:1"), NOW, DEFAULT)
    assert e.value.rule == "public_report.timer.system_only"


def test_when_substantiated_it_links_its_cases_and_the_timers_stop():
    state, _ = run_report(
        (RECEIVE, NOW),
        (SubstantiateReport(VILLAGE_SUPERVISOR, ("H-1", "H-2"), "属实, 已登记两项隐患"), NOW),
    )
    assert state is not None and state.status == "substantiated" and state.is_open
    assert state.hazard_ids == ("H-1", "H-2")
    assert pending_report_timers(state, DEFAULT) == []


def test_verification_is_for_a_supervisor_on_the_grid_path_once():
    from tests.domain.domain_builders import OUTSIDE_SUPERVISOR

    sub = SubstantiateReport(INSPECTOR, ("H-1",), "属实")
    assert refused((RECEIVE, NOW), (sub, NOW)) == "public_report.verify.supervisor_only"
    outside = SubstantiateReport(OUTSIDE_SUPERVISOR, ("H-1",), "属实")
    assert refused((RECEIVE, NOW), (outside, NOW)) == "case.authority.outside_grid"
    none = SubstantiateReport(COUNTY_SUPERVISOR, (), "属实")
    assert refused((RECEIVE, NOW), (none, NOW)) == "public_report.hazards_required"
    twice = SubstantiateReport(COUNTY_SUPERVISOR, ("H-1",), "属实")
    assert refused((RECEIVE, NOW), (twice, NOW), (twice, NOW)) == (
        "public_report.verify.already_verified"
    )
    no_findings = SubstantiateReport(COUNTY_SUPERVISOR, ("H-1",), " ")
    assert refused((RECEIVE, NOW), (no_findings, NOW)) == "public_report.findings_required"


def test_when_dismissed_with_a_reason_it_ends_and_takes_nothing_more():
    dismiss = DismissReport(VILLAGE_SUPERVISOR, "现场核查, 未发现所述情况")
    state, _ = run_report((RECEIVE, NOW), (dismiss, NOW))
    assert state is not None and state.status == "dismissed" and not state.is_open
    assert refused((RECEIVE, NOW), (dismiss, NOW), (dismiss, NOW)) == "public_report.closed"
    blank = DismissReport(VILLAGE_SUPERVISOR, "")
    assert refused((RECEIVE, NOW), (blank, NOW)) == "public_report.reason_required"


def test_the_reward_follows_the_national_scheme_for_a_major_hazard():
    rules = DEFAULT.public_reports
    assert rules is not None
    major = HazardClass.MAJOR
    assert reward_amount(rules, major, 100_000, True) == (15_000, RewardBasis.MAJOR_FINE_SHARE)
    assert reward_amount(rules, major, 5_000, True)[0] == 3_000  # at least 3,000
    assert reward_amount(rules, major, 5_000_000, True)[0] == 300_000  # at most 300,000
    assert reward_amount(rules, HazardClass.GENERAL, None, True) == (300, RewardBasis.GENERAL_FIXED)
    assert reward_amount(rules, major, 100_000, False) == (0, RewardBasis.NOT_FIRST_REPORTER)


def test_a_reward_is_decided_once_after_substantiation_at_the_policys_level():
    sub = SubstantiateReport(VILLAGE_SUPERVISOR, ("H-1",), "属实")
    reward = DecideReward(COUNTY_SUPERVISOR, HazardClass.MAJOR, fine_yuan=50_000)
    assert refused((RECEIVE, NOW), (reward, NOW)) == "public_report.reward.not_substantiated"
    low = DecideReward(VILLAGE_SUPERVISOR, HazardClass.GENERAL)
    assert refused((RECEIVE, NOW), (sub, NOW), (low, NOW)) == "public_report.reward.level"
    no_fine = DecideReward(COUNTY_SUPERVISOR, HazardClass.MAJOR)
    assert refused((RECEIVE, NOW), (sub, NOW), (no_fine, NOW)) == (
        "public_report.reward.fine_required"
    )
    state, _ = run_report((RECEIVE, NOW), (sub, NOW), (reward, NOW))
    assert state is not None and state.status == "rewarded" and state.reward_yuan == 7_500
    assert not state.is_open
    assert refused((RECEIVE, NOW), (sub, NOW), (reward, NOW), (reward, NOW)) == (
        "public_report.closed"
    )
    auditor = DecideReward(Actor("aud", Role.AUDITOR), HazardClass.GENERAL)
    assert refused((RECEIVE, NOW), (auditor, NOW)) == "public_report.auditor.read_only"


def test_a_report_is_received_once_and_nothing_comes_before_it():
    assert refused((RECEIVE, NOW), (RECEIVE, NOW)) == "public_report.already_received"
    assert refused((DismissReport(COUNTY_SUPERVISOR, "x"), NOW)) == "public_report.not_received"
    no_policy = Policy.from_data({**DEFAULT.to_data(), "public_reports": None})
    with pytest.raises(DomainError) as e:
        decide_report(None, RECEIVE, NOW, no_policy)
    assert e.value.rule == "public_report.policy_missing"


def test_the_rules_refuse_what_no_course_of_a_report_holds():
    from domain.public_report import PublicReportCommand, PublicReportEvent, evolve_report
    from domain.public_report.events import PublicReportReminderDue

    state, events = run_report((RECEIVE, NOW))
    with pytest.raises(DomainError) as e:
        evolve_report(None, PublicReportReminderDue("reminder:1", NOW, NOW))
    assert e.value.rule == "public_report.evolve.not_received"

    class Strange(PublicReportEvent, PublicReportCommand):
        EVENT_TYPE = "Strange"
        COMMAND_TYPE = "Strange"

        def __init__(self, actor: Actor, at: object) -> None:
            self.actor, self.at = actor, at  # type: ignore[assignment]

    with pytest.raises(DomainError) as e:
        evolve_report(state, Strange(COUNTY_SUPERVISOR, NOW))
    assert e.value.rule == "public_report.evolve.unknown_event"
    with pytest.raises(DomainError) as e:
        decide_report(state, Strange(COUNTY_SUPERVISOR, NOW), NOW, DEFAULT)
    assert e.value.rule == "public_report.command.unknown"
    with pytest.raises(DomainError) as e:
        decide_report(state, FireReportTimer(SYSTEM, "overdue:9"), NOW, DEFAULT)
    assert e.value.rule == "public_report.timer.not_pending"
    sub = SubstantiateReport(VILLAGE_SUPERVISOR, ("H-1",), "属实")
    by_inspector = DecideReward(INSPECTOR, HazardClass.GENERAL)
    assert refused((RECEIVE, NOW), (sub, NOW), (by_inspector, NOW)) == (
        "public_report.reward.supervisor_only"
    )
    assert events
