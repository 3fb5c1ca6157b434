"""Issue 14: with the shipped default policy and no calendar file, ``POST /hazards`` of a major
hazard answered 409 ``calendar.year_missing`` in December and recorded nothing. The hazard is
recorded now; the case says what waits and who must act; the administrator's
``duban calendar load`` installs the year and wakes the case, whose notice is then issued.

(The first test imports only what the earlier code had: on it, it fails on the 409.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.eventstore import EventStore
from activities.settings import Settings
from api.cli import app as cli_app
from domain.calendar import PACKAGE_YEARS, WorkingCalendar
from tests.api.conftest import ApiHarness, running_api

PHOTO = {"uri": "s3://evidence/1.jpg", "sha256": "a" * 64}
FIVE = {
    "responsibility": "企业主要负责人",
    "measures": "停产整改",
    "funds": "自筹",
    "time_limit": "三个月",
    "emergency_plan": "专项预案",
}


@pytest.fixture()
def shipped_settings(database_url: str, tmp_path: Path) -> Settings:
    """The shipped default policy and no calendar file at all: chinese-calendar's years only."""
    return Settings(database_url=database_url, data_dir=tmp_path / "data", log_level="WARNING")


@pytest.fixture()
async def api_without_calendar(
    time_skipping_env: WorkflowEnvironment, shipped_settings: Settings, own_store: EventStore
) -> AsyncIterator[ApiHarness]:
    async with running_api(time_skipping_env, shipped_settings, own_store) as harness:
        yield harness


def major_hazard(grid: Any) -> dict[str, Any]:
    return {
        "credit_code": grid.enterprise_a,
        "hazard_class": "major",
        "checklist_clause": "工贸企业重大事故隐患判定标准 第十四条(一)",
        "category": "thing",
        "source": "enforcement_inspection",
        "description": "粉尘爆炸危险场所除尘系统未按规定设置锁气卸灰装置",
        "location": "抛光车间",
        "found_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "evidence": [PHOTO],
        "measures": "停用抛光工位, 加装锁气卸灰装置",
        "responsible_person": "张三 (设备科)",
    }


def missing_year() -> int:
    """The first year without data that a county listing's three months from today reach."""
    year = datetime.now(UTC).year
    while WorkingCalendar().has_year(year):
        year += 1
    return year


