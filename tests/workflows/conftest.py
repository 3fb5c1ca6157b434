"""Workflow tests run on the real Temporal time-skipping test server (weeks pass in
milliseconds) with the real activities over the real PostgreSQL of the test run."""

from __future__ import annotations

import contextlib
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from activities.settings import Settings
from activities.temporal_setup import register_search_attributes
from tests.fixtures.calendar_data import write_test_calendar
from worker import build_worker
from workflows import search_attributes

BIN = Path(sys.executable).parent
# TEST DATA for the years chinese-calendar does not know, through three years from today.
TEST_CALENDAR = write_test_calendar()


@pytest.fixture()
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    # One test server per test: its clock is global, so a test that skips months must not
    # move the clock under another test's workflows (it starts in well under a second).
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    await register_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def test_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("duban-data"),
        calendar_file=TEST_CALENDAR,
        log_level="WARNING",
    )


@dataclass
class RunningWorker:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    store: EventStore
    engine: Engine
    started: list[str] = field(default_factory=list)

    async def terminate_started(self) -> None:
        """Workflows left running after their worker stops would hold the shared test
        server's clock still (it waits for their tasks); end them with the test."""
        for workflow_id in self.started:
            with contextlib.suppress(RPCError):  # already closed
                await self.client.get_workflow_handle(workflow_id).terminate("test finished")


@pytest.fixture()
async def case_worker(
    time_skipping_env: WorkflowEnvironment, test_settings: Settings, store: EventStore
) -> AsyncIterator[RunningWorker]:
    task_queue = f"cases-{uuid.uuid4().hex[:8]}"
    parts = build_worker(time_skipping_env.client, test_settings, store, task_queue)
    running = RunningWorker(
        time_skipping_env, time_skipping_env.client, task_queue, store, store.engine
    )
    async with parts.worker:
        yield running
        await running.terminate_started()
    parts.executor.shutdown(wait=False)


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal server (the CLI's dev server) for what the time-skipping test server
    gets wrong: its continue-as-new is not atomic, so a signal arriving during the hand-over
    can be lost there (temporalio/sdk-java#1537) — never on a real server."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture()
def short_window_settings(test_settings: Settings, tmp_path: Path) -> Settings:
    """The drill policy (durations in seconds) with a 20-second objection window, so a credit
    proceeding's durable timer fires within a test on the real server's real clock."""
    drill = Path(__file__).resolve().parents[2] / "domain" / "policies" / "drill.toml"
    text = drill.read_text(encoding="utf-8")
    policy = tmp_path / "short-window.toml"
    policy.write_text(
        re.sub(r'(?m)^objection_window = "[^"]*"', 'objection_window = "PT20S"', text),
        encoding="utf-8",
    )
    return test_settings.model_copy(update={"policy_file": policy})


@pytest.fixture()
async def dev_worker(
    dev_server_env: WorkflowEnvironment, short_window_settings: Settings, store: EventStore
) -> AsyncIterator[RunningWorker]:
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    parts = build_worker(dev_server_env.client, short_window_settings, store, task_queue)
    running = RunningWorker(dev_server_env, dev_server_env.client, task_queue, store, store.engine)
    async with parts.worker:
        yield running
        await running.terminate_started()
    parts.executor.shutdown(wait=False)


@pytest.fixture()
def unique_hazard_id() -> Iterator[str]:
    yield f"H-{uuid.uuid4().hex[:12]}"
