"""The figures of DOMAIN.md "Reports and figures" for a scenario worked out by hand, and the
deadline and overdue rules they rest on (definitions: activities/projections/read_models/
figures/)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from activities.projections import Projector, rebuild
from activities.projections.batch import BatchChanges
from activities.projections.read_models.blacklist import list_blacklist
from activities.projections.read_models.figures.changes import METRICS
from activities.projections.read_models.figures.queries import unit_statistics
from activities.reference_data import ReferenceData
from domain.case import fold
from domain.case.commands import (
    DecideExtension,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
)
from domain.case.events import RectificationMode
from domain.credit.commands import DecideListing, OpenCreditRecord, OpenProceeding
from domain.credit_code import make_credit_code
from domain.grid import Enterprise
from domain.periods import Period
from tests.domain.domain_builders import (
    COUNTY,
    ENTERPRISE_ACTOR,
    PATH,
    PHOTO,
    PLAN,
    SHANGHAI,
    SUPERVISOR,
    VILLAGE,
    register,
    register_major,
)
from tests.projections.conftest import ReadSide
from tests.projections.scenario import ENTERPRISE_2, PATH_2, VILLAGE_2, History, case_events

NO_CASE = Enterprise(make_credit_code("91370782MA3C99999"), "诸城某无案企业", "化工", VILLAGE.code)
REPORTED = ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,))
PASSED = VerifyRectification(SUPERVISOR, True, "合格")
FAILED = VerifyRectification(SUPERVISOR, False, "不合格")


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=SHANGHAI)


def found(hazard_id: str, month: int, day: int, **fields: Any) -> Any:
    return register(hazard_id=hazard_id, found_at=at(month, day, 8), **fields)


OTHER_VILLAGE = {"enterprise": ENTERPRISE_2, "grid_path": PATH_2}


def build(read_side: ReadSide) -> History:
    """March 2025 in the village VILLAGE (and one case in VILLAGE_2), timers fired only where
    the comment says so: elsewhere the worker is "down" and no DeadlineMissed is recorded.
    Deadlines are given (18:00 of the day), so the policy's periods only set C9's escalation
    deadline (in April, whatever the ladder) and C11's listing deadline (in June)."""
    reference = ReferenceData(read_side.engine, read_side.store)
    for unit in reversed(PATH):
        reference.add_grid_unit(unit, "admin")
    reference.add_enterprise(NO_CASE, "admin")
    h = History(read_side.store)
    # 1 on time: deadline 18 March; reported 10, verified 12 March.
    h.case("C1", found("C1", 3, 3, deadline=at(3, 18, 18)), at(3, 3))
    h.case("C1", REPORTED, at(3, 10))
    h.case("C1", PASSED, at(3, 12))
    # 2 closed early, its deadline (10 April) is April's.
    h.case("C2", found("C2", 3, 25, deadline=at(4, 10, 18)), at(3, 25))
    h.case("C2", REPORTED, at(3, 27))
    h.case("C2", PASSED, at(3, 28))
    # 3 reported by its deadline (18 March), verified after it: met.
    h.case("C3", found("C3", 3, 3, deadline=at(3, 18, 18)), at(3, 3))
    h.case("C3", REPORTED, at(3, 17))
    h.case("C3", PASSED, at(3, 20))
    # 4 (VILLAGE_2) reported before its deadline, failed verification after it: missed.
    h.case("C4", found("C4", 3, 3, deadline=at(3, 18, 18), **OTHER_VILLAGE), at(3, 3))
    h.case("C4", REPORTED, at(3, 16))
    h.case("C4", FAILED, at(3, 20))
    # 5 deadline 27 March passes, no timer fires: overdue at the month's end, still running.
    h.case("C5", found("C5", 3, 12, deadline=at(3, 27, 18)), at(3, 12))
    # 6 deadline 29 March passes unnoticed (the worker is down); on 3 April, before the
    # report, the deadline timer fires late and escalates the case: overdue at the month's
    # end (a spell that ended in April) and missed; the township deadline (April) is met.
    h.case("C6", found("C6", 3, 14, deadline=at(3, 29, 18)), at(3, 14))
    h.case("C6", REPORTED, at(4, 3))
    h.case("C6", PASSED, at(4, 5))
    # 7 deadline 30 May extended (before it fell due) to 30 June.
    h.case("C7", found("C7", 3, 3, deadline=at(5, 30, 18)), at(3, 3))
    h.case(
        "C7",
        RequestExtension(ENTERPRISE_ACTOR, at(6, 30, 18), "设备到货延迟", "临时围挡"),
        at(3, 5),
    )
    h.case("C7", DecideExtension(SUPERVISOR, True, "同意"), at(3, 10))
    # 8 立改立销: found and rectified, never due.
    h.case("C8", found("C8", 3, 5, mode=RectificationMode.IMMEDIATE), at(3, 5))
    # 9 misses 18 March: escalated to the township (deadline early April), then no timer.
    h.case("C9", found("C9", 3, 3, deadline=at(3, 18, 18)), at(3, 3))
    h.run_timers("C9", at(3, 31))
    # 11 a major hazard listed at the county, closed early (its deadline is June's): de-listed.
    h.case("C11", register_major(hazard_id="C11", found_at=at(3, 6, 8)), at(3, 6))
    h.case("C11", SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), at(3, 7))
    h.case("C11", REPORTED, at(3, 26))
    h.case("C11", PASSED, at(3, 28))
    # An enterprise with no case is listed in March: counted on its reference grid path.
    code = NO_CASE.credit_code
    h.credit_command(code, OpenCreditRecord(SUPERVISOR, code, NO_CASE.name), at(3, 10))
    h.credit_command(code, OpenProceeding(SUPERVISOR, "accident", "较大事故"), at(3, 10))
    h.fire_credit_timer(code, "objection_window")
    h.credit_command(code, DecideListing(SUPERVISOR, True, "发生较大生产安全事故"), at(3, 20))
    Projector(read_side.store, batch_size=9).catch_up()
    return h


