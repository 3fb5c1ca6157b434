"""到期整改率 counts hazards, not deadlines: a county's day on the drill policy (durations in
seconds), where one unattended case misses its deadline and every rung of the ladder.

Before, the rate counted each deadline that fell due: the unattended case counted five "due",
and the county showed 2/7 = 28.6 % where 2 of its 3 hazards due were rectified in time
(66.7 %). The per-deadline count is kept as ``deadlines_due``/``deadlines_met``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from activities.projections import Projector, rebuild
from activities.projections.read_models.cases import CaseFilter, get_case, list_cases
from activities.projections.read_models.figures.queries import unit_statistics
from activities.projections.read_models.listings import list_listings
from activities.reports import DEFINITIONS, report_content
from domain.case.commands import ReportRectification, VerifyRectification
from domain.periods import Period
from tests.domain.domain_builders import (
    COUNTY,
    DRILL,
    ENTERPRISE_ACTOR,
    PHOTO,
    SHANGHAI,
    SUPERVISOR,
    register,
    register_major,
)
from tests.projections.conftest import ReadSide
from tests.projections.scenario import History, case_events

START = datetime(2025, 3, 10, 9, 0, tzinfo=SHANGHAI)  # the drill's deadline: 20 s later
REPORTED = ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,))
PASSED = VerifyRectification(SUPERVISOR, True, "合格")
FAILED = VerifyRectification(SUPERVISOR, False, "不合格, 重新整改")


def second(n: float) -> datetime:
    return START + timedelta(seconds=n)


def drill_day(read_side: ReadSide) -> History:
    h = History(read_side.store, policy=DRILL)
    found = START - timedelta(minutes=5)
    # Two hazards rectified and verified within their 20 seconds.
    for hazard_id, reported_at in (("D-1", 5), ("D-2", 8)):
        h.case(hazard_id, register(hazard_id=hazard_id, found_at=found), START)
        h.case(hazard_id, REPORTED, second(reported_at))
        h.case(hazard_id, PASSED, second(reported_at + 1))
    # One nobody attends to: it misses its deadline, then the township's, the county's, the
    # city's and the province's (15 s each), and is referred to enforcement.
    h.case("D-3", register(hazard_id="D-3", found_at=found), START)
    h.run_timers("D-3", second(200))
    # In April, one rectified late: the worker was down over its reminders and its deadline,
    # so the catch-up before the report records the reminders as lapsed (edition 4), the
    # deadline missed and the escalation; the report then meets the township's deadline.
    april = datetime(2025, 4, 7, 9, 0, tzinfo=SHANGHAI)
    h.case("D-4", register(hazard_id="D-4", found_at=april), april)
    h.case("D-4", REPORTED, april + timedelta(seconds=25))
    h.case("D-4", PASSED, april + timedelta(seconds=27))
    # A major hazard listed at registration, still open: its public entry shows its deadline.
    h.case("D-5", register_major(hazard_id="D-5", found_at=april), april)
    # In May, one whose verification fails before its deadline: the rework period (20 s from
    # the failure) is its new deadline, and it is reported and verified by then: on time.
    may = datetime(2025, 5, 12, 9, 0, tzinfo=SHANGHAI)
    h.case("D-6", register(hazard_id="D-6", found_at=may), may)
    h.case("D-6", REPORTED, may + timedelta(seconds=5))
    h.case("D-6", FAILED, may + timedelta(seconds=6))
    h.case("D-6", REPORTED, may + timedelta(seconds=22))
    h.case("D-6", PASSED, may + timedelta(seconds=23))
    Projector(read_side.store, batch_size=5).catch_up()
    return h


@pytest.fixture()
def history(read_side: ReadSide) -> History:
    return drill_day(read_side)


def test_the_on_time_rate_counts_hazards_due_not_deadlines_due(
    read_side: ReadSide, history: History
) -> None:
    missed = [e for e in case_events(read_side.store, "D-3") if e.EVENT_TYPE == "DeadlineMissed"]
    assert len(missed) == 5 and history.cases["D-3"].referred
    march = unit_statistics(read_side.engine, COUNTY.code, Period.month(2025, 3), now=second(300))
    # The hazards: D-1 and D-2 rectified in time, D-3 not: 2 of 3.
    assert (march.due, march.rectified_on_time, march.due_unsettled) == (3, 2, 0)
    assert march.on_time_rate == pytest.approx(0.6667)
    # The deadlines (what the rate counted before): 7 due, 2 met, 5 missed: 2/7 = 28.6 %.
    assert (march.deadlines_due, march.deadlines_met, march.deadlines_missed) == (7, 2, 5)
    assert march.deadlines_met_rate == pytest.approx(0.2857)
    # The report's content (stored monthly reports read the same tables) says which it is.
    content = report_content("monthly", "2025-03", march, DRILL)
    assert (content["due"], content["rectified_on_time"]) == (3, 2)
    assert content["on_time_rectification_rate"] == 0.6667
    assert (content["deadlines_due"], content["deadlines_met"]) == (7, 2)
    assert content["definitions"] == DEFINITIONS
    assert "按隐患计" in content["definitions"]["on_time_rectification_rate"]


def test_a_hazard_rectified_late_is_due_once_and_not_on_time(
    read_side: ReadSide, history: History
) -> None:
    types = [e.EVENT_TYPE for e in case_events(read_side.store, "D-4")]
    assert types[2:5] == ["ReminderLapsed", "ReminderLapsed", "DeadlineMissed"]
    april = unit_statistics(
        read_side.engine, COUNTY.code, Period.month(2025, 4), now=second(3600 * 24 * 40)
    )
    # D-4: its deadline missed, the township's met by the report. D-5 (listed at the county,
    # 20 s on the drill): its deadline has passed with no timer fired, no outcome yet.
    assert (april.due, april.rectified_on_time, april.due_unsettled) == (2, 0, 1)
    assert (april.deadlines_due, april.deadlines_met, april.deadlines_missed) == (3, 1, 1)
    assert april.rectified == 1
    row = read_side.rows("SELECT * FROM case_view WHERE hazard_id = 'D-4'")[0]
    assert row["rectified_on_time"] is False and row["version"] == history.cases["D-4"].version


def test_a_hazard_whose_verification_failed_in_time_is_due_at_its_new_deadline(
    read_side: ReadSide, history: History
) -> None:
    state = history.cases["D-6"]
    assert state.verifications_failed == 1 and state.rectification_deadline == state.deadline
    may = unit_statistics(
        read_side.engine, COUNTY.code, Period.month(2025, 5), now=second(3600 * 24 * 70)
    )
    # Its first deadline was replaced before it fell due; the rework deadline was met.
    assert (may.due, may.rectified_on_time) == (1, 1)
    assert (may.deadlines_due, may.deadlines_met) == (1, 1)


def test_a_referred_case_is_overdue_from_its_first_deadline(
    read_side: ReadSide, history: History
) -> None:
    page = list_cases(read_side.engine, now=second(300), filters=CaseFilter(overdue=True))
    assert [item.hazard_id for item in page.items] == ["D-3"]
    (item,) = page.items
    assert item.overdue_since == second(20) == history.cases["D-3"].overdue_since(second(300))
    assert item.days_overdue == 1
    assert item["rectification_deadline"] == second(20) and item["rectification_missed"]
    assert item["deadline"] == second(80)  # the province's, the last deadline it was set
    case = get_case(read_side.engine, "D-3", now=second(3600 * 24 * 3))
    # Its deadline's day, 10 March, is day 1 (at least 1), and 13 March is day 3.
    assert case is not None and case.days_overdue == 3


def test_a_listing_made_at_registration_shows_its_deadline_on_the_public_register(
    read_side: ReadSide, history: History
) -> None:
    entries = {e["hazard_id"]: e for e in list_listings(read_side.engine).items}
    d5 = entries["D-5"]
    assert d5["status"] == "listed"
    assert d5["deadline"] is not None
    assert d5["deadline"] == history.cases["D-5"].deadline
    # D-3's listings (county, city, province, by escalation) each show the deadline in force.
    raised = [e for e in list_listings(read_side.engine).items if e["hazard_id"] == "D-3"]
    assert raised and all(e["deadline"] is not None for e in raised)


def test_rebuilding_gives_the_same_hazard_figures_as_following(
    read_side: ReadSide, history: History
) -> None:
    followed = read_side.snapshot()
    rebuild(read_side.engine, batch_size=3)
    assert read_side.snapshot() == followed


def test_the_read_model_keeps_the_hazards_deadline_as_the_domain_does(
    read_side: ReadSide, history: History
) -> None:
    rows = {r["hazard_id"]: r for r in read_side.rows("SELECT * FROM case_view")}
    for hazard_id, state in history.cases.items():
        row = rows[hazard_id]
        assert row["rectification_deadline"] == state.rectification_deadline, hazard_id
        assert row["rectification_missed"] == state.rectification_missed, hazard_id
        assert row["version"] == state.version, hazard_id
    april = datetime(2025, 4, 7, 9, 0, tzinfo=SHANGHAI)
    for now in (second(10), second(30), second(300), april + timedelta(seconds=30)):
        page = list_cases(read_side.engine, now=now, filters=CaseFilter(overdue=True))
        expected = {h for h, s in history.cases.items() if s.is_overdue(now)}
        assert {item.hazard_id for item in page.items} == expected, now
