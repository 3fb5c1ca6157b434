"""What the API and the reports read: filtered case lists, enterprises, the register, figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from activities.projections import Projector
from activities.projections.read_models.blacklist import list_blacklist
from activities.projections.read_models.cases import CaseFilter, get_case, list_cases
from activities.projections.read_models.enterprises import get_enterprise, list_enterprises
from activities.projections.read_models.figures.queries import (
    child_unit_statistics,
    unit_statistics,
)
from domain.periods import Period
from tests.domain.domain_builders import (
    CALENDAR,
    COUNTY,
    DEFAULT,
    PROVINCE,
    SHANGHAI,
    TOWNSHIP,
    VILLAGE,
)
from tests.projections.conftest import ReadSide
from tests.projections.scenario import (
    ENTERPRISE,
    ENTERPRISE_2,
    TOWNSHIP_2,
    build_history,
    day,
)


@pytest.fixture()
def projected(read_side: ReadSide) -> ReadSide:
    build_history(read_side.store)
    Projector(read_side.store).catch_up()
    return read_side


def ids(read_side: ReadSide, **filters: Any) -> list[str]:
    page = list_cases(
        read_side.engine,
        now=day(30),
        filters=CaseFilter(**filters),
        limit=100,
    )
    return [item.hazard_id for item in page.items]


def test_cases_are_filtered_by_grid_subtree(projected: ReadSide) -> None:
    assert sorted(ids(projected, grid_unit=TOWNSHIP_2.code)) == ["H-C", "H-D", "H-E", "H-G"]
    assert sorted(ids(projected, grid_unit=VILLAGE.code)) == ["H-A", "H-B", "H-F"]
    assert len(ids(projected, grid_unit=COUNTY.code)) == 7
    assert len(ids(projected, grid_unit=PROVINCE.code)) == 7
    assert ids(projected, grid_unit="P99") == []


def test_cases_are_filtered_by_status_class_listing_and_enterprise(projected: ReadSide) -> None:
    assert sorted(ids(projected, statuses=("closed",))) == ["H-A", "H-D", "H-F"]
    assert ids(projected, statuses=("escalated", "referred")) == ["H-B", "H-C"]
    assert ids(projected, hazard_class="major") == ["H-C"]
    assert ids(projected, listed=True) == ["H-C"]
    assert ids(projected, listed_level="county") == ["H-C"]
    assert "H-C" not in ids(projected, listed=False)
    assert sorted(ids(projected, credit_code=ENTERPRISE.credit_code)) == ["H-A", "H-B", "H-F"]
    assert sorted(ids(projected, open_only=True)) == ["H-B", "H-C", "H-G"]
    assert ids(projected, grid_unit=TOWNSHIP.code, open_only=True, hazard_class="major") == []


def test_cases_are_sorted_by_deadline_and_paged_with_the_total(projected: ReadSide) -> None:
    everything = list_cases(projected.engine, now=day(30), limit=100)
    deadlines = [i["deadline"] for i in everything.items if i["deadline"] is not None]
    assert deadlines == sorted(deadlines)
    assert everything.items[-1].hazard_id == "H-D"  # 立改立销: no deadline, listed last
    page = list_cases(projected.engine, now=day(30), limit=2, offset=2)
    assert page.total == 7
    assert [i.hazard_id for i in page.items] == [i.hazard_id for i in everything.items[2:4]]


def test_overdue_is_judged_at_the_instant_of_the_question(projected: ReadSide) -> None:
    """No event happens when H-G's deadline passes (no timer fires for it); the answer still
    changes. H-B, escalated to the township when it missed its deadline, stays overdue from
    that deadline: the township's supervision deadline does not end it (before, H-B dropped
    out of this list at its escalation and only came back when the township's passed)."""
    before = list_cases(projected.engine, now=day(50), filters=CaseFilter(overdue=True))
    after = list_cases(projected.engine, now=day(60), filters=CaseFilter(overdue=True))
    assert [i.hazard_id for i in before.items] == ["H-B"]
    assert sorted(i.hazard_id for i in after.items) == ["H-B", "H-G"]
    case = get_case(projected.engine, "H-B", now=day(31))
    assert case is not None and case.overdue
    assert case["escalation_index"] == 1 and case["deadline"] > day(25)
    escalated = list_cases(projected.engine, now=day(25), filters=CaseFilter(overdue=True))
    assert [i.hazard_id for i in escalated.items] == ["H-B"]
    not_overdue = list_cases(projected.engine, now=day(31), filters=CaseFilter(overdue=False))
    assert "H-B" not in [i.hazard_id for i in not_overdue.items]
    # Since when and how long: its own deadline (24:00 on 18 March), in calendar days.
    assert (
        case.overdue_since
        == case["rectification_deadline"]
        == datetime(2025, 3, 19, tzinfo=SHANGHAI)
    )
    assert case.overdue_since is not None and case.overdue_since.utcoffset() == timedelta(hours=8)
    assert case.days_overdue == 16  # 19 March … 3 April (day 31 is 3 April 09:00)
    on_time = get_case(projected.engine, "H-A", now=day(31))
    assert on_time is not None and (on_time.overdue_since, on_time.days_overdue) == (None, None)


