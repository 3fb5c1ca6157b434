"""Read-model benchmark: prints figures on one database in one run (not a test).

    .venv/bin/python -m bench.projections [--events N] [--lag-seconds S] [--lag-rate R]

1. Generates a store of at least N events (default 1,000,000): case streams cloned from
   histories the domain decided (on-time closure, missed deadline and escalation, a listed
   major hazard, 立改立销, withdrawal) over twelve months, spread over 200 villages and 20,000
   enterprises, plus their credit streams; appended through ``EventStore.append``.
2. Catch-up: one projector from position 0 to the head (target >= 10,000 events/s).
3. Lag: a steady load at a fixed rate of appends while the projector follows: half of them
   register a new case (registration and notice: new rows), half take the next step of a case
   registered earlier in the load (a report, a verification, a timer, an escalation: updates
   of rows already there, and of their statistics). The append-to-visible lag is the time
   from an append's return to the commit of the batch that contains it (p50 / p99 / max).
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from activities.database import create_app_engine
from activities.eventstore import EventMetadata, EventStore, NewEvent
from activities.logging import configure_logging
from activities.projections import Projector
from activities.projections.read_models.figures.queries import unit_statistics, units_with_figures
from activities.rules import DEFAULT_POLICY, shipped_policy
from bench.common import APP_ROLE, bench_database, report
from domain.calendar import WorkingCalendar
from domain.case import CaseState, decide, event_to_data, evolve, pending_timers
from domain.case.commands import (
    Actor,
    CaseCommand,
    FireTimer,
    RegisterHazard,
    ReportRectification,
    Role,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.events import (
    Evidence,
    GovernancePlan,
    HazardCategory,
    HazardClass,
    HazardSource,
    RectificationMode,
)
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.periods import Period

POLICY = shipped_policy(DEFAULT_POLICY)
CALENDAR = WorkingCalendar()
SHANGHAI = ZoneInfo("Asia/Shanghai")
METADATA = EventMetadata("bench", "system", correlation_id="bench")
INSPECTOR = Actor("insp", Role.INSPECTOR)
# The templates are decided on the first village path; its county bureau supervises them.
SUPERVISOR = Actor("sup", Role.SUPERVISOR, unit_code="P37-C0-X0")
COMPANY = Actor("ent", Role.ENTERPRISE)
SYSTEM = Actor("system", Role.SYSTEM)
PHOTO = Evidence("s3://evidence/p.jpg", "ab" * 32)
PLAN = GovernancePlan("目标", "措施", "资金", "机构", "时限", "应急预案")
TEMPLATE_ID = "H-TEMPLATE"

Template = list[tuple[str, dict[str, Any], datetime]]


def grid() -> list[tuple[GridUnit, ...]]:
    """200 village paths: 1 province, 2 cities, 4 counties each, 5 townships, 5 villages."""
    province = GridUnit("P37", "山东省", GridLevel.PROVINCE, None, "厅长")
    paths: list[tuple[GridUnit, ...]] = []
    for c in range(2):
        city = GridUnit(f"P37-C{c}", f"市{c}", GridLevel.CITY, province.code, "局长")
        for x in range(4):
            county = GridUnit(f"{city.code}-X{x}", f"县{x}", GridLevel.COUNTY, city.code, "局长")
            for t in range(5):
                town = GridUnit(
                    f"{county.code}-T{t}", f"镇{t}", GridLevel.TOWNSHIP, county.code, "站长"
                )
                for v in range(5):
                    village = GridUnit(
                        f"{town.code}-V{v}", f"村{v}", GridLevel.VILLAGE, town.code, "网格员"
                    )
                    paths.append((village, town, county, city, province))
    return paths


def _template(start: datetime, flow: str, path: tuple[GridUnit, ...]) -> Template:
    enterprise = Enterprise(make_credit_code("91370782MA0000001"), "企业", "机械", path[0].code)
    major = flow == "major"
    register = RegisterHazard(
        actor=INSPECTOR if not major else SUPERVISOR,
        hazard_id=TEMPLATE_ID,
        enterprise=enterprise,
        grid_path=path,
        hazard_class=HazardClass.MAJOR if major else HazardClass.GENERAL,
        category=HazardCategory.THING,
        source=HazardSource.GRID_PATROL,
        description="配电箱门未关闭, 线路裸露",
        location="一号车间",
        found_by="insp",
        found_at=start - timedelta(hours=1),
        mode=RectificationMode.IMMEDIATE
        if flow == "immediate"
        else RectificationMode.LISTED
        if major
        else RectificationMode.DEADLINE,
        evidence=(PHOTO,),
        checklist_clause="第十四条(一)" if major else None,
        measures="整改",
        responsible_person="主任",
    )
    state: CaseState | None = None
    out: Template = []

    def do(command: CaseCommand, now: datetime) -> None:
        nonlocal state
        for event in decide(state, command, now, POLICY, CALENDAR):
            out.append((event.EVENT_TYPE, event_to_data(event), event.at))
            state = evolve(state, event)

    def timers_until(until: datetime) -> None:
        while True:
            due = [t for t in pending_timers(state, POLICY) if t.due_at <= until]
            if not due:
                return
            do(FireTimer(SYSTEM, due[0].key), due[0].due_at)

    do(register, start)
    if flow == "on_time":
        do(ReportRectification(COMPANY, "已整改", (PHOTO,)), start + timedelta(days=5))
        do(VerifyRectification(SUPERVISOR, True, "合格"), start + timedelta(days=7))
    elif flow == "missed":
        timers_until(start + timedelta(days=18))
        do(ReportRectification(COMPANY, "已整改", (PHOTO,)), start + timedelta(days=19))
        do(VerifyRectification(SUPERVISOR, True, "合格"), start + timedelta(days=21))
    elif flow == "major":
        do(SubmitGovernancePlan(COMPANY, PLAN), start + timedelta(days=3))
        timers_until(start + timedelta(days=60))
        do(ReportRectification(COMPANY, "已整改", (PHOTO,)), start + timedelta(days=61))
        do(VerifyRectification(SUPERVISOR, True, "合格"), start + timedelta(days=63))
    elif flow == "withdrawn":
        do(WithdrawCase(SUPERVISOR, "重复登记"), start + timedelta(days=1))
    return out


FLOWS = ("on_time", "on_time", "on_time", "missed", "major", "immediate", "withdrawn")


def templates(paths: list[tuple[GridUnit, ...]]) -> list[Template]:
    result = []
    for month in range(1, 13):
        start = datetime(2025, month, 3, 9, 0, tzinfo=SHANGHAI)
        for flow in FLOWS:
            result.append(_template(start, flow, paths[0]))
    return result


def _path_data(path: tuple[GridUnit, ...]) -> list[dict[str, Any]]:
    return [
        {
            "code": u.code,
            "name": u.name,
            "level": u.level.value,
            "parent_code": u.parent_code,
            "responsible_person": u.responsible_person,
        }
        for u in path
    ]


class Generator:
    def __init__(self, store: EventStore, seed: int = 7) -> None:
        self.store = store
        self.random = random.Random(seed)
        self.paths = grid()
        self.path_data = [_path_data(p) for p in self.paths]
        self.templates = templates(self.paths)
        self.enterprises = [
            (make_credit_code(f"91370782MA{n:07d}"), f"企业{n}", n % len(self.paths))
            for n in range(20_000)
        ]
        self.cases = 0

    def case_events(self) -> tuple[str, list[NewEvent]]:
        """One case's whole stream, cloned from a template for a random enterprise."""
        self.cases += 1
        hazard_id = f"H-{self.cases:08d}"
        code, name, village = self.random.choice(self.enterprises)
        template = self.random.choice(self.templates)
        events = []
        for event_type, data, at in template:
            if event_type == "HazardRegistered":
                data = {
                    **data,
                    "hazard_id": hazard_id,
                    "credit_code": code,
                    "enterprise_name": name,
                    "grid_path": self.path_data[village],
                }
            elif event_type == "CreditTriggerRaised":
                data = {**data, "credit_code": code}
            events.append(NewEvent(uuid.uuid4(), event_type, data, METADATA, at))
        return f"case-{hazard_id}", events

    def credit_events(self, index: int) -> tuple[str, list[NewEvent]]:
        code, name, _ = self.enterprises[index]
        at = datetime(2025, 6, 1, tzinfo=SHANGHAI)
        entries: list[tuple[str, dict[str, Any]]] = [
            ("CreditRecordOpened", {"credit_code": code, "enterprise_name": name}),
            (
                "CreditEventRecorded",
                {"case_id": "H-X", "kind": "escalation", "occurred_at": at.isoformat()},
            ),
            ("RatingChanged", {"old": None, "new": "B", "points": 80}),
        ]
        return f"credit-{code}", [
            NewEvent(uuid.uuid4(), t, {**d, "at": at.isoformat()}, METADATA, at) for t, d in entries
        ]

    def fill(self, target: int, on_progress: Callable[[int], None]) -> int:
        written = 0
        credit_next = 0
        while written < target:
            stream, events = self.case_events()
            self.store.append(stream, 0, events)
            written += len(events)
            if self.cases % 40 == 0 and credit_next < len(self.enterprises):
                stream, events = self.credit_events(credit_next)
                credit_next += 1
                self.store.append(stream, 0, events)
                written += len(events)
            if self.cases % 5000 == 0:
                on_progress(written)
        return written