@pytest.fixture()
def history(read_side: ReadSide) -> History:
    return build(read_side)


def test_the_march_figures_of_the_village_are_the_hand_computed_ones(
    read_side: ReadSide, history: History
) -> None:
    march = unit_statistics(read_side.engine, VILLAGE.code, Period.month(2025, 3), now=at(5, 1))
    assert march.cases == 9  # C1-C3, C5-C9, C11
    assert march.found == 9
    assert march.rectified == 5  # C1, C2, C3, C8, C11 (C6 closed in April)
    assert march.rectification_rate == pytest.approx(0.5556)
    # Due in March: C1 met, C3 met, C5 (no outcome yet), C6 missed, C9 missed — as hazards and
    # as deadlines alike, each of these cases having one deadline in March.
    assert (march.due, march.rectified_on_time, march.due_unsettled) == (5, 2, 1)
    assert (march.deadlines_due, march.deadlines_met, march.deadlines_due_unsettled) == (5, 2, 1)
    assert march.deadlines_missed == 2
    assert march.on_time_rate == 0.4
    # At 1 April 00:00: C5 (still overdue), C6 (overdue until it is written off on 5 April)
    # and C9, escalated to the township on 18 March: its hazard is still overdue although the
    # township's supervision deadline is in April. (Counted 2 before the overdue of a hazard
    # outlived its escalation.)
    assert march.overdue == 3
    assert march.overdue_as_of == at(4, 1, 0)
    assert march.escalations_by_level == {"township": 1, "county": 0, "city": 0, "province": 0}
    assert march.listed_by_level == {"county": 1, "city": 0, "province": 0}
    assert march.delisted_by_level == {"county": 1, "city": 0, "province": 0}
    assert march.blacklist_changes == {
        "proceedings_opened": 1,
        "listed": 1,
        "removed_early": 0,
        "restored": 0,
        "expired": 0,
    }