def test_an_enterprise_comes_with_its_cases_credit_grade_and_whitelist(projected: ReadSide) -> None:
    chemical = get_enterprise(
        projected.engine, ENTERPRISE_2.credit_code, now=day(500), policy=DEFAULT, calendar=CALENDAR
    )
    assert chemical is not None
    assert chemical.blacklisted
    assert chemical.rating == "D" and chemical.rating_now == "D"
    assert chemical.whitelist_eligible is False
    assert chemical.open_cases == 2  # H-C, H-G
    assert chemical.overdue_cases == 2
    machinery = get_enterprise(projected.engine, ENTERPRISE.credit_code, now=day(30))
    assert machinery is not None
    assert machinery.whitelist_eligible is None  # asked without a policy
    assert machinery.grid_code == VILLAGE.code
    assert get_enterprise(projected.engine, "91000000000000000X", now=day(30)) is None


def test_the_public_register_lists_entries_by_status_and_date(projected: ReadSide) -> None:
    everything = list_blacklist(projected.engine)
    assert everything.total == 2
    on_list = list_blacklist(projected.engine, on_list_at=day(35 + 500))
    assert [e["credit_code"] for e in on_list.items] == [ENTERPRISE_2.credit_code]
    expired = list_blacklist(projected.engine, status="expired")
    assert [e["credit_code"] for e in expired.items] == [ENTERPRISE.credit_code]
    in_township = list_blacklist(projected.engine, grid_unit=TOWNSHIP.code)
    assert [e["credit_code"] for e in in_township.items] == [ENTERPRISE.credit_code]


def test_statistics_roll_up_from_townships_to_the_county(projected: ReadSide) -> None:
    march = Period.month(2025, 3)
    county = unit_statistics(projected.engine, COUNTY.code, march, now=day(30))
    towns = child_unit_statistics(projected.engine, COUNTY.code, march, now=day(30))
    assert [t.unit_code for t in towns] == [TOWNSHIP.code, TOWNSHIP_2.code]
    for metric, value in county.figures.items():
        assert value == sum(t.figures[metric] for t in towns), metric
    assert county.overdue == sum(t.overdue for t in towns)
    assert county.cases == sum(t.cases for t in towns) == 6
    assert county.unit_name == "诸城市" and county.unit_level == "county"
    assert county.found == 6  # by found_at: H-G, found in April, is not March's
    assert county.found_major == 1
    assert county.rectified == 3  # H-A, H-D (立改立销), H-F
    assert county.escalations_by_level == {"township": 2, "county": 0, "city": 0, "province": 0}
    assert county.listed_by_level == {"county": 1, "city": 0, "province": 0}
    assert county.referred == 1
    assert county.withdrawn == 1
    assert county.blacklist_changes["proceedings_opened"] == 1  # the refusal of H-C


def test_rates_are_rectified_over_found_and_deadlines_met_over_deadlines_due(
    projected: ReadSide,
) -> None:
    march = Period.month(2025, 3)
    machinery_town = unit_statistics(projected.engine, TOWNSHIP.code, march, now=day(30))
    # Deadlines of 18 March: H-A's met; H-B's and H-F's missed.
    assert (machinery_town.due, machinery_town.rectified_on_time) == (3, 1)
    assert machinery_town.deadlines_missed == 2
    assert machinery_town.on_time_rate == pytest.approx(0.3333)
    # Found in March: H-A, H-B, H-F; rectified in March: H-A, H-F.
    assert machinery_town.rectification_rate == pytest.approx(0.6667)
    county = unit_statistics(projected.engine, COUNTY.code, march, now=day(30))
    # H-C's deadline is in June, H-D (立改立销) has none, H-E was withdrawn before its own.
    assert (county.due, county.rectified_on_time) == (3, 1)
    assert county.rectification_rate == 0.5


