"""The rules a workflow loads: the whole snapshot when a case starts, only the calendar when a
running case needs a newly published year (its policy is the one it was registered under)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.rules import RulesActivities
from activities.settings import Settings
from tests.workflows.conftest import TEST_CALENDAR
from workflows.contracts import LoadRulesInput


def _settings(tmp_path: Path, policy_text: str) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(policy_text, encoding="utf-8")
    return Settings(data_dir=tmp_path, policy_file=policy, calendar_file=TEST_CALENDAR)


def test_a_calendar_refresh_reaches_a_case_even_when_the_policy_file_is_broken(tmp_path: Path):
    rules = RulesActivities(_settings(tmp_path, "name = \n"))
    with pytest.raises(ApplicationError, match="invalid"):
        rules.load_rules(LoadRulesInput("case"))
    snapshot = rules.load_rules(LoadRulesInput("calendar"))
    assert snapshot.calendar_text == TEST_CALENDAR.read_text(encoding="utf-8")
    assert snapshot.policy == {}


def test_a_broken_calendar_file_is_refused_when_it_is_read_not_at_a_deadline(tmp_path: Path):
    calendar = tmp_path / "calendar.toml"
    calendar.write_text('[2027]\nholidays = ["not a date"]\n', encoding="utf-8")
    rules = RulesActivities(Settings(data_dir=tmp_path, calendar_file=calendar))
    with pytest.raises(ApplicationError, match="invalid"):
        rules.load_rules(LoadRulesInput("calendar"))
