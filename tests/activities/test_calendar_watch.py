"""An administrator learns in time that next year's holidays are missing: from the policy's
warning day (default 1 November) the readiness report, the banner, the metrics and one
notification per missing year say which year; the running processes see a loaded file
without a restart."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.engine import Engine

from activities.calendar_watch import (
    CalendarCollector,
    CalendarSource,
    CalendarWatch,
    calendar_warning_lines,
    queue_admin_warning,
)
from activities.database import create_app_engine
from activities.health import readiness
from activities.rules import RulesActivities, calendar_path
from activities.settings import Settings
from domain.calendar import PACKAGE_YEARS
from tests.conftest import APP_ROLE
from tests.domain.domain_builders import DEFAULT, DEFAULT_TEXT, SHANGHAI
from tests.fixtures.calendar_data import calendar_text
from workflows.contracts import LoadRulesInput

LAST = PACKAGE_YEARS[-1]
NEXT = LAST + 1
EVE = datetime(LAST, 10, 31, 23, 59, tzinfo=SHANGHAI)  # the day before the warning day
FIRST = datetime(LAST, 11, 1, 0, 0, tzinfo=SHANGHAI)  # the default warning day


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture()
def engine(fresh_database_url: str) -> Engine:
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    yield engine
    engine.dispose()


def test_next_year_missing_is_a_warning_from_the_policys_warning_day(settings: Settings):
    source = CalendarSource(settings)
    quiet = source.status(DEFAULT, EVE)
    assert quiet.first_missing_year == NEXT and not quiet.warning and quiet.message is None
    loud = source.status(DEFAULT, FIRST)
    assert loud.warning and loud.days_until_needed == 61
    assert f"缺少 {NEXT} 年节假日安排" in (loud.message or "")
    assert "duban calendar load" in (loud.message or "")
    # A policy may warn earlier; the current year missing is a warning whatever the day.
    earlier = DEFAULT.from_data({**DEFAULT.to_data(), "calendar": {"warn_from": "10-15"}})
    assert source.status(earlier, EVE).warning
    january = datetime(NEXT, 1, 5, tzinfo=SHANGHAI)
    assert source.status(DEFAULT, january).warning
    assert source.status(DEFAULT, january).days_until_needed < 0


def test_the_loaded_file_is_seen_without_a_restart_and_a_broken_one_keeps_the_last(
    settings: Settings,
):
    source = CalendarSource(settings)
    assert source.status(DEFAULT, FIRST).first_missing_year == NEXT
    target = calendar_path(settings)
    assert target == settings.data_dir / "calendar.toml"
    target.write_text(calendar_text(range(NEXT, NEXT + 2)))
    status = source.status(DEFAULT, FIRST)
    assert status.first_missing_year == NEXT + 2 and not status.warning
    assert status.file_years == (NEXT, NEXT + 1)
    target.write_text(f"[{NEXT}]\nholidays = [{NEXT}-01-01T00:00:00]\n")
    broken = source.status(DEFAULT, FIRST)
    assert broken.file_error is not None and "line 2" in broken.file_error
    assert broken.first_missing_year == NEXT + 2  # the last good file stays in use
    assert broken.readiness()["ok"] is False
    # The workers' rules read the same file (the data directory's, with no setting).
    target.write_text(calendar_text(range(NEXT, NEXT + 1)))
    snapshot = RulesActivities(settings).load_rules(LoadRulesInput("calendar"))
    assert snapshot.calendar_source == str(target) and f"[{NEXT}]" in (snapshot.calendar_text or "")


def test_the_metrics_say_which_year_is_missing_and_how_soon(settings: Settings):
    registry = CollectorRegistry()
    registry.register(CalendarCollector(CalendarSource(settings), DEFAULT))
    text = generate_latest(registry).decode()
    assert f"duban_calendar_first_missing_year {float(NEXT)}" in text
    assert "duban_calendar_missing_year_needed_in_days" in text
    assert "duban_calendar_file_valid 1.0" in text
    assert "duban_calendar_warning" in text


def test_readiness_carries_the_warning_and_stays_ready(settings: Settings, engine: Engine):
    status = CalendarSource(settings).status(DEFAULT, FIRST)
    report = readiness(
        settings, engine=engine, temporal=lambda: (True, "ok"), calendar=lambda: status
    )
    assert report["ready"] is True
    assert report["checks"]["calendar"]["first_missing_year"] == NEXT
    assert str(NEXT) in report["checks"]["calendar"]["warning"]


def test_the_administrators_are_notified_once_per_missing_year(settings: Settings, engine: Engine):
    source = CalendarSource(settings)
    assert not queue_admin_warning(engine, source.status(DEFAULT, EVE))  # not yet
    watch = CalendarWatch(source, DEFAULT, engine)
    watch.look(FIRST)
    assert not queue_admin_warning(engine, source.status(DEFAULT, FIRST))  # already queued
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT case_id, recipient_kind, recipient_id, reason, payload->>'year'"
                " FROM notification_outbox"
            )
        ).all()
    assert rows == [
        ("calendar", "admin", "administrators", f"calendar_year_missing:{NEXT}", str(NEXT))
    ]


def test_the_banner_lines_say_which_year_and_what_to_run(settings: Settings):
    lines = calendar_warning_lines(settings, FIRST)
    assert len(lines) == 1 and str(NEXT) in lines[0] and "duban calendar load" in lines[0]
    assert calendar_warning_lines(settings, EVE) == []
    calendar_path(settings).write_text(calendar_text(range(NEXT, NEXT + 1)))
    assert calendar_warning_lines(settings, FIRST) == []


def test_a_broken_policy_file_falls_back_to_the_shipped_warning_day(tmp_path: Path):
    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_TEXT.replace('warn_from = "11-01"', 'warn_from = "10-01"'))
    early = Settings(data_dir=tmp_path, policy_file=policy)
    assert calendar_warning_lines(early, datetime(LAST, 10, 2, tzinfo=SHANGHAI))
    policy.write_text("name = \n")
    assert calendar_warning_lines(early, datetime(LAST, 10, 2, tzinfo=SHANGHAI)) == []