def test_april_counts_the_deadlines_that_fell_in_april_and_the_overdue_now(
    read_side: ReadSide, history: History
) -> None:
    live = unit_statistics(read_side.engine, VILLAGE.code, Period.month(2025, 4), now=at(4, 20))
    # Deadlines: C2's 10 April deadline, met in March; C6's township deadline, met (closed 5
    # April); C9's township deadline (early April), passed with no outcome.
    assert (live.deadlines_due, live.deadlines_met, live.deadlines_due_unsettled) == (3, 2, 1)
    # Hazards: C2 alone. C6's and C9's hazards fell due in March (missed there); their
    # township deadlines are the supervision ladder's, not the hazards'.
    assert (live.due, live.rectified_on_time, live.due_unsettled) == (1, 1, 0)
    assert live.rectified == 1  # C6
    assert live.escalations_by_level["township"] == 1  # C6, on 3 April
    assert live.found == 0 and live.rectification_rate is None
    assert live.overdue_as_of == at(4, 20)
    assert live.overdue == 2  # C5 and C9, right now
    # May: C7's first deadline was replaced before it fell due.
    may = unit_statistics(read_side.engine, VILLAGE.code, Period.month(2025, 5), now=at(6, 1))
    assert may.due == may.deadlines_due == 0
    june = unit_statistics(read_side.engine, VILLAGE.code, Period.month(2025, 6), now=at(7, 1))
    # C11's deadline (met: closed in March) and C7's extended one (passed, no outcome).
    assert (june.due, june.rectified_on_time, june.due_unsettled) == (2, 1, 1)
    assert (june.deadlines_due, june.deadlines_met, june.deadlines_due_unsettled) == (2, 1, 1)


def test_a_failed_verification_after_the_deadline_counts_that_deadline_missed(
    read_side: ReadSide, history: History
) -> None:
    other = unit_statistics(read_side.engine, VILLAGE_2.code, Period.month(2025, 3), now=at(5, 1))
    assert (other.due, other.rectified_on_time, other.deadlines_missed) == (1, 0, 1)
    county = unit_statistics(read_side.engine, COUNTY.code, Period.month(2025, 3), now=at(5, 1))
    assert (county.due, county.rectified_on_time) == (6, 2)


def test_a_quarter_and_a_year_add_up_their_months_but_count_overdue_at_their_end(
    read_side: ReadSide, history: History
) -> None:
    q1 = unit_statistics(read_side.engine, VILLAGE.code, Period.quarter(2025, 1), now=at(7, 1))
    march = unit_statistics(read_side.engine, VILLAGE.code, Period.month(2025, 3), now=at(7, 1))
    assert q1.figures == march.figures
    # Overdue at 31 March's end: C5, C6 and C9 (see the March figures).
    assert (q1.found, q1.due, q1.overdue) == (9, 5, 3)
    q2 = unit_statistics(read_side.engine, VILLAGE.code, Period.quarter(2025, 2), now=at(7, 1))
    # April's 3 and June's 2 deadlines; overdue on 30 June: C5, C9 and C7 (30 June 18:00).
    assert (q2.deadlines_due, q2.deadlines_met) == (5, 3)
    # April's hazard (C2) and June's two (C11, C7).
    assert (q2.due, q2.rectified_on_time) == (3, 2)
    assert q2.overdue == 3
    year = unit_statistics(read_side.engine, VILLAGE.code, Period.whole_year(2025), now=at(7, 1))
    assert (year.found, year.rectified, year.deadlines_due) == (9, 6, 10)
    assert year.due == 8  # 10 deadlines, of 8 hazards: C6's and C9's township ones are not


def test_overdue_at_every_month_end_equals_the_domains_is_overdue_of_that_instant(
    read_side: ReadSide, history: History
) -> None:
    for month in range(3, 8):
        period = Period.month(2025, month)
        end = period.bounds()[1]
        for unit in (VILLAGE.code, COUNTY.code):
            expected = 0
            for hazard_id, state in history.cases.items():
                if unit not in [u.code for u in state.grid_path]:
                    continue
                events = [e for e in case_events(read_side.store, hazard_id) if e.at <= end]
                then = fold(events)
                expected += then is not None and then.is_overdue(end)
            figures = unit_statistics(read_side.engine, unit, period, now=end + timedelta(1))
            assert figures.overdue == expected, (month, unit)


def test_an_enterprise_with_no_case_has_its_register_entry_on_its_reference_grid_path(
    read_side: ReadSide, history: History
) -> None:
    (entry,) = list_blacklist(read_side.engine, credit_code=NO_CASE.credit_code).items
    assert entry["grid_path"] == [u.code for u in PATH]
    assert list_blacklist(read_side.engine, grid_unit=COUNTY.code).total == 1


