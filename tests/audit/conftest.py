"""Audit tests: the shared case worker, and a worker over a database and data directory of the
test's own (for tests that export every closed case, break the chain or sign checkpoints)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from activities.database import create_app_engine, create_owner_engine
from activities.eventstore import EventStore
from activities.eventstore.checkpoint import Checkpoint, sign_checkpoint, write_checkpoint_file
from activities.logging import configure_logging
from activities.metrics import DubanMetrics
from activities.settings import Settings
from tests.conftest import APP_ROLE
from tests.workflows.conftest import (
    TEST_CALENDAR,
    RunningWorker,
    case_worker,
    test_settings,
    time_skipping_env,
    unique_hazard_id,
)
from worker import build_worker
from workflows.audit import AuditMaintenanceWorkflow
from workflows.contracts import AuditMaintenanceInput, AuditMaintenanceResult

__all__ = ["case_worker", "test_settings", "time_skipping_env", "unique_hazard_id"]


class LoggingSafeCliRunner(CliRunner):
    """A CliRunner for commands that configure logging: they bind it to the runner's captured
    stream, which is closed when the command returns. Point logging back at the real stderr
    afterwards, or the test's worker threads would log into a closed file (and fail)."""

    def invoke(self, *args: Any, **kwargs: Any) -> Result:
        try:
            return super().invoke(*args, **kwargs)
        finally:
            configure_logging("WARNING", "console")


@dataclass
class AuditScene:
    """A worker on its own database, data directory and signing key (the bureau's)."""

    worker: RunningWorker
    settings: Settings
    database_url: str
    owner: Engine
    metrics: DubanMetrics
    key: Ed25519PrivateKey
    key_path: Path

    @property
    def store(self) -> EventStore:
        return self.worker.store

    @property
    def checkpoint_dir(self) -> Path:
        return self.settings.resolved_checkpoint_dir

    @property
    def history_dir(self) -> Path:
        return self.settings.data_dir / "histories"

    def cli_env(self) -> dict[str, str]:
        return {
            "DUBAN_DATABASE_URL": self.database_url,
            "DUBAN_DATA_DIR": str(self.settings.data_dir),
            "DUBAN_CHECKPOINT_KEY_PATH": str(self.key_path),
            "DUBAN_LOG_LEVEL": "WARNING",
        }

    async def run_audit_job(self) -> AuditMaintenanceResult:
        """The hourly job, as the schedule starts it: checkpoint, then history export. Waited
        for in real time: skipping time meanwhile would run the enterprises' long timers."""
        with self.worker.env.auto_time_skipping_disabled():
            result: AuditMaintenanceResult = await self.worker.client.execute_workflow(
                AuditMaintenanceWorkflow.run,
                AuditMaintenanceInput(),
                id=f"audit-{uuid.uuid4().hex[:8]}",
                task_queue=self.worker.task_queue,
            )
        return result

    async def close_case(self, hazard_id: str) -> None:
        """A clean lifecycle: registered, reported, verified, closed (workflow completed)."""
        from tests.workflows.case_helpers import report, start_case, verify
        from workflows.case import SupervisedCaseWorkflow

        handle, _ = await start_case(self.worker, hazard_id)
        await handle.execute_update(SupervisedCaseWorkflow.report_rectification, report())
        await handle.execute_update(SupervisedCaseWorkflow.verify_rectification, verify(True))
        with self.worker.env.auto_time_skipping_disabled():
            await handle.result()

    def sign_head(self) -> Checkpoint:
        head = self.store.head()
        checkpoint = sign_checkpoint(self.key, head.position, head.hash, datetime.now(UTC))
        write_checkpoint_file(checkpoint, self.checkpoint_dir)
        return checkpoint

    def tamper(self, *statements: str) -> None:
        """What a superuser can do: switch the append-only triggers off and rewrite rows."""
        with self.owner.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for statement in statements:
                conn.exec_driver_sql(statement)


def write_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


@pytest.fixture()
def bureau_key_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "secret" / "checkpoint-ed25519.pem"
    write_key(path)
    yield path


@pytest.fixture()
async def audit_scene(
    time_skipping_env: WorkflowEnvironment,
    fresh_database_url: str,
    tmp_path: Path,
    bureau_key_path: Path,
) -> AsyncIterator[AuditScene]:
    from activities.audit.keys import load_existing_signing_key

    engine = create_app_engine(fresh_database_url, APP_ROLE)
    owner = create_owner_engine(fresh_database_url)
    store = EventStore(engine)
    settings = Settings(
        database_url=fresh_database_url,
        data_dir=tmp_path / "data",
        calendar_file=TEST_CALENDAR,
        checkpoint_key_path=bureau_key_path,
        log_level="WARNING",
    )
    metrics = DubanMetrics()
    queue = f"audit-{uuid.uuid4().hex[:8]}"
    parts = build_worker(time_skipping_env.client, settings, store, queue, metrics=metrics)
    worker = RunningWorker(time_skipping_env, time_skipping_env.client, queue, store, engine)
    async with parts.worker:
        yield AuditScene(
            worker,
            settings,
            fresh_database_url,
            owner,
            metrics,
            load_existing_signing_key(bureau_key_path),
            bureau_key_path,
        )
        await worker.terminate_started()
    parts.executor.shutdown(wait=False)
    store.close()
    engine.dispose()
    owner.dispose()
