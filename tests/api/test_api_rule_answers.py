"""What HTTP answers each domain rule gets, whether the API's own check or a workflow's Update
refused: who acts → 403, the case's state or time → 409, a field of the request → 422 naming
it. Every rule the domain's refusal tables name is answered the same way on both paths, and
never with a 5xx. (The HTTP round trips of these rules are in test_api_public_listings.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from api.services.refusals import Refused, domain_refusal, update_refusal
from domain.case import decide
from domain.case.commands import ListHazard, RecordRefusal, VerifyRectification
from domain.errors import DomainError
from domain.policy import ListingLevel
from tests.domain.domain_builders import (
    CALENDAR,
    COUNTY_SUPERVISOR,
    DEFAULT,
    NOW,
    OUTSIDE_SUPERVISOR,
    UNITLESS_SUPERVISOR,
    VILLAGE_SUPERVISOR,
    register,
    run,
)
from tests.domain.test_domain_case_edition2 import (
    GENERAL_DEADLINE,
    REPORT,
    fire_due,
    reported_case,
)
from tests.domain.test_domain_refusals import CASE_REFUSALS, CREDIT_REFUSALS
from workflows.refusals import refusal as case_refusal  # what a case workflow's Update raises
from workflows.refusals import refusal as credit_refusal


def refused(attempt: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        attempt()  # type: ignore[operator]
    return caught.value


def answers_of(exc: DomainError, to_application_error=case_refusal) -> tuple[Refused, Refused]:  # type: ignore[no-untyped-def]
    direct = domain_refusal(exc)
    through_update = update_refusal(WorkflowUpdateFailedError(to_application_error(exc)))
    return direct, through_update


def answer(refusal: Refused) -> tuple[int, str, str | None]:
    return refusal.status, refusal.rule, refusal.field


def a_due_timer_first() -> object:
    state, _ = run([(register(), NOW)])
    return decide(state, REPORT, GENERAL_DEADLINE + timedelta(seconds=1), DEFAULT, CALENDAR)


def a_unitless_supervisor() -> object:
    state = reported_case(NOW)
    return decide(state, VerifyRectification(UNITLESS_SUPERVISOR, True), NOW, DEFAULT, CALENDAR)


def a_supervisor_of_another_township() -> object:
    state = reported_case(NOW)
    return decide(state, RecordRefusal(OUTSIDE_SUPERVISOR, "拒不整改"), NOW, DEFAULT, CALENDAR)


def below_the_supervising_unit() -> object:
    state, _ = run([(register(), NOW)])
    state, _ = fire_due(state, GENERAL_DEADLINE)  # escalated to the township
    when = GENERAL_DEADLINE + timedelta(days=2)
    return decide(state, RecordRefusal(VILLAGE_SUPERVISOR, "拒不整改"), when, DEFAULT, CALENDAR)


def a_listing_without_its_five_implementations() -> object:
    state, _ = run([(register(), NOW)])
    listing = ListHazard(COUNTY_SUPERVISOR, ListingLevel.COUNTY)
    return decide(state, listing, NOW, DEFAULT, CALENDAR)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (a_unitless_supervisor, (403, "case.authority.unit_required", "actor.unit_code")),
        (a_supervisor_of_another_township, (403, "case.authority.outside_grid", "actor.unit_code")),
        (
            below_the_supervising_unit,
            (403, "case.authority.below_supervising_unit", "actor.unit_code"),
        ),
        (a_due_timer_first, (409, "case.timer.due_first", "now")),
        (CASE_REFUSALS["case.listing.period_ended"][0], (409, "case.listing.period_ended", None)),
        (
            a_listing_without_its_five_implementations,
            (422, "case.list.five_implementations_required", "listing_measures"),
        ),
    ],
    ids=["unit_required", "outside_grid", "below_supervising", "due_first", "period_ended", "5"],
)
def test_an_edition_2_rule_is_answered_with_the_status_its_meaning_calls_for(
    attempt: object, expected: tuple[int, str, str | None]
):
    direct, through_update = answers_of(refused(attempt))
    assert answer(direct) == expected
    assert answer(through_update) == expected
    assert direct.message == through_update.message and direct.message


def test_every_rule_of_a_case_or_credit_record_is_a_4xx_the_same_on_either_path():
    statuses: dict[int, int] = {}
    for table, to_application_error in (
        (CASE_REFUSALS, case_refusal),
        (CREDIT_REFUSALS, credit_refusal),
    ):
        for rule, (attempt, field) in table.items():
            direct, through_update = answers_of(refused(attempt), to_application_error)
            assert answer(direct) == answer(through_update), rule
            assert direct.rule == rule, (rule, direct.rule)
            assert direct.status in (403, 409, 422), (rule, direct.status)
            if field is not None and not field.startswith("actor."):
                assert direct.status == 422 and direct.field == field, (rule, direct.field)
            if field is not None and field.startswith("actor."):
                assert direct.status == 403, rule
            statuses[direct.status] = statuses.get(direct.status, 0) + 1
    assert set(statuses) == {403, 409, 422}, statuses