def test_rebuilding_gives_the_same_figures_as_following(
    read_side: ReadSide, history: History
) -> None:
    followed = read_side.snapshot()
    rebuild(read_side.engine, batch_size=4)
    assert read_side.snapshot() == followed


# ---------------------------------------------------------------- deadline rules, in memory

UNITS = [{"code": "V", "name": "村", "level": "village", "parent_code": None,
          "responsible_person": "网格员"}]  # fmt: skip


def _registered(changes: BatchChanges) -> None:
    changes.apply(
        1,
        "case-X",
        "HazardRegistered",
        1,
        {
            "grid_path": UNITS,
            "credit_code": "91370782MA3C12345",
            "enterprise_name": "企业",
            "industry": "机械",
            "hazard_class": "general",
            "checklist_clause": None,
            "category": "thing",
            "source": "grid_patrol",
            "mode": "deadline",
            "description": "d",
            "location": "l",
            "time_zone": "Asia/Shanghai",
            "found_at": "2025-03-03T00:00:00+00:00",
            "at": "2025-03-03T01:00:00+00:00",
        },
    )
    notice = {"deadline": "2025-03-18T01:00:00+00:00", "deadline_no": 1}
    changes.apply(
        2, "case-X", "RectificationNoticeIssued", 1, {**notice, "at": "2025-03-03T01:00:00+00:00"}
    )
    report = {"review_by": "2025-03-30T00:00:00+00:00", "at": "2025-03-16T01:00:00+00:00"}
    changes.apply(3, "case-X", "RectificationReported", 1, report)


def _march(changes: BatchChanges, metric: str) -> int:
    return changes.statistics[("V", datetime(2025, 3, 1).date())][METRICS.index(metric)]


# A verification failing after the 18 March deadline, with a new deadline (edition 1).
FAILED_LATE = (
    "VerificationFailed",
    {
        "deadline": "2025-04-04T01:00:00+00:00",
        "deadline_no": 2,
        "verified_by": "s",
        "comments": "",
        "at": "2025-03-20T01:00:00+00:00",
    },
)
# The DeadlineMissed of that deadline, recorded before or after it (edition 2: after).
MISSED = (
    "DeadlineMissed",
    {
        "deadline": "2025-03-18T01:00:00+00:00",
        "deadline_no": 1,
        "timer_key": "deadline:1",
        "escalation_index": 0,
        "extension_lapsed": False,
        "at": "2025-03-20T01:00:00+00:00",
    },
)


@pytest.mark.parametrize("order", [(FAILED_LATE, MISSED), (MISSED, FAILED_LATE)])
def test_a_deadline_is_counted_once_whichever_event_settles_it_first(order: Any) -> None:
    changes = BatchChanges({}, {}, {})
    _registered(changes)
    for position, (event_type, data) in enumerate(order, start=4):
        assert changes.apply(position, "case-X", event_type, 1, data)
    assert (_march(changes, "deadlines_due"), _march(changes, "deadlines_missed")) == (1, 1)
    assert _march(changes, "deadlines_met") == 0
    # It is the hazard's own deadline: the hazard is due once and not rectified on time.
    assert (_march(changes, "hazards_due"), _march(changes, "hazards_rectified_on_time")) == (1, 0)
    assert changes.cases["X"]["rectification_missed"] is True


def test_a_malformed_event_is_skipped_and_changes_nothing() -> None:
    changes = BatchChanges({}, {}, {})
    _registered(changes)
    row = dict(changes.cases["X"])
    counts = {key: list(value) for key, value in changes.statistics.items()}
    # The listing's fields are set before its deadline turns out unreadable: all taken back.
    listing = {"listing_no": "L1", "level": "county", "authority_unit_code": "X",
               "authority_person": "p", "deadline": "next spring", "deadline_no": 2,
               "at": "2025-03-17T01:00:00+00:00"}  # fmt: skip
    assert not changes.apply(4, "case-X", "HazardListed", 1, listing)
    assert changes.cases["X"] == row
    assert {key: list(value) for key, value in changes.statistics.items()} == counts
    assert changes.skipped == {"HazardListed": 1}
    assert changes.malformed[0][:2] == (4, "HazardListed")
    assert not changes.apply(5, "case-Y", "HazardRegistered", 1, {"description": "x", "n": 1})
    assert "Y" not in changes.cases
    assert changes.applied == 3
