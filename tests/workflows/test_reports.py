"""Reports from the read models, produced once per (kind, grid unit, period), and the Temporal
Schedules that start them, including a run missed while Temporal was down."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from temporalio.client import (
    Client,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    ScheduleRange,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.database import create_app_engine
from activities.eventstore import EventMetadata, EventStore, NewEvent
from activities.projections.read_models.figures.queries import unit_statistics
from activities.projections.rebuilding import complete_read_models, rebuild, rebuilding, reset
from activities.reports import (
    DEFINITIONS,
    FIGURES_BEFORE_DEFINITIONS,
    ReportActivities,
    content_bytes,
    report_content,
)
from activities.rules import RulesActivities
from activities.settings import Settings
from activities.temporal_setup import ensure_report_schedules, report_schedule_id, run_day
from domain.case import decide, event_to_data, fold, pending_timers
from domain.case.commands import (
    SYSTEM_ACTOR,
    Actor,
    CaseCommand,
    FireTimer,
    RegisterHazard,
    ReportRectification,
    Role,
    VerifyRectification,
)
from domain.case.events import CaseEvent, RectificationMode
from domain.credit import (
    credit_event_to_data,
    decide_credit,
    fold_credit,
)
from domain.credit.commands import RecordCreditEvent
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.periods import Period, period_before, report_due_date
from domain.policy import CreditEventKind, Policy
from tests.domain.domain_builders import (
    CALENDAR,
    DEFAULT,
    ENTERPRISE_ACTOR,
    PHOTO,
    register,
    register_major,
)
from tests.workflows.conftest import BIN, RunningWorker
from worker import build_worker
from workflows.contracts import ProduceReportInput, ReportRunInput, ReportRunResult
from workflows.ids import case_stream_id, credit_stream_id, report_key
from workflows.reports import ReportRunWorkflow

SHANGHAI = ZoneInfo("Asia/Shanghai")
_USED_YEARS: set[int] = set()


@dataclass
class Seeded:
    """Cases of a grid of the test's own in a month (March of a year no other test uses)."""

    year: int
    path: tuple[GridUnit, ...]
    credit_code: str
    month: int = 3

    @property
    def period(self) -> str:
        return f"{self.year}-{self.month:02d}"

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


def _supervisor(seeded: Seeded) -> Actor:
    """The county bureau's supervisor of the seeded grid (a supervisor acts in their subtree)."""
    return Actor("sup-report", Role.SUPERVISOR, unit_code=seeded.path[2].code)


def _years() -> list[int]:
    """Years whose 18 March is a weekday: a township deadline ten working days later is then
    1 April 24:00 whatever the year (from a Saturday or Sunday it falls on 31 March)."""
    return [y for y in range(2006, 2025) if date(y, 3, 18).weekday() < 5 and y not in _USED_YEARS]


