"""The hourly audit job's activities: a signed checkpoint of the head, kept outside the
database, and the Temporal history of every case whose workflow has closed since.

Checkpoint: the chain since the newest kept checkpoint is verified first; a broken chain is
reported (log, ``duban_audit_chain_broken``) and nothing is signed, so a checkpoint never
vouches for a rewritten record. The key is the configured one (``signing_key``).

Histories: Temporal deletes closed histories after the namespace's retention; the business
record (the event store) lives forever. Each closed case's history is written to
``<data_dir>/histories/<hazard>.json`` (atomically, then read back and hashed) and only then
its SHA-256 is recorded in the event store (``history-case-<id>``): a recorded export always
had its file. Every run also checks a slice of the recorded exports (the next
``RESTORE_CHECKS_PER_RUN`` after where the last run stopped, wrapping round) for their file,
with its recorded size; a missing or damaged one is reported loudly (log,
``duban_history_exports_missing``) and written again from Temporal while Temporal still has the
history (an unchanged history gives the same bytes; if the bytes differ, a
``WorkflowHistoryReexported`` event records the new hash). After recording exports the run
signs another checkpoint, so that the records are covered within the hour.

Scale (deploy/CAPACITY.md: 12,000 deadlines, hence up to 12,000 closings, a working day; about
44 million exports after ten years): nothing here reads the whole events table or every file.
The closings are found through the partial index ``events_case_endings`` (migration 0008)
from a cursor below which every closing has its export; the recorded exports through
``events_history_streams``, a slice at a time. Both cursors are small files next to the
histories, on the volume every worker replica mounts; a lost cursor only costs one longer
scan. The activity heartbeats inside every loop (its heartbeat timeout is 2 minutes).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.audit.checkpoints import load_checkpoint_directory, verify_since
from activities.audit.history_exports import (
    EXPORT_CURSOR_FILE,
    HISTORY_STREAM_PREFIX,
    RESTORE_CURSOR_FILE,
    RecordedExport,
    file_looks_intact,
    history_bytes,
    history_dir,
    history_file,
    history_stream_id,
    read_cursor,
    write_cursor,
    write_verified,
)
from activities.audit.keys import signing_key
from activities.eventstore import (
    CheckpointInvalid,
    EventMetadata,
    EventStore,
    NewEvent,
    WrongExpectedVersion,
)
from activities.eventstore.checkpoint import (
    public_key_bytes,
    sign_checkpoint,
    write_checkpoint_file,
)
from activities.eventstore.verify import conflicting_checkpoints
from activities.settings import Settings
from workflows.contracts import CheckpointWritten, HistoriesExported
from workflows.ids import case_workflow_id, hazard_id_from_stream

log = structlog.get_logger(__name__)
HISTORY_EXPORTED = "WorkflowHistoryExported"
HISTORY_REEXPORTED = "WorkflowHistoryReexported"
# 12,000 closings a working day are 500 an hour on average; 2,000 an hour leaves 4x headroom
# for the days closings bunch up (a backlog of one whole day drains within 8 runs). At tens of
# milliseconds an export, a full run takes a few minutes of the activity's 30.
MAX_EXPORTS_PER_RUN = 2_000
CANDIDATE_PAGE = 200
# Files checked an hour: 480,000 a day, so every export of a province's first year (~3
# million) is looked at every week. A stat is well under a millisecond even on NFS.
RESTORE_CHECKS_PER_RUN = 20_000
RECORDED_PAGE = 1_000

if TYPE_CHECKING:
    from activities.metrics import DubanMetrics

# The WHERE clauses repeat the predicates of migration 0008's partial indexes, which is what
# lets the planner use them (tests/audit/test_maintenance.py checks the plans).
CLOSINGS_WITHOUT_HISTORY = sa.text(
    "SELECT e.position, e.stream_id FROM events e"
    " WHERE e.event_type IN ('CaseClosed', 'CaseWithdrawn')"
    " AND e.stream_id LIKE 'case-%' AND e.position > :after"
    " AND NOT EXISTS (SELECT 1 FROM events h"
    "                 WHERE h.stream_id = 'history-' || e.stream_id)"
    " ORDER BY e.position LIMIT :n"
)
RECORDED_EXPORTS = sa.text(
    "SELECT DISTINCT ON (stream_id) stream_id, data::jsonb ->> 'sha256',"
    " stream_version, (data::jsonb ->> 'bytes')::bigint FROM events"
    " WHERE stream_id LIKE 'history-case-%' AND stream_id > :after"
    " ORDER BY stream_id, stream_version DESC LIMIT :n"
)


class AuditActivities:
    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        client: Client,
        metrics: DubanMetrics | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._client = client
        self._metrics = metrics
        self._reexports_recorded = 0

    # ------------------------------------------------------------------ checkpoint

    @activity.defn(name="write_signed_checkpoint")
    def write_signed_checkpoint(self) -> CheckpointWritten:
        return self.sign_verified_head()

    def sign_verified_head(self) -> CheckpointWritten:
        """Verify the chain since the newest kept checkpoint, then sign exactly that head."""
        try:
            key = signing_key(self._settings)
            kept = load_checkpoint_directory(
                self._settings.resolved_checkpoint_dir, public_key_bytes(key)
            )
        except CheckpointInvalid as exc:
            log.error("audit.checkpoint_refused", error=str(exc))
            raise ApplicationError(
                str(exc), type="audit.checkpoint_key", non_retryable=True
            ) from exc
        latest = kept[-1][1] if kept else None
        report = verify_since(self._store.engine, latest)
        # Two kept checkpoints of one position that disagree prove a rewrite on their own.
        conflict = conflicting_checkpoints([checkpoint for _, checkpoint in kept])
        if conflict is not None:
            report.first_break = conflict
        if not report.ok:
            if self._metrics is not None:
                self._metrics.audit_chain_broken.set(1)
            log.error(
                "audit.chain_broken",
                position=report.first_break.position if report.first_break else None,
                stream_id=report.first_break.stream_id if report.first_break else None,
                reason=report.first_break.reason if report.first_break else None,
            )
            raise ApplicationError(
                f"the chain does not verify, nothing was signed: {report.first_break}",
                type="audit.chain_broken",
                non_retryable=True,
            )
        # Sign exactly the head that was verified, not whatever the head is by now.
        checkpoint = sign_checkpoint(key, report.last_position, report.last_hash, datetime.now(UTC))
        path = write_checkpoint_file(checkpoint, self._settings.resolved_checkpoint_dir)
        if self._metrics is not None:
            self._metrics.audit_chain_broken.set(0)
            self._metrics.audit_checkpoint_position.set(checkpoint.position)
        log.info(
            "audit.checkpoint_written",
            position=checkpoint.position,
            verified_events=report.checked_events,
            path=str(path),
        )
        return CheckpointWritten(
            checkpoint.position, checkpoint.hash.hex(), str(path), report.checked_events
        )

    # ------------------------------------------------------------------ histories

    def closed_cases_without_history(
        self, after: int = 0, limit: int = CANDIDATE_PAGE
    ) -> list[tuple[int, str]]:
        """(closing position, hazard id) of closed cases with no recorded export, oldest
        closing first, after the closing position ``after`` (index ``events_case_endings``:
        the predicate below is the index's)."""
        with self._store.engine.connect() as conn:
            rows = conn.execute(
                CLOSINGS_WITHOUT_HISTORY,
                {"after": after, "n": limit},
            ).all()
        return [(int(position), hazard_id_from_stream(stream)) for position, stream in rows]

    def recorded_exports(
        self, after_hazard: str = "", limit: int = RECORDED_PAGE
    ) -> list[RecordedExport]:
        """The newest recorded export (its hash is what the file must have) of up to ``limit``
        cases, in stream order after the case ``after_hazard`` (index
        ``events_history_streams``)."""
        with self._store.engine.connect() as conn:
            rows = conn.execute(
                RECORDED_EXPORTS,
                {"after": history_stream_id(after_hazard) if after_hazard else "", "n": limit},
            ).all()
        prefix = f"{HISTORY_STREAM_PREFIX}case-"
        return [
            RecordedExport(
                stream.removeprefix(prefix),
                str(digest),
                int(version),
                None if size is None else int(size),
            )
            for stream, digest, version, size in rows
        ]

    @activity.defn(name="export_closed_case_histories")
    async def export_closed_case_histories(self) -> HistoriesExported:
        result = HistoriesExported([], [])
        self._reexports_recorded = 0
        await self._restore_missing(result)
        await self._export_new_closings(result)
        if self._metrics is not None:
            self._metrics.history_exports_missing.set(len(result.missing))
            self._metrics.history_exports_failed.set(len(result.failed))
        if result.exported or self._reexports_recorded:
            # The run's first checkpoint was signed before these records existed; cover them
            # now, so that a case's dossier can carry its history's hash within the hour.
            written = await asyncio.to_thread(self.sign_verified_head)
            result.checkpoint_position = written.position
        log.info(
            "audit.histories_exported",
            exported=len(result.exported),
            running=len(result.still_running),
            failed=len(result.failed),
            missing=len(result.missing),
            restored=len(result.restored),
        )
        return result

    async def export_one_history(self, hazard_id: str) -> HistoriesExported:
        """One closed case's history exported and recorded as the hourly run does it — for a
        dossier asked for before the run reached the case (``dossier_history``)."""
        result = HistoriesExported([], [])
        await self._export_one(hazard_id, result)
        return result

    async def _export_new_closings(self, result: HistoriesExported) -> None:
        """Export the closings since the cursor; move the cursor up to the last closing below
        which every one is exported. A case that failed, or whose workflow still runs, holds
        the cursor where it is, so the next run tries it again."""
        cursor_path = history_dir(self._settings) / EXPORT_CURSOR_FILE
        start = int(await asyncio.to_thread(read_cursor, cursor_path, "closings_exported_to", 0))
        after = covered = start
        held = False
        while len(result.exported) < MAX_EXPORTS_PER_RUN:
            page = await asyncio.to_thread(self.closed_cases_without_history, after)
            if not page:
                break
            for position, hazard_id in page:
                if len(result.exported) >= MAX_EXPORTS_PER_RUN:
                    break
                after = position
                exported = await self._export_one(hazard_id, result)
                activity.heartbeat(hazard_id)
                held = held or not exported
                if not held:
                    covered = position
        if covered != start:
            await asyncio.to_thread(write_cursor, cursor_path, "closings_exported_to", covered)

    async def _export_one(self, hazard_id: str, result: HistoriesExported) -> bool:
        # One case that cannot be exported (its workflow gone, Temporal refusing) is logged
        # and left for the next run; it must not stop the cases behind it.
        handle = self._client.get_workflow_handle(case_workflow_id(hazard_id))
        try:
            description = await handle.describe()
            if description.status == WorkflowExecutionStatus.RUNNING:
                result.still_running.append(hazard_id)  # closes once its handlers finish
                return False
            content = history_bytes(await handle.fetch_history())
            digest = hashlib.sha256(content).hexdigest()
            await asyncio.to_thread(
                write_verified, history_file(self._settings, hazard_id), content, digest
            )
            await asyncio.to_thread(
                self._record,
                hazard_id,
                description.id,
                description.run_id,
                digest,
                len(content),
            )
        except Exception as exc:
            result.failed.append(hazard_id)
            log.warning(
                "audit.history_export_failed",
                hazard_id=hazard_id,
                error=str(exc) or type(exc).__name__,
            )
            return False
        result.exported.append(hazard_id)
        if self._metrics is not None:
            self._metrics.history_exports.inc()
        return True

    async def _restore_missing(self, result: HistoriesExported) -> None:
        """Check the next ``RESTORE_CHECKS_PER_RUN`` recorded exports after the last run's;
        past the last one, the next run starts again from the first."""
        cursor_path = history_dir(self._settings) / RESTORE_CURSOR_FILE
        after = str(await asyncio.to_thread(read_cursor, cursor_path, "checked_to_hazard", ""))
        checked = 0
        while checked < RESTORE_CHECKS_PER_RUN:
            wanted = min(RECORDED_PAGE, RESTORE_CHECKS_PER_RUN - checked)
            page = await asyncio.to_thread(self.recorded_exports, after, wanted)
            for recorded in page:
                await self._check_one(recorded, result)
                activity.heartbeat(recorded.hazard_id)
            checked += len(page)
            if len(page) < wanted:
                after = ""  # past the last export: the next run starts from the first again
                break
            after = page[-1].hazard_id
        await asyncio.to_thread(write_cursor, cursor_path, "checked_to_hazard", after)

    async def _check_one(self, recorded: RecordedExport, result: HistoriesExported) -> None:
        path = history_file(self._settings, recorded.hazard_id)
        if await asyncio.to_thread(file_looks_intact, path, recorded):
            return
        log.error(
            "audit.history_file_missing",
            hazard_id=recorded.hazard_id,
            path=str(path),
            exists=path.exists(),
            recorded_sha256=recorded.sha256,
        )
        handle = self._client.get_workflow_handle(case_workflow_id(recorded.hazard_id))
        try:
            description = await handle.describe()
            content = history_bytes(await handle.fetch_history())
            digest = hashlib.sha256(content).hexdigest()
            await asyncio.to_thread(write_verified, path, content, digest)
            if digest != recorded.sha256:
                await asyncio.to_thread(
                    self._record_reexport,
                    recorded,
                    description.id,
                    description.run_id,
                    digest,
                    len(content),
                )
                self._reexports_recorded += 1
        except Exception as exc:
            gone = isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND
            result.missing.append(recorded.hazard_id)
            log.error(
                "audit.history_file_lost" if gone else "audit.history_restore_failed",
                hazard_id=recorded.hazard_id,
                error=str(exc) or type(exc).__name__,
                hint="Temporal no longer has the history: restore the file from a backup"
                if gone
                else "will retry on the next run",
            )
            return
        result.restored.append(recorded.hazard_id)
        if self._metrics is not None:
            self._metrics.history_exports.inc()
        log.warning("audit.history_file_restored", hazard_id=recorded.hazard_id)

    def _record(
        self, hazard_id: str, workflow_id: str, run_id: str, digest: str, size: int
    ) -> None:
        try:
            self._store.append(
                history_stream_id(hazard_id),
                0,
                [
                    NewEvent(
                        uuid.uuid5(uuid.NAMESPACE_URL, f"duban:history:{hazard_id}"),
                        HISTORY_EXPORTED,
                        {
                            "hazard_id": hazard_id,
                            "workflow_id": workflow_id,
                            "run_id": run_id,
                            "sha256": digest,
                            "bytes": size,
                            "file": f"histories/{hazard_id}.json",
                        },
                        EventMetadata(
                            "audit-maintenance", "system", workflow_id=workflow_id, run_id=run_id
                        ),
                        datetime.now(UTC),
                    )
                ],
            )
        except WrongExpectedVersion:
            # Recorded by an earlier, interrupted run. The file just written must match it;
            # the next run's check restores it otherwise.
            log.info("audit.history_already_recorded", hazard_id=hazard_id)

    def _record_reexport(
        self, recorded: RecordedExport, workflow_id: str, run_id: str, digest: str, size: int
    ) -> None:
        self._store.append(
            history_stream_id(recorded.hazard_id),
            recorded.stream_version,
            [
                NewEvent(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"duban:history:{recorded.hazard_id}:{digest}"),
                    HISTORY_REEXPORTED,
                    {
                        "hazard_id": recorded.hazard_id,
                        "workflow_id": workflow_id,
                        "run_id": run_id,
                        "sha256": digest,
                        "bytes": size,
                        "file": f"histories/{recorded.hazard_id}.json",
                        "replaces_sha256": recorded.sha256,
                        "reason": "the exported file was missing or damaged; exported again "
                        "from Temporal, which serialised it to different bytes",
                    },
                    EventMetadata(
                        "audit-maintenance", "system", workflow_id=workflow_id, run_id=run_id
                    ),
                    datetime.now(UTC),
                )
            ],
        )