async def test_a_major_hazard_is_recorded_when_next_years_holidays_are_not_loaded(
    api_without_calendar: ApiHarness,
):
    api, grid, client = api_without_calendar, api_without_calendar.grid, api_without_calendar.client
    year = missing_year()
    assert year not in PACKAGE_YEARS
    created = await client.post(
        "/api/v1/hazards", json=major_hazard(grid), headers=grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    case = created.json()["case"]
    assert case["status"] == "rectifying" and case["deadline"] is None
    assert "calendar.year_missing" in case["blocked"] and str(year) in case["blocked"]
    assert "administrator" in case["blocked"]

    live = await client.get(f"/api/v1/hazards/{hazard_id}", headers=grid.headers("supervisor_a"))
    assert live.status_code == 200 and live.json()["blocked_year"] == year
    history = await client.get(
        f"/api/v1/hazards/{hazard_id}/history", headers=grid.headers("auditor")
    )
    events = history.json()["items"]
    assert [e["event_type"] for e in events] == ["HazardRegistered", "NoticeAwaitingCalendar"]
    kept = events[1]["data"]
    assert kept["measures"] == "停用抛光工位, 加装锁气卸灰装置" and kept["missing_year"] == year
    assert kept["listing_level"] == "county"

    api.project()
    listed = await client.get(
        "/api/v1/hazards", params={"open_only": True}, headers=grid.headers("supervisor_a")
    )
    items = {item["hazard_id"]: item for item in listed.json()["items"]}
    assert items[hazard_id]["deadline"] is None and items[hazard_id]["overdue"] is False

    as_of = await client.get(
        f"/api/v1/hazards/{hazard_id}/as-of",
        params={"at": datetime.now(UTC).isoformat()},
        headers=grid.headers("auditor"),
    )
    assert as_of.json()["state"]["notice_pending"]["missing_year"] == year
    # The auditor's timeline (and the dossier's) says what waits and for which year.
    waiting = as_of.json()["timeline"][1]
    assert waiting["label"] == "整改通知书待发（缺少节假日安排）"
    assert waiting["details"]["missing_year"] == year

    # A step that needs the notice is refused with the reason; the enterprise's plan is taken.
    listing = await client.post(
        f"/api/v1/hazards/{hazard_id}/listing",
        json={"level": "city", "measures": "提级", "listing_measures": FIVE},
        headers=grid.headers("supervisor_county"),
    )
    assert listing.status_code == 409, listing.text
    assert listing.json()["error"]["rule"] == "case.blocked.calendar"
    assert str(year) in listing.json()["error"]["message"]
    plan = await client.post(
        f"/api/v1/hazards/{hazard_id}/governance-plan",
        json={
            "goal_and_tasks": "消除粉尘爆炸风险",
            "methods_and_measures": "加装锁气卸灰装置",
            "funds_and_materials": "20 万元",
            "organisation_and_people": "设备科",
            "time_limit_and_requirements": "三个月",
            "safety_measures_and_emergency_plan": "停用工位",
        },
        headers=grid.headers("enterprise_a"),
    )
    assert plan.status_code == 200, plan.text


async def test_the_administrator_is_warned_loads_the_year_and_the_waiting_case_goes_on(
    api_without_calendar: ApiHarness,
    shipped_settings: Settings,
    fresh_database_url: str,
):
    from activities.calendar_watch import CalendarSource
    from tests.fixtures.calendar_data import complete_calendar_text

    api, grid, client = api_without_calendar, api_without_calendar.grid, api_without_calendar.client
    api.services.calendar_source = CalendarSource(shipped_settings)
    year = missing_year()
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text  # a missing year never makes it unready
    assert str(year) in ready.json()["checks"]["calendar"]["warning"]

    created = await client.post(
        "/api/v1/hazards", json=major_hazard(grid), headers=grid.headers("inspector_a")
    )
    hazard_id = created.json()["hazard_id"]
    api.project()

    # The administrator's file, for every year from the package's last through three ahead.
    calendar = shipped_settings.data_dir.parent / "holidays.toml"
    calendar.write_text(complete_calendar_text(range(PACKAGE_YEARS.stop, year + 4)))
    env = {
        "DUBAN_DATABASE_URL": fresh_database_url,
        "DUBAN_DATA_DIR": str(shipped_settings.data_dir),
        "DUBAN_TEMPORAL_ADDRESS": api.env.client.service_client.config.target_host,
        "DUBAN_LOG_LEVEL": "WARNING",
    }
    loaded = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["calendar", "load", str(calendar), "--json"], env=env
    )
    assert loaded.exit_code == 0, loaded.output
    result = json.loads(loaded.stdout)
    assert result["installed"] == str(shipped_settings.data_dir / "calendar.toml")
    assert result["woken_cases"] == 1 and year in result["years"]

    for _ in range(300):  # woken: no timer needs to pass (up to 30 s: the machine may be busy)
        live = (
            await client.get(f"/api/v1/hazards/{hazard_id}", headers=grid.headers("supervisor_a"))
        ).json()
        if live["deadline"] is not None:
            break
        await asyncio.sleep(0.1)
    assert live["blocked"] is None and live["blocked_year"] is None
    assert live["listed_level"] == "county" and live["pending_timers"]
    timeline = (
        await client.get(
            f"/api/v1/hazards/{hazard_id}/as-of",
            params={"at": datetime.now(UTC).isoformat()},
            headers=grid.headers("auditor"),
        )
    ).json()["timeline"]
    issued = timeline[-1]  # when the deadline became known, and from which year's schedule
    assert issued["event_type"] == "RectificationNoticeIssued"
    assert issued["details"]["awaited_year"] == year
    assert len(issued["details"]["calendar_digest"]) == 64
    ready = await client.get("/readyz")
    assert "warning" not in ready.json()["checks"]["calendar"]
    # A registration now is counted at once.
    again = await client.post(
        "/api/v1/hazards", json=major_hazard(grid), headers=grid.headers("inspector_a")
    )
    assert again.json()["case"]["deadline"] is not None
