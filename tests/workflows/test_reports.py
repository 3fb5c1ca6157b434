"""Reports from the recorded case events, produced once per (kind, grid unit, period), and the
Temporal Schedules that start them."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import (
    ScheduleBackfill,
    ScheduleOverlapPolicy,
    ScheduleRange,
)
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventMetadata, EventStore, NewEvent
from activities.reports import ReportActivities
from activities.settings import Settings
from domain.case import decide, event_to_data, fold, pending_timers
from domain.case_commands import (
    SYSTEM_ACTOR,
    CaseCommand,
    FireTimer,
    RegisterHazard,
    ReportRectification,
    VerifyRectification,
)
from domain.case_events import CaseEvent, RectificationMode
from domain.credit import RecordCreditEvent, credit_event_to_data, decide_credit, fold_credit
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.policy import CreditEventKind
from tests.domain.domain_builders import (
    CALENDAR,
    DEFAULT,
    ENTERPRISE_ACTOR,
    PHOTO,
    SUPERVISOR,
    register,
    register_major,
)
from tests.workflows.conftest import BIN, RunningWorker
from worker import build_worker
from workflows.ids import case_stream_id, credit_stream_id
from workflows.reports import (
    ProduceReportInput,
    ReportRunInput,
    ReportRunResult,
    ReportRunWorkflow,
    ensure_report_schedules,
    report_key,
    schedule_id,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
_USED_YEARS: set[int] = set()


@dataclass
class Seeded:
    """Cases of a grid of the test's own in March of a year no other test uses."""

    year: int
    path: tuple[GridUnit, ...]
    credit_code: str

    @property
    def period(self) -> str:
        return f"{self.year}-03"

    def at(self, month: int, day: int, hour: int = 9) -> datetime:
        return datetime(self.year, month, day, hour, tzinfo=SHANGHAI)


def _grid() -> tuple[GridUnit, ...]:
    tag = uuid.uuid4().hex[:8].upper()
    levels = [GridLevel.PROVINCE, GridLevel.CITY, GridLevel.COUNTY, GridLevel.TOWNSHIP]
    levels.append(GridLevel.VILLAGE)
    units: list[GridUnit] = []
    parent: str | None = None
    for level in levels:
        code = f"R{tag}" if parent is None else f"{parent}-{level.value[0].upper()}1"
        units.append(GridUnit(code, f"{level.value}-{tag}", level, parent, f"负责人 {level.value}"))
        parent = code
    return tuple(reversed(units))  # lowest first


def _append(store: EventStore, stream: str, version: int, events: list[Any], data: Any) -> int:
    store.append(
        stream,
        version,
        [
            NewEvent(uuid4(), e.EVENT_TYPE, data(e), EventMetadata("test", "system"), e.at)
            for e in events
        ],
    )
    return version + len(events)


def _run_case(
    store: EventStore, steps: list[tuple[CaseCommand, datetime]], until: datetime
) -> None:
    """Decide each step at its time, firing the timers that fall due in between, then fire
    timers up to ``until``; append everything to the case's stream, as the workflow would."""
    state = None
    events: list[CaseEvent] = []

    def fire_until(moment: datetime) -> None:
        nonlocal state
        while state is not None and state.is_open:
            due = [t for t in pending_timers(state, DEFAULT) if t.due_at <= moment]
            if not due:
                return
            new = decide(
                state, FireTimer(SYSTEM_ACTOR, due[0].key), due[0].due_at, DEFAULT, CALENDAR
            )
            events.extend(new)
            state = fold(new, state)

    for command, now in steps:
        fire_until(now)
        new = decide(state, command, now, DEFAULT, CALENDAR)
        events.extend(new)
        state = fold(new, state)
    fire_until(until)
    assert state is not None
    _append(store, case_stream_id(state.hazard_id), 0, events, event_to_data)