def seed(store: EventStore) -> Seeded:
    year = random.choice(_years())
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
    passed = VerifyRectification(_supervisor(s), passed=True, comments="合格")
    # Deadlines are given (18:00 of the day); the policy only sets B's escalation deadline
    # (ten working days after a weekday 18 March: in April) and F's listing deadline (June).
    # A: found 3 March, reported 10 March, written off 12 March: its deadline (18 March) met.
    _run_case(
        store,
        [
            (reg(found_at=s.at(3, 3, 8), deadline=s.at(3, 18, 18)), s.at(3, 3)),
            (report, s.at(3, 10)),
            (passed, s.at(3, 12)),
        ],
        end,
    )
    # B: found 3 March, nothing done: the deadline is missed, the case goes to the township.
    _run_case(store, [(reg(found_at=s.at(3, 3, 8), deadline=s.at(3, 18, 18)), s.at(3, 3))], end)
    # C: fixed on the spot (立改立销) on 5 March.
    _run_case(
        store, [(reg(found_at=s.at(3, 5, 8), mode=RectificationMode.IMMEDIATE), s.at(3, 5))], end
    )
    # D: found in February, reported before its deadline, written off on 5 March.
    _run_case(
        store,
        [
            (reg(found_at=s.at(2, 10, 8), deadline=s.at(2, 25, 18)), s.at(2, 10)),
            (report, s.at(2, 24)),
            (passed, s.at(3, 5)),
        ],
        end,
    )
    # E: found 20 March with a deadline of 30 March, and no timer fires (the worker is down):
    # overdue at the month's end, its deadline due with no outcome yet.
    _run_case(
        store,
        [(reg(found_at=s.at(3, 20, 8), deadline=s.at(3, 30, 18)), s.at(3, 20))],
        s.at(3, 25),
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


LEVELS_0 = {"township": 0, "county": 0, "city": 0, "province": 0}
LISTINGS_0 = {"county": 0, "city": 0, "province": 0}
EXPECTED = {
    "cases": 6,  # A, B, C, D, E, F were open at some moment of March (G came in April)
    "found": 5,  # A, B, C, E, F (D was found in February)
    "found_major": 1,  # F
    "rectified": 3,  # A, C, D
    "rectification_rate": 0.6,  # rectified / found
    # Hazards due: 18 March: A (met), B (missed); 30 March: E (passed, no outcome yet). Each of
    # them has one deadline in March, so the deadlines due are the same three.
    "due": 3,
    "rectified_on_time": 1,
    "on_time_rectification_rate": 0.3333,
    "deadlines_missed": 1,  # B
    "due_unsettled": 1,  # E
    "deadlines_due": 3,
    "deadlines_met": 1,
    "deadlines_due_unsettled": 1,
    # At 1 April 00:00: E, and B, escalated to the township on 18 March: its hazard stays
    # overdue although the township's deadline was still to come (counted 1 before).
    "overdue": 2,
    "referred": 0,
    "withdrawn": 0,
    "escalations_by_level": {**LEVELS_0, "township": 1},
    "listed_by_level": {**LISTINGS_0, "county": 1},
    "delisted_by_level": LISTINGS_0,
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


def _policy(settings: Settings) -> Policy:
    return Policy.from_data(RulesActivities(settings).snapshot().policy)


async def test_a_monthly_report_gives_the_hand_computed_figures_and_is_stored_once(
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
    assert content["definitions"] == DEFINITIONS  # which definition its figures use
    assert content["unit"] == {"code": village.code, "name": village.name, "level": "village"}
    assert content["period_start"] == seeded.at(3, 1, 0).isoformat()
    assert content["overdue_as_of"] == seeded.at(4, 1, 0).isoformat()
    assert content["due_by"] == date(seeded.year, 4, 20).isoformat()
    # Every unit up the grid sees its subtree: the same cases here.
    county = case_worker.store.read_stream(
        report_key("monthly", seeded.path[2].code, seeded.period)
    )
    assert county[0].data["content"]["found"] == 5

    folder = (test_settings.reports_dir or test_settings.data_dir / "reports") / "monthly"
    json_file = folder / seeded.period / f"{village.code}.json"
    assert hashlib.sha256(json_file.read_bytes()).hexdigest() == stored.data["content_sha256"]
    assert json.loads(json_file.read_text(encoding="utf-8")) == content
    rows = list(csv.DictReader((folder / seeded.period / f"{village.code}.csv").open()))
    figures = {row["metric"]: row["value"] for row in rows}
    assert figures["on_time_rectification_rate"] == "0.3333"
    assert figures["escalations_by_level.township"] == "1"
    assert {row["unit_code"] for row in rows} == {village.code}

    # The statistics of the same unit and period are the report's figures, to the digit.
    statistics = unit_statistics(
        case_worker.store.engine,
        village.code,
        Period.month(seeded.year, 3),
        now=datetime.now(UTC),
        time_zone="Asia/Shanghai",
    )
    policy = _policy(test_settings)
    assert report_content("monthly", seeded.period, statistics, policy) == content

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


def test_a_reports_figures_are_read_from_the_read_tables_with_no_access_to_the_store(
    store: EventStore, owner_engine: Engine, database_url: str, test_settings: Settings
) -> None:
    seeded = seed(store)
    ReportActivities(store, test_settings).read_models_current()
    role = f"duban_report_reader_{uuid4().hex[:8]}"
    with owner_engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql(
            f'GRANT SELECT ON case_view, case_statistics, grid_unit_view TO "{role}"'
        )
    reader = create_app_engine(database_url, role)
    try:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            EventStore(reader).head()
        content = ReportActivities(EventStore(reader), test_settings).content_of(
            "monthly", seeded.period, seeded.path[0].code, datetime.now(UTC)
        )
        assert {k: content[k] for k in EXPECTED} == EXPECTED
    finally:
        reader.dispose()
        with owner_engine.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')


def test_bad_report_requests_are_refused_for_good_naming_the_field(
    store: EventStore, test_settings: Settings
) -> None:
    activities = ReportActivities(store, test_settings)
    cases = [
        (ProduceReportInput("weekly", "2025-03", "P37", str(uuid4())), "kind"),
        (ProduceReportInput("monthly", "2025-13", "P37", str(uuid4())), "period"),
        (ProduceReportInput("monthly", "2999-01", "P37", str(uuid4())), "period"),
        (ProduceReportInput("monthly", "2025-03", "NO-SUCH-UNIT", str(uuid4())), "unit_code"),
    ]
    for request, field in cases:
        with pytest.raises(ApplicationError) as refused:
            activities.produce_report(request)
        assert refused.value.non_retryable, request
        assert refused.value.message.startswith(f"{field}:"), refused.value
        assert not store.read_stream(report_key("monthly", request.unit_code, "2025-03"))


async def test_the_report_schedules_fire_ahead_of_the_due_days_and_catch_up_a_missed_run(
    store: EventStore, test_settings: Settings, tmp_path: Path
):
    """The schedules, created with the policy's due days; then Temporal is down when the
    monthly one is due to fire, and no worker runs: once Temporal is back and a worker starts,
    the missed run is caught up and its report produced, once."""
    shanghai_now = datetime.now(SHANGHAI)
    last_month = (shanghai_now.replace(day=1) - timedelta(days=1)).replace(day=1)
    seeded = _seed_month(store, last_month.year, last_month.month)
    database = str(tmp_path / "temporal.db")
    task_queue = f"reports-{uuid4().hex[:8]}"
    env = await _dev_server(database)
    try:
        ids = await ensure_report_schedules(env.client, test_settings, task_queue)
        assert ids == [report_schedule_id(k) for k in ("monthly", "quarterly", "yearly")]
        days = {}
        for kind in ("monthly", "quarterly", "yearly"):
            described = await env.client.get_schedule_handle(report_schedule_id(kind)).describe()
            schedule = described.schedule
            (calendar,) = schedule.spec.calendars
            days[kind] = (list(calendar.month), list(calendar.day_of_month), list(calendar.hour))
            assert schedule.spec.time_zone_name == "Asia/Shanghai"
            assert schedule.policy.overlap is ScheduleOverlapPolicy.BUFFER_ALL
            assert schedule.policy.catchup_window == timedelta(days=366)
            assert getattr(schedule.action, "workflow", None) == "ReportRun"
        nine = [ScheduleRange(9)]
        # Due by the 20th, the 15th of the quarter's next month, 31 January: 5 days ahead.
        assert days["monthly"] == ([ScheduleRange(1, 12)], [ScheduleRange(15)], nine)
        assert days["quarterly"] == ([ScheduleRange(1, 10, 3)], [ScheduleRange(10)], nine)
        assert days["yearly"] == ([ScheduleRange(1)], [ScheduleRange(26)], nine)
        # An operator pauses one; ensuring again (another worker starting) keeps the pause.
        yearly = env.client.get_schedule_handle(report_schedule_id("yearly"))
        await yearly.pause(note="operator pause")
        await ensure_report_schedules(env.client, test_settings, task_queue, lead_days=0)
        assert (await yearly.describe()).schedule.state.paused
        (monthly_now,) = (
            await env.client.get_schedule_handle(report_schedule_id("monthly")).describe()
        ).schedule.spec.calendars
        assert list(monthly_now.day_of_month) == [ScheduleRange(20)]

        # The monthly run is moved to a few seconds from now; Temporal goes down before then.
        fire_at = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
        await _fire_monthly_at(env.client, fire_at)
    finally:
        await env.shutdown()
    await asyncio.sleep(max(0.0, (fire_at - datetime.now(UTC)).total_seconds()) + 1.5)

    restarted_at = datetime.now(UTC)
    env = await _dev_server(database)
    try:
        stream = report_key("monthly", seeded.path[0].code, seeded.period)
        assert not store.read_stream(stream)
        parts = build_worker(env.client, test_settings, store, task_queue)
        async with parts.worker:
            for _ in range(600):
                if store.read_stream(stream):
                    break
                await asyncio.sleep(0.05)
            (stored,) = store.read_stream(stream)
            described = await env.client.get_schedule_handle(
                report_schedule_id("monthly")
            ).describe()
        parts.executor.shutdown(wait=False)
    finally:
        await env.shutdown()
    content = stored.data["content"]
    assert content["period"] == seeded.period
    assert (content["found"], content["rectified"], content["due"]) == (1, 1, 1)
    assert content["rectified_on_time"] == 1
    # Started by the restarted server (caught up), not by the first one before it went down.
    (action,) = described.info.recent_actions
    assert action.scheduled_at == fire_at and action.started_at >= restarted_at
    assert described.info.num_actions == 1
    assert described.info.num_actions_missed_catchup_window == 0
    assert len(store.read_stream(stream)) == 1


async def _dev_server(database: str) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        dev_server_database_filename=database,
        dev_server_log_level="error",
    )


async def _fire_monthly_at(client: Client, fire_at: datetime) -> None:
    def at_that_second(existing: ScheduleUpdateInput) -> ScheduleUpdate:
        moment = ScheduleCalendarSpec(
            second=[ScheduleRange(fire_at.second)],
            minute=[ScheduleRange(fire_at.minute)],
            hour=[ScheduleRange(fire_at.hour)],
            day_of_month=[ScheduleRange(fire_at.day)],
            month=[ScheduleRange(fire_at.month)],
            year=[ScheduleRange(fire_at.year)],
        )
        schedule = existing.description.schedule
        spec = replace(schedule.spec, calendars=[moment], time_zone_name="UTC")
        return ScheduleUpdate(schedule=replace(schedule, spec=spec))

    handle = client.get_schedule_handle(report_schedule_id("monthly"))
    await handle.update(at_that_second)
    # The scheduler takes the update in asynchronously; Temporal must not go down before it
    # has (it would then count from the update's processing, after the missed time).
    for _ in range(100):
        if (await handle.describe()).info.next_action_times[:1] == [fire_at]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the schedule did not take the update to fire at {fire_at}")


def _seed_month(store: EventStore, year: int, month: int) -> Seeded:
    """One case on a grid of its own, found, rectified and verified within the month."""
    s = Seeded(year, _grid(), make_credit_code("91370782" + uuid4().hex[:9]), month)
    enterprise = Enterprise(s.credit_code.upper(), "报表补跑企业", "化工", s.path[0].code)
    s.credit_code = enterprise.credit_code

    def at(day: int) -> datetime:
        return datetime(year, month, day, 9, tzinfo=SHANGHAI)

    command = register(
        hazard_id=f"H-{uuid4().hex[:12]}",
        enterprise=enterprise,
        grid_path=s.path,
        found_at=at(2) - timedelta(hours=1),
    )
    _run_case(
        store,
        [
            (command, at(2)),
            (ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,)), at(5)),
            (VerifyRectification(_supervisor(s), passed=True, comments="合格"), at(6)),
        ],
        at(7),
    )
    return s