class SteadyLoad:
    """The lag load's appends: new cases and next steps of the cases it has started."""

    def __init__(self, generator: Generator, seed: int = 11) -> None:
        self.generator = generator
        self.random = random.Random(seed)
        # stream -> (its whole history, how many of its events are appended)
        self.running: dict[str, tuple[list[NewEvent], int]] = {}
        self.new_cases = 0
        self.steps = 0

    def next_append(self) -> tuple[str, int, list[NewEvent]]:
        """(stream, expected version, events) of the next append."""
        if self.running and self.random.random() < 0.5:
            stream = self.random.choice(list(self.running))
            events, done = self.running[stream]
            size = self.random.choice((1, 2))
            chunk = events[done : done + size]
            if done + len(chunk) >= len(events):
                del self.running[stream]
            else:
                self.running[stream] = (events, done + len(chunk))
            self.steps += 1
            return stream, done, chunk
        stream, events = self.generator.case_events()
        first = events[:2]  # HazardRegistered and its notice (or 立改立销's CaseClosed)
        if len(events) > len(first):
            self.running[stream] = (events, len(first))
        self.new_cases += 1
        return stream, 0, first


def measure_lag(
    store: EventStore, generator: Generator, seconds: float, rate: float
) -> tuple[list[float], SteadyLoad]:
    committed: list[tuple[int, float]] = []
    lock = threading.Lock()

    def on_commit(position: int) -> None:
        with lock:
            committed.append((position, time.perf_counter()))

    projector = Projector(store, on_commit=on_commit)
    projector.catch_up()
    stop = threading.Event()
    follower = threading.Thread(target=projector.run, args=(stop,), kwargs={"idle_wait": 0.5})
    follower.start()
    load = SteadyLoad(generator)
    appended: list[tuple[int, float]] = []
    interval = 1.0 / rate
    next_at = time.perf_counter()
    end = next_at + seconds
    while next_at < end:
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        stream, version, events = load.next_append()
        result = store.append(stream, version, events)
        appended.append((result.positions[-1], time.perf_counter()))
        next_at += interval
    time.sleep(1.0)
    stop.set()
    follower.join()
    lags = []
    for position, appended_at in appended:
        visible_at = next(t for p, t in committed if p >= position)
        lags.append((visible_at - appended_at) * 1000)
    return lags, load


