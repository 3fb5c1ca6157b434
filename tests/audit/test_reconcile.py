"""Reconcile finds no difference between the store and live cases, and reports an injected one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.audit.reconcile import reconcile
from activities.database import create_app_engine
from activities.eventstore import EventMetadata, EventStore, NewEvent
from activities.settings import Settings
from domain.case import event_to_data
from domain.case.events import RectificationReported
from tests.conftest import APP_ROLE
from tests.domain.domain_builders import PHOTO
from tests.workflows.case_helpers import report, start_case
from tests.workflows.conftest import TEST_CALENDAR, RunningWorker
from worker import build_worker
from workflows.case import SupervisedCaseWorkflow


async def test_reconcile_finds_nothing_on_a_healthy_store_and_reports_an_injected_event(
    time_skipping_env: WorkflowEnvironment, fresh_database_url: str, tmp_path: Path
):
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    store = EventStore(engine)
    settings = Settings(
        database_url=fresh_database_url, data_dir=tmp_path, calendar_file=TEST_CALENDAR
    )
    queue = f"reconcile-{uuid.uuid4().hex[:6]}"
    parts = build_worker(time_skipping_env.client, settings, store, queue)
    async with parts.worker:
        worker = RunningWorker(time_skipping_env, time_skipping_env.client, queue, store, engine)
        first, _ = await start_case(worker, "H-rec-1")
        await start_case(worker, "H-rec-2")
        await first.execute_update(SupervisedCaseWorkflow.report_rectification, report())

        compared, found = await reconcile(store, time_skipping_env.client)
        assert (compared, found) == (2, [])

        # Someone writes a report into the record without going through the case.
        forged = RectificationReported(
            summary="forged",
            evidence=(PHOTO,),
            reported_by="x",
            review_by=datetime(2030, 1, 1, tzinfo=UTC),
            at=datetime.now(UTC),
        )
        store.append(
            "case-H-rec-2",
            2,
            [
                NewEvent(
                    uuid.uuid4(),
                    forged.EVENT_TYPE,
                    event_to_data(forged),
                    EventMetadata("intruder", "admin"),
                    datetime.now(UTC),
                )
            ],
        )
        compared, found = await reconcile(store, time_skipping_env.client)
        assert compared == 2
        paths = {(d.hazard_id, d.path) for d in found}
        assert ("H-rec-2", "version") in paths
        assert ("H-rec-2", "state.status") in paths
        assert all(d.hazard_id == "H-rec-2" for d in found)
        await worker.terminate_started()
    parts.executor.shutdown(wait=False)
    store.close()
    engine.dispose()


async def test_a_case_that_moves_between_the_store_read_and_the_query_is_not_reported(
    time_skipping_env: WorkflowEnvironment, fresh_database_url: str, tmp_path: Path
):
    engine = create_app_engine(fresh_database_url, APP_ROLE)
    store = EventStore(engine)
    settings = Settings(
        database_url=fresh_database_url, data_dir=tmp_path, calendar_file=TEST_CALENDAR
    )
    queue = f"reconcile-{uuid.uuid4().hex[:6]}"
    parts = build_worker(time_skipping_env.client, settings, store, queue)
    async with parts.worker:
        worker = RunningWorker(time_skipping_env, time_skipping_env.client, queue, store, engine)
        moving, _ = await start_case(worker, "H-rec-moving")
        moved: list[str] = []

        async def live_system(hazard_id: str) -> None:
            # The enterprise reports just after reconcile read the store: the workflow is one
            # event ahead of what was read when it is queried.
            if hazard_id == "H-rec-moving" and not moved:
                await moving.execute_update(SupervisedCaseWorkflow.report_rectification, report())
                moved.append(hazard_id)

        compared, found = await reconcile(
            store, time_skipping_env.client, after_store_read=live_system
        )
        assert moved == ["H-rec-moving"]
        assert (compared, found) == (1, []), "a race is not a difference"
        await worker.terminate_started()
    parts.executor.shutdown(wait=False)
    store.close()
    engine.dispose()