def test_a_report_is_due_on_the_policys_day_and_its_run_comes_before_it_on_the_period() -> None:
    reports = DEFAULT.reports
    assert report_due_date("monthly", "2025-12", reports) == date(2026, 1, 20)
    assert report_due_date("quarterly", "2025-Q1", reports) == date(2025, 4, 15)
    assert report_due_date("quarterly", "2025-Q4", reports) == date(2026, 1, 15)
    assert report_due_date("yearly", "2025", reports) == date(2026, 1, 31)
    assert (run_day(15, 5), run_day(20, 0), run_day(3, 5)) == (10, 20, 1)
    # A run on its day reports the period before it, which has ended by then.
    assert period_before("quarterly", datetime(2026, 1, 10, 9, tzinfo=SHANGHAI), SHANGHAI) == (
        "2025-Q4"
    )
    assert period_before("monthly", datetime(2026, 3, 1, 9, tzinfo=SHANGHAI), SHANGHAI) == (
        "2026-02"
    )
    assert period_before("yearly", datetime(2026, 1, 26, 9, tzinfo=SHANGHAI), SHANGHAI) == "2025"


def test_figures_read_while_the_read_models_are_rebuilt_are_not_stored(
    fresh_database_url: str, test_settings: Settings
):
    """A report is kept for ever: one whose figures were read while ``duban projections
    rebuild`` had emptied the tables (partial figures) is refused, retryably, and stored only
    when read again over complete tables."""
    engine = create_app_engine(fresh_database_url, "duban_app")
    store = EventStore(engine)
    try:
        seeded = seed(store)
        village = seeded.path[0]
        rebuilds = []

        class RebuiltMidway(ReportActivities):
            def content_of(self, *args: Any) -> dict[str, Any]:
                if not rebuilds:  # the operator's rebuild empties the tables right now
                    rebuilds.append(reset(engine))
                return super().content_of(*args)

        activities = RebuiltMidway(store, test_settings)
        request = ProduceReportInput("monthly", seeded.period, village.code, str(uuid4()))
        with pytest.raises(ApplicationError) as refused:
            activities.produce_report(request)
        assert refused.value.type == "report.read_models_rebuilding"
        assert not refused.value.non_retryable
        stream = report_key("monthly", village.code, seeded.period)
        assert store.read_stream(stream) == []
        produced = activities.produce_report(request)  # the retry: caught up again, complete
        (stored,) = store.read_stream(stream)
        content = stored.data["content"]
        assert {k: content[k] for k in EXPECTED} == EXPECTED
        assert produced.content_sha256 == stored.data["content_sha256"]
    finally:
        store.close()
        engine.dispose()