def measure_report_reads(engine: Engine, generator: Generator) -> None:
    """What a report costs now that it reads the read tables: one unit's figures for a month
    (the province: every case; a village: its own), and the plan of a month's reports."""
    june = Period.month(2025, 6)
    now = datetime(2026, 1, 1, tzinfo=SHANGHAI)
    province, village = generator.paths[0][-1].code, generator.paths[0][0].code
    for name, unit in (("province (whole store)", province), ("village", village)):
        started = time.perf_counter()
        figures = unit_statistics(engine, unit, june, now=now)
        elapsed = (time.perf_counter() - started) * 1000
        report(f"report figures: {name}, June", elapsed, "ms")
        print(f"#   found {figures.found:,}, due {figures.due:,}, overdue {figures.overdue:,}")
    started = time.perf_counter()
    units = units_with_figures(engine, june)
    report("report plan: units with June figures", (time.perf_counter() - started) * 1000, "ms")
    print(f"#   {len(units):,} units")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate")
    parser.add_argument("--lag-seconds", type=float, default=20.0)
    parser.add_argument("--lag-rate", type=float, default=50.0, help="appends per second")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with bench_database() as url:
        engine = create_app_engine(url, APP_ROLE, pool_size=8)
        store = EventStore(engine)
        generator = Generator(store)
        started = time.perf_counter()

        def progress(written: int) -> None:
            elapsed = time.perf_counter() - started
            print(f"#   generated {written:,} events in {elapsed:.0f} s", flush=True)

        written = generator.fill(args.events, progress)
        generation = time.perf_counter() - started
        report("generation: events appended", written, "events")
        report("generation: time", generation, "s")
        report("generation: rate", written / generation, "events/s")

        projector = Projector(store)
        started = time.perf_counter()
        applied = projector.catch_up()
        elapsed = time.perf_counter() - started
        report("catch-up: events applied", applied, "events")
        report("catch-up: time", elapsed, "s")
        report("catch-up: rate", applied / elapsed, "events/s", ">= 10,000")
        with engine.connect() as conn:
            for table in ("case_view", "enterprise_view", "case_statistics", "blacklist_register"):
                count = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                print(f"#   {table}: {count:,} rows")
        measure_report_reads(engine, generator)

        lags, load = measure_lag(store, generator, args.lag_seconds, args.lag_rate)
        lags.sort()
        report(f"lag: appends at {args.lag_rate:.0f}/s", len(lags), "appends")
        report("lag: of which new cases (2 events)", load.new_cases, "appends")
        report("lag: of which steps of earlier cases (1-2 events)", load.steps, "appends")
        report("lag: append-to-visible p50", statistics.median(lags), "ms")
        report("lag: append-to-visible p99", lags[int(len(lags) * 0.99) - 1], "ms")
        report("lag: append-to-visible max", lags[-1], "ms")
        store.close()
        engine.dispose()


if __name__ == "__main__":
    main()