def test_overdue_is_judged_at_the_periods_end_or_now_while_it_runs(projected: ReadSide) -> None:
    march = Period.month(2025, 3)
    april = Period.month(2025, 4)
    # H-B escalated on 18 March: its township deadline (2 April) had not passed on 31 March,
    # but its hazard has been overdue since 18 March all the same. (Counted 0 before the
    # overdue of a hazard outlived its escalation.) H-F, escalated too, was written off.
    assert unit_statistics(projected.engine, COUNTY.code, march, now=day(200)).overdue == 1
    # April, asked on 3 April, has H-B overdue.
    live = unit_statistics(projected.engine, COUNTY.code, april, now=day(31))
    assert live.overdue_as_of == day(31)
    assert live.overdue == 1
    # ... and so is H-G, found 12 April, at the end of April, next to H-B and H-C.
    assert unit_statistics(projected.engine, COUNTY.code, april, now=day(200)).overdue == 2


def test_a_quarter_adds_up_its_months(projected: ReadSide) -> None:
    q1 = unit_statistics(projected.engine, COUNTY.code, Period.quarter(2025, 1), now=day(60))
    q2 = unit_statistics(projected.engine, COUNTY.code, Period.quarter(2025, 2), now=day(60))
    april = unit_statistics(projected.engine, COUNTY.code, Period.month(2025, 4), now=day(60))
    assert q1.found == 6
    assert q2.figures == april.figures  # nothing yet in May and June
    assert q2.found == 1
    assert q2.blacklist_changes["listed"] == 2
    assert q2.blacklist_changes["proceedings_opened"] == 1
    assert q2.rectification_rate == 0.0
    # Deadlines due in April by 2 May: H-F's township deadline, met (it closed on 25 March);
    # H-B's and H-G's, passed with no outcome recorded: due and not on time.
    assert (q2.deadlines_due, q2.deadlines_due_unsettled, q2.deadlines_met) == (3, 2, 1)
    # Hazards due in April: H-G alone (H-B's and H-F's fell due in March).
    assert (q2.due, q2.due_unsettled, q2.rectified_on_time) == (1, 1, 0)
    year = unit_statistics(projected.engine, COUNTY.code, Period.whole_year(2025), now=day(60))
    assert year.found == 7
    assert Period.quarter(2025, 4).months()[-1].month == 12
    assert Period.of_report("quarterly", "2025-Q2") == Period.quarter(2025, 2)
    assert Period.of_report("yearly", "2025").label == "2025"
    with pytest.raises(ValueError, match="does not exist"):
        Period.month(2025, 13)


def test_enterprises_are_listed_by_grid_subtree_rating_and_blacklisting(
    projected: ReadSide,
) -> None:
    everything = list_enterprises(projected.engine, now=day(500))
    assert [e.credit_code for e in everything.items] == sorted(
        [ENTERPRISE.credit_code, ENTERPRISE_2.credit_code]
    )
    in_village = list_enterprises(projected.engine, now=day(500), grid_unit=VILLAGE.code)
    assert [e.credit_code for e in in_village.items] == [ENTERPRISE.credit_code]
    assert in_village.items[0].grid_path[0] == VILLAGE.code
    in_county = list_enterprises(projected.engine, now=day(500), grid_unit=COUNTY.code)
    assert in_county.total == 2
    listed = list_enterprises(projected.engine, now=day(500), blacklisted=True)
    assert [e.credit_code for e in listed.items] == [ENTERPRISE_2.credit_code]
    assert listed.items[0].rating == "D"
    assert listed.items[0].open_cases == 2 and listed.items[0].overdue_cases == 2
    not_listed = list_enterprises(projected.engine, now=day(500), blacklisted=False)
    assert [e.credit_code for e in not_listed.items] == [ENTERPRISE.credit_code]
    rated_d = list_enterprises(projected.engine, now=day(500), rating="D")
    assert [e.credit_code for e in rated_d.items] == [ENTERPRISE_2.credit_code]
    assert list_enterprises(projected.engine, now=day(500), grid_unit="P99").total == 0
    with pytest.raises(ValueError, match="limit"):
        list_enterprises(projected.engine, now=day(500), limit=0)
