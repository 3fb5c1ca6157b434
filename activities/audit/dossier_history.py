"""The workflow history a dossier carries, exported when the dossier is asked for if the hourly
audit job has not exported it yet.

A closed case's history is exported, written and recorded exactly as the hourly job does it
(``AuditActivities.export_one_history``); the record is a new event, so a checkpoint is then
signed that covers it — after the chain since the newest kept checkpoint is verified, as the
hourly job does before it signs (``sign_verified_head``). The dossier's manifest names that
checkpoint as signed at the export's request. A case whose workflow still runs has no history
to export yet; the dossier says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.audit.dossier import DossierError
from activities.audit.history_exports import history_stream_id
from activities.audit.maintenance import AuditActivities
from activities.eventstore import Checkpoint, EventStore
from activities.settings import Settings
from workflows.ids import case_stream_id


@dataclass(frozen=True)
class HistoryAtExport:
    exported_now: bool = False
    running: bool = False
    checkpoint: Checkpoint | None = None  # signed at the export's request


async def export_history_for_dossier(
    store: EventStore, settings: Settings, client: Client, hazard_id: str
) -> HistoryAtExport:
    """Export and record the case's history unless it is recorded already; raise
    ``DossierError`` when Temporal cannot give it or the chain refuses a new checkpoint."""
    case = await asyncio.to_thread(store.stream_version, case_stream_id(hazard_id))
    recorded = await asyncio.to_thread(store.stream_version, history_stream_id(hazard_id))
    if recorded or not case:  # recorded already; or no such case (the export says so)
        return HistoryAtExport()
    audit = AuditActivities(store, settings, client)
    result = await audit.export_one_history(hazard_id)
    if result.still_running:
        return HistoryAtExport(running=True)
    if result.failed:
        raise DossierError(
            "workflow history: the case's history could not be exported from Temporal now "
            "(see the log, audit.history_export_failed); the hourly audit job retries it"
        )
    try:
        written = await asyncio.to_thread(audit.sign_verified_head)
    except ApplicationError as exc:
        raise DossierError(f"checkpoint: {exc.message}") from exc
    return HistoryAtExport(exported_now=True, checkpoint=Checkpoint.load(Path(written.path)))
