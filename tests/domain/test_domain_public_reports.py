"""Public reports (举报), given / when / then: the policy's section."""

from __future__ import annotations

import pytest

from domain.errors import PolicyError
from domain.policy import Policy
from tests.domain.domain_builders import DEFAULT


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
