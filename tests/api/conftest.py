"""API tests: the real FastAPI app over HTTP (ASGI), the real worker on the time-skipping
Temporal server, the real PostgreSQL; a small grid with two townships and tokens per role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import api.idempotency as idempotency_module
from activities.blobs import EvidenceLimits, open_blob_store
from activities.database import create_app_engine
from activities.eventstore import EventStore
from activities.projections import Projector
from activities.reference_data import ReferenceData
from activities.rules import RulesActivities
from activities.settings import Settings
from api.app import create_app
from api.auth import create_token
from api.services import Services
from domain.calendar import WorkingCalendar, parse_calendar_toml
from domain.credit_code import make_credit_code
from domain.grid import Enterprise, GridLevel, GridUnit
from domain.policy import Policy
from tests.api.loop_guard import loop_guard
from tests.conftest import APP_ROLE
from tests.workflows.conftest import test_settings, time_skipping_env
from worker import build_worker

__all__ = ["test_settings", "time_skipping_env"]  # fixtures shared with the workflow tests


@dataclass
class Grid:
    """One county with two townships (A, B), a village each, an enterprise in each village."""

    suffix: str
    province: str = ""
    city: str = ""
    county: str = ""
    township_a: str = ""
    township_b: str = ""
    village_a: str = ""
    village_b: str = ""
    enterprise_a: str = ""
    enterprise_b: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    @property
    def unit_codes(self) -> list[str]:
        units = (self.province, self.city, self.county, self.township_a, self.township_b)
        return sorted((*units, self.village_a, self.village_b))


def build_grid(reference: ReferenceData, engine) -> Grid:  # type: ignore[no-untyped-def]
    s = uuid.uuid4().hex[:6].upper()
    grid = Grid(s)
    province, city = f"P{s}", f"P{s}-C1"
    grid.province, grid.city = province, city
    grid.county, grid.township_a, grid.township_b = f"{city}-X1", f"{city}-X1-TA", f"{city}-X1-TB"
    grid.village_a, grid.village_b = f"{grid.township_a}-V1", f"{grid.township_b}-V1"
    units = [
        GridUnit(province, "山东省", GridLevel.PROVINCE, None, "王厅长"),
        GridUnit(city, "潍坊市", GridLevel.CITY, province, "李局长"),
        GridUnit(grid.county, "诸城市", GridLevel.COUNTY, city, "赵局长"),
        GridUnit(grid.township_a, "密州街道", GridLevel.TOWNSHIP, grid.county, "孙站长"),
        GridUnit(grid.township_b, "龙都街道", GridLevel.TOWNSHIP, grid.county, "钱站长"),
        GridUnit(grid.village_a, "东关社区", GridLevel.VILLAGE, grid.township_a, "周网格员"),
        GridUnit(grid.village_b, "西关社区", GridLevel.VILLAGE, grid.township_b, "吴网格员"),
    ]
    for unit in units:
        reference.add_grid_unit(unit, "admin-setup")
    grid.enterprise_a = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    grid.enterprise_b = make_credit_code("91370782" + uuid.uuid4().hex[:9].upper())
    reference.add_enterprise(
        Enterprise(grid.enterprise_a, "诸城某机械有限公司", "机械", grid.village_a), "admin-setup"
    )
    reference.add_enterprise(
        Enterprise(grid.enterprise_b, "诸城某化工有限公司", "化工", grid.village_b), "admin-setup"
    )
    for name, role, scope in [
        ("inspector_a", "inspector", grid.township_a),
        ("inspector_b", "inspector", grid.township_b),
        ("supervisor_a", "supervisor", grid.township_a),
        ("supervisor_b", "supervisor", grid.township_b),
        ("supervisor_county", "supervisor", grid.county),
        ("enterprise_a", "enterprise", grid.enterprise_a),
        ("enterprise_b", "enterprise", grid.enterprise_b),
        ("auditor", "auditor", None),
        ("admin", "admin", None),
    ]:
        grid.tokens[name] = create_token(engine, reference, role, scope, f"{name}-{s}")[1]
    return grid


@dataclass
class ApiHarness:
    client: httpx.AsyncClient
    services: Services
    grid: Grid
    env: WorkflowEnvironment
    app: FastAPI
    settings: Settings

    @property
    def store(self) -> EventStore:
        return self.services.store

    def project(self) -> None:
        """Bring the read models up to the store, as the projector process would."""
        Projector(self.store).catch_up()

    def stream_types(self, stream_id: str) -> list[str]:
        return [e.event_type for e in self.store.read_stream(stream_id)]


def build_services(
    client: Client, settings: Settings, store: EventStore, task_queue: str
) -> Services:
    snapshot = RulesActivities(settings).snapshot()
    return Services(
        engine=store.engine,
        store=store,
        reference=ReferenceData(store.engine, store),
        temporal=client,
        task_queue=task_queue,
        policy=Policy.from_data(snapshot.policy),
        calendar=WorkingCalendar(parse_calendar_toml(snapshot.calendar_text or "")),
        blobs=open_blob_store(settings),
        evidence_limits=EvidenceLimits.from_settings(settings),
    )


@asynccontextmanager
async def running_api(
    env: WorkflowEnvironment, settings: Settings, store: EventStore
) -> AsyncIterator[ApiHarness]:
    """The app over ASGI with a worker of its own task queue on ``env``, a fresh grid. Served
    through the event-loop guard: a request that reads the database on the loop's thread
    fails the test (``tests/api/loop_guard.py``)."""
    queue = f"api-{uuid.uuid4().hex[:8]}"
    parts = build_worker(env.client, settings, store, queue)
    services = build_services(env.client, settings, store, queue)
    grid = build_grid(services.reference, store.engine)
    app = create_app(services=services)
    try:
        with loop_guard(store.engine) as guard:
            async with (
                parts.worker,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=guard.wrap(app)),
                    base_url="http://duban.test",
                ) as client,
            ):
                yield ApiHarness(client, services, grid, env, app, settings)
    finally:
        parts.executor.shutdown(wait=False)


@pytest.fixture()
async def api(
    time_skipping_env: WorkflowEnvironment, test_settings: Settings, store: EventStore
) -> AsyncIterator[ApiHarness]:
    async with running_api(time_skipping_env, test_settings, store) as harness:
        yield harness


@pytest.fixture()
def own_store(fresh_database_url: str) -> Iterator[EventStore]:
    """A database of the test's own: lists and registers can be asserted to the row."""
    engine = create_app_engine(fresh_database_url, APP_ROLE, pool_size=10)
    store = EventStore(engine)
    yield store
    store.close()
    engine.dispose()


@pytest.fixture()
async def isolated_api(
    time_skipping_env: WorkflowEnvironment, test_settings: Settings, own_store: EventStore
) -> AsyncIterator[ApiHarness]:
    """The API over a database that holds only what this test puts in it."""
    async with running_api(time_skipping_env, test_settings, own_store) as harness:
        yield harness


class AnswerLost(Exception):
    """The API went away after the workflow answered and before the answer was kept."""


@pytest.fixture()
def lose_next_answer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Arm it, and the next answer is lost between the workflow and ``api_idempotency``."""
    armed = {"on": False}
    settle = idempotency_module.settle

    def losing_settle(*args: Any) -> None:
        if armed["on"] and args[-1] is not None:
            armed["on"] = False
            raise AnswerLost
        settle(*args)

    monkeypatch.setattr(idempotency_module, "settle", losing_settle)
    yield lambda: armed.update(on=True)