def seed(store: EventStore) -> Seeded:
    year = random.choice(sorted(set(range(2006, 2025)) - _USED_YEARS))
    _USED_YEARS.add(year)  # each seeding has a March to itself in this test run
    s = Seeded(year, _grid(), make_credit_code("91370782" + uuid4().hex[:9]))
    enterprise = Enterprise(s.credit_code.upper(), "报表测试企业", "化工", s.path[0].code)
    s.credit_code = enterprise.credit_code

    def reg(build: Any = register, **fields: Any) -> RegisterHazard:
        command: RegisterHazard = build(
            hazard_id=f"H-{uuid4().hex[:12]}", enterprise=enterprise, grid_path=s.path, **fields
        )
        return command

    end = s.at(4, 1, 0)
    report = ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,))
    passed = VerifyRectification(SUPERVISOR, passed=True, comments="合格")
    # A: found 3 March, reported 10 March, written off 12 March: its deadline (18 March) met.
    _run_case(
        store,
        [
            (reg(found_at=s.at(3, 3, 8)), s.at(3, 3)),
            (report, s.at(3, 10)),
            (passed, s.at(3, 12)),
        ],
        end,
    )
    # B: found 3 March, nothing done: the deadline is missed, the case goes to the township.
    _run_case(store, [(reg(found_at=s.at(3, 3, 8)), s.at(3, 3))], end)
    # C: fixed on the spot (立改立销) on 5 March.
    _run_case(
        store, [(reg(found_at=s.at(3, 5, 8), mode=RectificationMode.IMMEDIATE), s.at(3, 5))], end
    )
    # D: found in February, reported before its deadline, written off on 5 March.
    _run_case(
        store,
        [
            (reg(found_at=s.at(2, 10, 8)), s.at(2, 10)),
            (report, s.at(2, 24)),
            (passed, s.at(3, 5)),
        ],
        end,
    )
    # F: a major hazard, listed at the county on registration; its deadline is months away.
    _run_case(store, [(reg(register_major, found_at=s.at(3, 6, 8)), s.at(3, 6))], end)
    # G: found in April: not this period's.
    _run_case(store, [(reg(found_at=s.at(4, 2, 8)), s.at(4, 2))], s.at(4, 3))
    # The enterprise's credit: a refusal on 20 March opens a proceeding.
    command = RecordCreditEvent(
        SYSTEM_ACTOR,
        s.credit_code,
        enterprise.name,
        "H-x",
        CreditEventKind.REFUSAL,
        s.at(3, 20),
    )
    opened = decide_credit(None, command, s.at(3, 20), DEFAULT, CALENDAR)
    assert fold_credit(opened) is not None
    _append(store, credit_stream_id(s.credit_code), 0, opened, credit_event_to_data)
    return s


EXPECTED = {
    "cases": 5,  # A, B, C, D, F (G comes later)
    "found": 4,  # A, B, C, F
    "rectified": 3,  # A, C, D
    "rectification_rate": 0.5,  # A and C of the four found
    "due": 2,  # A (met) and B (missed) fell due on 18 March
    "rectified_on_time": 1,
    "on_time_rectification_rate": 0.5,
    "overdue": 1,  # B
    "escalations_by_level": {"township": 1},
    "listed_by_level": {"county": 1},
    "delisted_by_level": {},
    "blacklist_changes": {
        "expired": 0,
        "listed": 0,
        "proceedings_opened": 1,
        "removed_early": 0,
        "restored": 0,
    },
}


@pytest.fixture()
def seeded(store: EventStore) -> Iterator[Seeded]:
    yield seed(store)