def test_no_report_is_read_while_a_rebuild_runs_and_a_rebuild_waits_for_a_report(
    fresh_database_url: str, test_settings: Settings
):
    """``duban projections rebuild`` holds the rebuild lock from emptying the tables to their
    completion: a report asked meanwhile is refused retryably, and stored once it is over."""
    engine = create_app_engine(fresh_database_url, "duban_app")
    store = EventStore(engine)
    try:
        seeded = seed(store)
        village = seeded.path[0]
        activities = ReportActivities(store, test_settings)
        request = ProduceReportInput("monthly", seeded.period, village.code, str(uuid4()))
        stream = report_key("monthly", village.code, seeded.period)
        with rebuilding(engine):  # as rebuild() holds it
            with pytest.raises(ApplicationError) as refused:
                activities.produce_report(request)
            assert refused.value.type == "report.read_models_rebuilding"
            assert not refused.value.non_retryable
            with complete_read_models(engine) as complete:
                assert complete is False
        assert store.read_stream(stream) == []
        activities.produce_report(request)
        assert len(store.read_stream(stream)) == 1
        with complete_read_models(engine) as complete:  # a reader holds it shared...
            assert complete is True
            with complete_read_models(engine) as also:  # ...with other readers
                assert also is True
            # A rebuild started meanwhile waits for the reader to finish before emptying.
            done = threading.Event()
            worker = threading.Thread(target=lambda: (rebuild(engine), done.set()))
            worker.start()
            assert not done.wait(1.5), "the rebuild emptied the tables under a reader"
            assert len(store.read_stream(stream)) == 1
        worker.join(60)
        assert done.is_set(), "the rebuild took the lock once the reader was done"
        with complete_read_models(engine) as complete:
            assert complete is True, "and released it"
    finally:
        store.close()
        engine.dispose()


