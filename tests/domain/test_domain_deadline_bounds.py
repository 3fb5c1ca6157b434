"""A deadline a person gives lies at most the policy's longest rectification period ahead (the
default policy's: a listing's year), counted generously — never a period the policy itself
could set — and a command without a deadline is not concerned."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.case.commands import (
    DecideExtension,
    ListHazard,
    RequestExtension,
    VerifyRectification,
)
from domain.deadline_bounds import (
    check_deadline_bound,
    latest_deadline,
    longest_rectification_period,
)
from domain.errors import DomainError
from domain.policy import ListingLevel
from tests.domain.domain_builders import (
    CALENDAR,
    DEFAULT,
    DRILL,
    ENTERPRISE_ACTOR,
    NOW,
    SUPERVISOR,
    register,
)


def test_the_default_policys_longest_rectification_period_is_a_listings_year():
    assert str(longest_rectification_period(DEFAULT)) == "P1Y"
    assert str(longest_rectification_period(DRILL)) == "PT5M"


def test_every_deadline_the_policy_itself_sets_lies_within_the_bound():
    limit = latest_deadline(NOW, DEFAULT)
    province = DEFAULT.deadlines.listed.province.add_as_period(NOW, CALENDAR, DEFAULT.tz)
    assert province <= limit
    assert limit - NOW < timedelta(days=366 + 11)


@pytest.mark.parametrize(
    "command",
    [
        register(deadline=NOW + timedelta(days=730)),
        register(deadline=NOW.replace(year=2200)),
        ListHazard(SUPERVISOR, ListingLevel.COUNTY, deadline=NOW + timedelta(days=800)),
        VerifyRectification(SUPERVISOR, passed=False, new_deadline=NOW + timedelta(days=400)),
        DecideExtension(SUPERVISOR, approve=True, new_deadline=NOW + timedelta(days=400)),
        RequestExtension(
            ENTERPRISE_ACTOR,
            requested_deadline=NOW + timedelta(days=400),
            reasons="设备到货延迟",
            interim_safeguards="停用",
        ),
    ],
    ids=lambda c: type(c).__name__,
)
def test_a_deadline_beyond_the_policys_longest_period_is_refused_naming_its_field(command):
    with pytest.raises(DomainError) as refused:
        check_deadline_bound(command, NOW, DEFAULT)
    assert refused.value.rule == "case.deadline.beyond_policy"
    assert refused.value.field in ("deadline", "new_deadline", "requested_deadline")
    assert "P1Y" in refused.value.message


def test_a_deadline_within_the_bound_or_none_at_all_is_not_concerned():
    check_deadline_bound(register(deadline=NOW + timedelta(days=360)), NOW, DEFAULT)
    check_deadline_bound(register(), NOW, DEFAULT)
    check_deadline_bound(VerifyRectification(SUPERVISOR, passed=True), NOW, DEFAULT)


def test_an_instant_outside_the_supported_years_is_told_by_its_own_rule():
    far = NOW.replace(year=9999)
    with pytest.raises(DomainError) as refused:
        check_deadline_bound(register(deadline=far), NOW, DEFAULT)
    assert refused.value.rule == "time.out_of_range"
