"""The case page's forms become the API's request bodies (no database): a local time is read in
the policy's time zone, a field the API refuses is named; and the 工作台's warning window is
the policy's earliest reminder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.console.pages.casework import action_body
from api.services.refusals import Refused
from api.services.workbench import warning_until
from domain.case.offers import ActionKind
from tests.domain.domain_builders import DEFAULT, DRILL

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_local_time_in_a_form_is_an_instant_in_the_policys_time_zone():
    body = action_body(
        ActionKind.VERIFY, {"passed": "false", "new_deadline": "2031-03-01T17:30"}, SHANGHAI
    )
    assert body.model_dump()["new_deadline"] == datetime(2031, 3, 1, 9, 30, tzinfo=UTC)
    assert body.model_dump()["passed"] is False


def test_a_listing_form_sends_the_five_implementations_only_when_some_are_given():
    bare = action_body(ActionKind.LIST, {"level": "county"}, SHANGHAI).model_dump()
    assert bare["listing_measures"] is None
    five = {f"listing_measures.{n}": "有" for n in ("responsibility", "measures", "funds")}
    with pytest.raises(Refused) as refused:  # two of the five missing: the API's refusal
        action_body(ActionKind.LIST, {"level": "county", **five}, SHANGHAI)
    assert refused.value.field is not None and refused.value.field.startswith("listing_measures.")


@pytest.mark.parametrize(
    ("kind", "form", "field"),
    [
        (ActionKind.VERIFY, {"passed": ""}, "passed"),
        (ActionKind.VERIFY, {"passed": "true", "new_deadline": "31.02.2031"}, "new_deadline"),
        (ActionKind.REFUSAL, {"details": ""}, "details"),
        (ActionKind.LIST, {"level": "township"}, "level"),
        (ActionKind.WITHDRAW, {"reason": "   "}, "reason"),
    ],
)
def test_a_field_the_api_refuses_is_named(kind: ActionKind, form: dict[str, str], field: str):
    with pytest.raises(Refused) as refused:
        action_body(kind, form, SHANGHAI)
    assert refused.value.status == 422 and refused.value.field == field


def test_the_warning_window_is_the_policys_earliest_reminder():
    now = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    assert warning_until(DEFAULT, now) == now + timedelta(days=3)  # P3D, P1D
    assert warning_until(DRILL, now) == now + timedelta(seconds=10)  # PT10S, PT5S
