"""The hourly audit job's activities: a signed checkpoint of the head, kept outside the
database, and the Temporal history of every case whose workflow has closed since.

Temporal deletes closed histories after the namespace's retention; the business record
(the event store) lives forever. Exporting each closed case's history, with its SHA-256
recorded in the event store (``history-case-<id>``, expected version 0: once per case), keeps
the engineering trail as long as the business trail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus

from activities.eventstore import EventMetadata, EventStore, NewEvent, WrongExpectedVersion
from activities.eventstore.checkpoint import (
    load_or_create_signing_key,
    sign_checkpoint,
    write_checkpoint_file,
)
from activities.settings import Settings
from workflows.ids import case_workflow_id, hazard_id_from_stream

log = structlog.get_logger(__name__)
HISTORY_STREAM_PREFIX = "history-"
MAX_EXPORTS_PER_RUN = 500


@dataclass
class CheckpointWritten:
    position: int
    hash: str
    path: str


@dataclass
class HistoriesExported:
    exported: list[str]
    still_running: list[str]


class AuditActivities:
    def __init__(self, store: EventStore, settings: Settings, client: Client) -> None:
        self._store = store
        self._settings = settings
        self._client = client

    @activity.defn(name="write_signed_checkpoint")
    def write_signed_checkpoint(self) -> CheckpointWritten:
        key = load_or_create_signing_key(self._settings.resolved_checkpoint_key_path)
        head = self._store.head()
        checkpoint = sign_checkpoint(key, head.position, head.hash, datetime.now(UTC))
        path = write_checkpoint_file(checkpoint, self._settings.resolved_checkpoint_dir)
        log.info("audit.checkpoint_written", position=head.position, path=str(path))
        return CheckpointWritten(head.position, head.hash.hex(), str(path))

    def closed_cases_without_history(self) -> list[str]:
        with self._store.engine.connect() as conn:
            streams = conn.execute(
                sa.text(
                    "SELECT DISTINCT e.stream_id FROM events e"
                    " WHERE e.event_type IN ('CaseClosed', 'CaseWithdrawn')"
                    " AND e.stream_id LIKE 'case-%'"
                    " AND NOT EXISTS (SELECT 1 FROM events h"
                    "                 WHERE h.stream_id = 'history-' || e.stream_id)"
                    " ORDER BY e.stream_id LIMIT :n"
                ),
                {"n": MAX_EXPORTS_PER_RUN},
            ).scalars()
            return [hazard_id_from_stream(s) for s in streams]

    @activity.defn(name="export_closed_case_histories")
    async def export_closed_case_histories(self) -> HistoriesExported:
        import asyncio

        exported: list[str] = []
        running: list[str] = []
        directory = self._settings.data_dir / "histories"
        directory.mkdir(parents=True, exist_ok=True)
        for hazard_id in await asyncio.to_thread(self.closed_cases_without_history):
            handle = self._client.get_workflow_handle(case_workflow_id(hazard_id))
            description = await handle.describe()
            if description.status == WorkflowExecutionStatus.RUNNING:
                running.append(hazard_id)  # closes once its last handlers finish
                continue
            history = await handle.fetch_history()
            content = json.dumps(
                json.loads(history.to_json()), ensure_ascii=False, indent=1
            ).encode()
            (directory / f"{hazard_id}.json").write_bytes(content)
            await asyncio.to_thread(
                self._record,
                hazard_id,
                description.id,
                description.run_id,
                hashlib.sha256(content).hexdigest(),
                len(history.events),
            )
            exported.append(hazard_id)
            activity.heartbeat(hazard_id)
        log.info("audit.histories_exported", exported=len(exported), running=len(running))
        return HistoriesExported(exported, running)

    def _record(
        self, hazard_id: str, workflow_id: str, run_id: str, digest: str, count: int
    ) -> None:
        # WrongExpectedVersion: an earlier run recorded it and then failed; once is enough.
        with contextlib.suppress(WrongExpectedVersion):
            self._store.append(
                f"{HISTORY_STREAM_PREFIX}case-{hazard_id}",
                0,
                [
                    NewEvent(
                        uuid.uuid5(uuid.NAMESPACE_URL, f"duban:history:{hazard_id}"),
                        "WorkflowHistoryExported",
                        {
                            "hazard_id": hazard_id,
                            "workflow_id": workflow_id,
                            "run_id": run_id,
                            "sha256": digest,
                            "history_events": count,
                        },
                        EventMetadata(
                            "audit-maintenance", "system", workflow_id=workflow_id, run_id=run_id
                        ),
                        datetime.now(UTC),
                    )
                ],
            )
