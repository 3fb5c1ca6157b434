"""A realistic history for the read-model tests: cases and credit records decided by the
domain and appended through the EventStore, in the order a running system would record them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from activities.eventstore import EventMetadata, EventStore, NewEvent
from domain.case import (
    CaseState,
    catch_up,
    decide,
    event_from_data,
    event_to_data,
    evolve,
    pending_timers,
)
from domain.case.commands import (
    CaseCommand,
    FireTimer,
    RecordRefusal,
    ReportRectification,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.events import CaseEvent, RectificationMode
from domain.credit import (
    CreditState,
    credit_event_to_data,
    decide_credit,
    evolve_credit,
    pending_credit_timers,
)
from domain.credit.commands import (
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FireCreditTimer,
    OpenProceeding,
    RecordCreditEvent,
    RevokeEarlyRemoval,
)
from domain.credit.events import CreditEvent
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.policy import CreditEventKind, Policy
from tests.domain.domain_builders import (
    CALENDAR,
    COUNTY,
    DEFAULT,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    NOW,
    PATH,
    PHOTO,
    PLAN,
    SUPERVISOR,
    SYSTEM,
    TOWNSHIP,
    VILLAGE,
    register,
    register_major,
)

TOWNSHIP_2 = GridUnit("P37-C07-X82-T04", "龙都街道", GridLevel.TOWNSHIP, COUNTY.code, "站长 钱")
VILLAGE_2 = GridUnit(
    "P37-C07-X82-T04-V02", "西环社区", GridLevel.VILLAGE, TOWNSHIP_2.code, "网格员 吴"
)
PATH_2 = (VILLAGE_2, TOWNSHIP_2, *PATH[2:])
ENTERPRISE_2 = Enterprise(
    credit_code=make_credit_code("91370782MA3C54321"),
    name="诸城某化工有限公司",
    industry="化工",
    grid_code=VILLAGE_2.code,
)
METADATA = EventMetadata("scenario", "system", correlation_id="scenario")

__all__ = ["ENTERPRISE", "ENTERPRISE_2", "NOW", "TOWNSHIP", "VILLAGE", "History"]


@dataclass
class History:
    """Drives cases and credit records through the domain and records every event."""

    store: EventStore
    cases: dict[str, CaseState] = field(default_factory=dict)
    credit: dict[str, CreditState] = field(default_factory=dict)
    policy: Policy = DEFAULT

    def case(self, hazard_id: str, command: CaseCommand, now: datetime) -> list[CaseEvent]:
        """Decide ``command`` at ``now`` as the case workflow does: the timers that fell due
        before it and were not fired (a worker down) fire first, late, at ``now``."""
        state = self.cases.get(hazard_id)
        fired: list[CaseEvent] = []
        if not isinstance(command, FireTimer):
            state, fired = catch_up(state, now, self.policy, CALENDAR)
        events = [*fired, *decide(state, command, now, self.policy, CALENDAR)]
        state = self.cases.get(hazard_id)
        self.store.append(
            f"case-{hazard_id}",
            state.version if state else 0,
            [
                NewEvent(uuid.uuid4(), e.EVENT_TYPE, event_to_data(e), METADATA, e.at)
                for e in events
            ],
        )
        for event in events:
            state = evolve(state, event)
        assert state is not None
        self.cases[hazard_id] = state
        return events

    def run_timers(self, hazard_id: str, until: datetime) -> None:
        """Fire every timer of the case that falls due up to ``until``, each at its due time."""
        while True:
            timers = [
                t for t in pending_timers(self.cases[hazard_id], self.policy) if t.due_at <= until
            ]
            if not timers:
                return
            timer = timers[0]
            self.case(hazard_id, FireTimer(SYSTEM, timer.key), timer.due_at)

    def credit_command(self, code: str, command: CreditCommand, now: datetime) -> None:
        state = self.credit.get(code)
        events: list[CreditEvent] = decide_credit(state, command, now, self.policy, CALENDAR)
        self.store.append(
            f"credit-{code}",
            state.version if state else 0,
            [
                NewEvent(uuid.uuid4(), e.EVENT_TYPE, credit_event_to_data(e), METADATA, e.at)
                for e in events
            ],
        )
        for event in events:
            state = evolve_credit(state, event)
        assert state is not None
        self.credit[code] = state

    def fire_credit_timer(self, code: str, kind: str) -> datetime:
        timer = next(
            t for t in pending_credit_timers(self.credit[code], self.policy) if t.kind == kind
        )
        self.credit_command(code, FireCreditTimer(SYSTEM, timer.key), timer.due_at)
        return timer.due_at

    def record_credit(
        self, enterprise: Enterprise, case_id: str, kind: CreditEventKind, at: datetime
    ) -> None:
        self.credit_command(
            enterprise.credit_code,
            RecordCreditEvent(SYSTEM, enterprise.credit_code, enterprise.name, case_id, kind, at),
            at,
        )


def day(n: float) -> datetime:
    return NOW + timedelta(days=n)


def build_history(store: EventStore, *, upto: int | None = None) -> History:
    """The scenario; ``upto`` stops after that many steps."""
    h = History(store)
    for step in scenario_steps(h)[:upto]:
        step()
    return h


def scenario_steps(h: History) -> list[Callable[[], object]]:
    """The scenario's steps in order, each a decision recorded through the store."""
    e1, e2 = ENTERPRISE, ENTERPRISE_2
    steps: list[Callable[[], object]] = [
        # 2025-03-03: six hazards registered.
        lambda: h.case("H-A", register(hazard_id="H-A"), day(0)),
        lambda: h.case("H-B", register(hazard_id="H-B"), day(0)),
        lambda: h.case(
            "H-C", register_major(hazard_id="H-C", enterprise=e2, grid_path=PATH_2), day(0)
        ),
        lambda: h.case(
            "H-D",
            register(
                hazard_id="H-D",
                enterprise=e2,
                grid_path=PATH_2,
                mode=RectificationMode.IMMEDIATE,
            ),
            day(0),
        ),
        lambda: h.case("H-E", register(hazard_id="H-E", enterprise=e2, grid_path=PATH_2), day(0)),
        lambda: h.case("H-F", register(hazard_id="H-F"), day(0)),
        lambda: h.case("H-C", SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), day(1)),
        lambda: h.case("H-E", WithdrawCase(SUPERVISOR, "重复登记"), day(1)),
        # H-A is rectified and verified before its deadline: on time.
        lambda: h.case("H-A", ReportRectification(ENTERPRISE_ACTOR, "已更换", (PHOTO,)), day(2)),
        lambda: h.case("H-A", VerifyRectification(SUPERVISOR, True, "合格"), day(3)),
        # H-B and H-F miss their deadlines and go up to the township.
        lambda: h.run_timers("H-B", day(20)),
        lambda: h.run_timers("H-F", day(20)),
        lambda: h.record_credit(e1, "H-B", CreditEventKind.ESCALATION, day(20)),
        lambda: h.record_credit(e1, "H-F", CreditEventKind.ESCALATION, day(20)),
        # H-F is then rectified: closed, but not on time.
        lambda: h.case("H-F", ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,)), day(21)),
        lambda: h.case("H-F", VerifyRectification(SUPERVISOR, True, "合格"), day(22)),
        # The chemical plant refuses to rectify its major hazard: referral and a proceeding.
        lambda: h.case("H-C", RecordRefusal(SUPERVISOR, "拒不停用打磨工位"), day(23)),
        lambda: h.record_credit(e2, "H-C", CreditEventKind.REFUSAL, day(23)),
        lambda: h.fire_credit_timer(e2.credit_code, "objection_window"),
        lambda: h.credit_command(
            e2.credit_code, DecideListing(SUPERVISOR, True, "拒不整改重大事故隐患"), day(35)
        ),
        # 2025-04-12: a hazard in April (second quarter).
        lambda: h.case(
            "H-G",
            register(
                hazard_id="H-G",
                enterprise=e2,
                grid_path=PATH_2,
                found_at=day(40) - timedelta(hours=1),
            ),
            day(40),
        ),
        # A supervisor lists the machinery works on another ground; it stays three years.
        lambda: h.credit_command(
            e1.credit_code, OpenProceeding(SUPERVISOR, "accident", "较大事故"), day(41)
        ),
        lambda: h.fire_credit_timer(e1.credit_code, "objection_window"),
        lambda: h.credit_command(
            e1.credit_code, DecideListing(SUPERVISOR, True, "发生较大生产安全事故"), day(50)
        ),
        # The chemical plant is removed early after a year, then restored (false statements).
        lambda: h.credit_command(
            e2.credit_code, ApplyEarlyRemoval(ENTERPRISE_ACTOR, "已完成整改"), day(35 + 370)
        ),
        lambda: h.credit_command(
            e2.credit_code, DecideEarlyRemoval(SUPERVISOR, True, "信用修复"), day(35 + 380)
        ),
        lambda: h.credit_command(
            e2.credit_code, RevokeEarlyRemoval(SUPERVISOR, "弄虚作假"), day(35 + 400)
        ),
        lambda: h.fire_credit_timer(e1.credit_code, "expiry"),
    ]
    return steps


def case_events(store: EventStore, hazard_id: str) -> list[CaseEvent]:
    return [
        event_from_data(e.event_type, e.schema_version, e.data)
        for e in store.read_stream(f"case-{hazard_id}")
    ]
