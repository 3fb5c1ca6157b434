"""Edition differences are named rules, each defined once in domain/editions.py: the rest of the
domain asks the rule, never the edition number. Where the listing maximum starts counting is
one function."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from domain import editions
from domain.case.deadlines import listing_maximum_start
from domain.case.state import ListingRecord
from domain.policy import ListingLevel, Policy
from tests.domain.domain_builders import DEFAULT, EDITION_2, EDITION_3, EDITION_4, LEGACY, NOW

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
BY_EDITION: dict[int, Policy] = {1: LEGACY, 2: EDITION_2, 3: EDITION_3, 4: EDITION_4, 5: DEFAULT}

# Each rule and the edition that brought it.
FIRST_EDITION: dict[Callable[[Policy], bool], int] = {
    editions.authority_follows_the_grid: 2,
    editions.listing_states_five_implementations: 2,
    editions.listings_published_on_register: 2,
    editions.periods_end_as_legal_periods: 2,
    editions.listing_maximum_counts_from_first_listing: 2,
    editions.deadlines_capped_by_listing_maximum: 2,
    editions.due_timers_fire_before_commands: 2,
    editions.deadline_waits_for_extension_decision: 2,
    editions.late_failed_verification_counts_as_missed_deadline: 2,
    editions.late_rejection_counts_as_missed_deadline: 2,
    editions.extension_limits_depend_on_listing: 2,
    editions.extension_cutoff_leaves_whole_working_days: 2,
    editions.referred_once_per_case: 2,
    editions.escalation_listing_states_rung_measures: 2,
    editions.withdrawal_by_unit_on_grid_path: 2,
    editions.credit_notice_states_reasons_and_rights: 2,
    editions.blacklist_entry_records_decision_and_publish_by: 2,
    editions.notice_requirements_allowed: 2,
    editions.policy_values_cross_checked: 2,
    editions.decision_alert_repeats_up_the_grid: 3,
    editions.reminders_stop_at_their_deadline: 3,
    editions.withdrawal_by_supervising_unit_or_above: 3,
    editions.lapsed_reminders_recorded: 4,
    editions.self_registration_bounded: 5,
    editions.self_rectified_general_closes_on_report: 5,
    editions.self_reported_major_awaits_acceptance: 5,
}


def test_the_edition_number_is_read_in_domain_editions_alone():
    readers = []
    for path in sorted(DOMAIN.rglob("*.py")):
        if path == DOMAIN / "editions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "edition":
                readers.append(f"{path.relative_to(DOMAIN)}:{node.lineno}")
    assert readers == []


@pytest.mark.parametrize("rule", list(FIRST_EDITION), ids=lambda rule: rule.__name__)
def test_each_rule_holds_from_the_edition_that_brought_it(rule: Callable[[Policy], bool]):
    first = FIRST_EDITION[rule]
    assert {e: rule(policy) for e, policy in BY_EDITION.items()} == {
        e: e >= first for e in BY_EDITION
    }


def test_every_rule_of_domain_editions_is_listed_with_its_edition():
    rules = {
        function
        for name, function in inspect.getmembers(editions, inspect.isfunction)
        if function.__module__ == editions.__name__
        and not name.startswith("_")
        # make mutation's copy of the module also holds each function's mutants (mutmut's)
        and "__mutmut_" not in name
    }
    assert rules - {editions.is_known_edition} == set(FIRST_EDITION)


def test_the_known_editions_are_the_shipped_policys_and_those_before_it():
    assert tuple(range(1, DEFAULT.edition + 1)) == editions.EDITIONS
    assert all(editions.is_known_edition(policy) for policy in BY_EDITION.values())


# --- where the listing maximum starts counting -------------------------------------------------

FIRST_LISTED = NOW
RAISED = NOW + timedelta(days=100)
LISTING = ListingRecord(
    "GP-CITY-P37-C07-2025-00000000",
    ListingLevel.CITY,
    "P37-C07",
    "市局 李局长",
    listed_at=RAISED,
    first_listed_at=FIRST_LISTED,
)
LATER = NOW + timedelta(days=200)


@pytest.mark.parametrize("edition", [2, 3, 4])
def test_the_listing_maximum_counts_from_the_first_listing(edition: int):
    policy = BY_EDITION[edition]
    assert listing_maximum_start(LISTING, policy) == FIRST_LISTED
    # A higher listing made now does not start the year again.
    assert listing_maximum_start(LISTING, policy, listing_now=LATER) == FIRST_LISTED


def test_under_edition_1_the_listing_maximum_counts_from_the_current_listing():
    assert listing_maximum_start(LISTING, LEGACY) == RAISED
    assert listing_maximum_start(LISTING, LEGACY, listing_now=LATER) == LATER


@pytest.mark.parametrize("edition", [1, 2, 3, 4])
def test_an_unlisted_case_has_no_maximum_until_a_listing_is_made(edition: int):
    policy = BY_EDITION[edition]
    assert listing_maximum_start(None, policy) is None
    assert listing_maximum_start(None, policy, listing_now=LATER) == LATER