def test_a_report_stored_before_the_figures_had_definitions_keeps_its_figures(
    store: EventStore, test_settings: Settings
) -> None:
    """A report is a record: one stored by the release that counted deadlines as ``due`` is
    answered and written out again exactly as it was, its CSV in its own order."""
    unit, period = f"OLD{uuid4().hex[:8].upper()}", "2024-01"
    figures = {name: 0 for name in FIGURES_BEFORE_DEFINITIONS}
    figures |= {"due": 7, "rectified_on_time": 2, "on_time_rectification_rate": 0.2857}
    old = {
        "title": "月度安全风险分析报告",
        "kind": "monthly",
        "period": period,
        "unit": {"code": unit, "name": "旧报表", "level": "county"},
        **figures,
        **{group: {} for group in ("escalations_by_level", "listed_by_level")},
        **{group: {} for group in ("delisted_by_level", "blacklist_changes")},
    }
    digest = hashlib.sha256(content_bytes(old)).hexdigest()
    stored = {"kind": "monthly", "period": period, "unit_code": unit, "content": old,
              "content_sha256": digest, "read_models_position": 0}  # fmt: skip
    event = NewEvent(
        uuid4(), "ReportProduced", stored, EventMetadata("test", "system"), datetime.now(UTC)
    )
    store.append(report_key("monthly", unit, period), 0, [event])
    result = ReportActivities(store, test_settings).produce_report(
        ProduceReportInput("monthly", period, unit, str(uuid4()))
    )
    assert result.already_stored and result.figures == old
    assert result.content_sha256 == digest
    rows = list(csv.DictReader(Path(result.csv_path).read_text(encoding="utf-8").splitlines()))
    assert [row["metric"] for row in rows] == list(FIGURES_BEFORE_DEFINITIONS)
    assert {row["metric"]: row["value"] for row in rows}["on_time_rectification_rate"] == "0.2857"