async def test_a_monthly_report_counts_the_periods_case_events_and_is_stored_once(
    case_worker: RunningWorker, seeded: Seeded, test_settings: Settings
):
    run_id = f"report-run-test-{uuid4().hex[:8]}"
    case_worker.started.append(run_id)
    result: ReportRunResult = await case_worker.client.execute_workflow(
        ReportRunWorkflow.run,
        ReportRunInput("monthly", seeded.period),
        id=run_id,
        task_queue=case_worker.task_queue,
    )
    keys = {report_key("monthly", unit.code, seeded.period) for unit in seeded.path}
    assert keys <= set(result.produced)
    assert result.period == seeded.period

    village = seeded.path[0]
    stream = report_key("monthly", village.code, seeded.period)
    (stored,) = case_worker.store.read_stream(stream)
    content = stored.data["content"]
    assert {k: content[k] for k in EXPECTED} == EXPECTED
    assert content["unit"] == {"code": village.code, "name": village.name, "level": "village"}
    assert content["period_start"] == seeded.at(3, 1, 0).isoformat()
    # Every unit up the grid sees its subtree: the same cases here.
    county = case_worker.store.read_stream(
        report_key("monthly", seeded.path[2].code, seeded.period)
    )
    assert county[0].data["content"]["found"] == 4

    folder = (test_settings.reports_dir or test_settings.data_dir / "reports") / "monthly"
    json_file = folder / seeded.period / f"{village.code}.json"
    assert hashlib.sha256(json_file.read_bytes()).hexdigest() == stored.data["content_sha256"]
    assert json.loads(json_file.read_text(encoding="utf-8")) == content
    rows = list(csv.DictReader((folder / seeded.period / f"{village.code}.csv").open()))
    figures = {row["metric"]: row["value"] for row in rows}
    assert figures["on_time_rectification_rate"] == "0.5"
    assert figures["escalations_by_level.township"] == "1"
    assert {row["unit_code"] for row in rows} == {village.code}

    # Run again: nothing is produced twice, by the workflow ids or by the store.
    again_id = f"report-run-test-{uuid4().hex[:8]}"
    case_worker.started.append(again_id)
    again: ReportRunResult = await case_worker.client.execute_workflow(
        ReportRunWorkflow.run,
        ReportRunInput("monthly", seeded.period),
        id=again_id,
        task_queue=case_worker.task_queue,
    )
    assert keys <= set(again.already) and not keys & set(again.produced)
    activities = ReportActivities(case_worker.store, test_settings)
    direct = activities.produce_report(
        ProduceReportInput("monthly", seeded.period, village.code, str(uuid4()))
    )
    assert direct.already_stored and direct.content_sha256 == stored.data["content_sha256"]
    assert len(case_worker.store.read_stream(stream)) == 1


async def test_the_report_schedules_run_at_the_policys_times_and_catch_up_missed_runs(
    store: EventStore, test_settings: Settings, tmp_path: Path
):
    seeded = seed(store)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        dev_server_database_filename=str(tmp_path / "temporal.db"),
        dev_server_log_level="error",
    )
    try:
        task_queue = f"reports-{uuid4().hex[:8]}"
        ids = await ensure_report_schedules(env.client, test_settings, task_queue)
        assert ids == [schedule_id(k) for k in ("monthly", "quarterly", "yearly")]
        monthly = env.client.get_schedule_handle(schedule_id("monthly"))
        await monthly.pause(note="operator pause")
        # Ensuring again updates in place and keeps what an operator did.
        assert await ensure_report_schedules(env.client, test_settings, task_queue) == ids
        described = await monthly.describe()
        schedule = described.schedule
        assert schedule.state.paused
        assert schedule.spec.time_zone_name == "Asia/Shanghai"
        (calendar,) = schedule.spec.calendars
        assert list(calendar.day_of_month) == [ScheduleRange(20)]
        assert list(calendar.hour) == [ScheduleRange(9)]
        assert schedule.policy.overlap is ScheduleOverlapPolicy.BUFFER_ALL
        assert schedule.policy.catchup_window == timedelta(days=366)
        assert getattr(schedule.action, "workflow", None) == "ReportRun"
        quarterly = await env.client.get_schedule_handle(schedule_id("quarterly")).describe()
        (q_calendar,) = quarterly.schedule.spec.calendars
        assert list(q_calendar.month) == [ScheduleRange(1, 10, 3)]
        assert list(q_calendar.day_of_month) == [ScheduleRange(15)]
        await monthly.unpause()

        # A run the schedule missed (here: 20 April of the seeded year) reports on March.
        parts = build_worker(env.client, test_settings, store, task_queue)
        async with parts.worker:
            await monthly.backfill(
                ScheduleBackfill(
                    seeded.at(4, 19).astimezone(UTC),
                    seeded.at(4, 21).astimezone(UTC),
                    overlap=ScheduleOverlapPolicy.BUFFER_ALL,
                )
            )
            stream = report_key("monthly", seeded.path[0].code, seeded.period)
            for _ in range(200):
                if store.read_stream(stream):
                    break
                await asyncio.sleep(0.05)
            (stored,) = store.read_stream(stream)
            assert {k: stored.data["content"][k] for k in EXPECTED} == EXPECTED
        parts.executor.shutdown(wait=False)
    finally:
        await env.shutdown()
