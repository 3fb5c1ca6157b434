"""The dossier (一案一档) of a case as a person asks for it: ``duban audit export`` and the
auditor's console download both call ``export_dossier_as_asked``, so what they put in the
archive cannot drift apart.

In order: the checkpoint signing key (below); the case's workflow history exported and recorded
now if the hourly audit job has not done it yet (and a checkpoint signed that covers the record,
``dossier_history``); the kept checkpoints, their signatures checked against that key; the
evidence files from the blob store; times in the policy's zone; then ``export_dossier``.

The signing key. The dossier's checkpoints are signed with the key of the process that exports
it — the CLI's, or the API process's for the console — read by ``keys.signing_key`` exactly as
the hourly audit job reads it (``DUBAN_CHECKPOINT_KEY_PATH``, a mounted Secret; on one machine
the key under the data directory). Only the CLI may create that key on first use
(``create_key``), as ``duban audit checkpoint`` does; a web process never makes a key of its
own: with none configured or created yet it refuses (``SigningKeyUnavailable``), since a key
made there would sign checkpoints nobody can check against the bureau's published key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client

from activities.audit.checkpoints import load_checkpoint_directory
from activities.audit.dossier import export_dossier
from activities.audit.dossier_history import HistoryAtExport, export_history_for_dossier
from activities.audit.keys import SigningKeyUnavailable, load_existing_signing_key, signing_key
from activities.blobs import BlobStore
from activities.eventstore import EventStore
from activities.eventstore.checkpoint import public_key_bytes
from activities.settings import Settings
from activities.temporal_client import TemporalUnreachable
from domain.errors import DomainError

log = structlog.get_logger(__name__)


def policy_zone(settings: Settings) -> ZoneInfo:
    """The zone instants are shown in: the policy's (which DUBAN_TIME_ZONE overrides, as for
    deadlines); the settings' when the policy file cannot be read."""
    from activities.rules import RulesActivities

    try:
        return ZoneInfo(str(RulesActivities(settings).snapshot().policy["time_zone"]))
    except DomainError:
        return settings.zone


def dossier_signing_key(settings: Settings, *, create_key: bool) -> Ed25519PrivateKey:
    """The key the dossier's checkpoints are checked against and signed with (module doc)."""
    if create_key or settings.checkpoint_key_path is not None:
        return signing_key(settings)
    path = settings.resolved_checkpoint_key_path
    if not path.exists():
        raise SigningKeyUnavailable(
            "checkpoint_key_path: no checkpoint signing key is configured for this process "
            f"({path} does not exist); set DUBAN_CHECKPOINT_KEY_PATH to the bureau's key, or "
            "export the dossier with `duban audit export`"
        )
    return load_existing_signing_key(path)


async def export_dossier_as_asked(
    store: EventStore,
    settings: Settings,
    hazard_id: str,
    target: Path,
    *,
    temporal: Callable[[], Awaitable[Client]],
    blobs: BlobStore | None,
    create_key: bool,
    allow_missing_history: bool = False,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the dossier of ``hazard_id`` to ``target``; returns what ``export_dossier`` says.

    ``temporal``: how to reach Temporal (the CLI connects, the console has its client). When
    it cannot be reached the dossier is still written from the record and the kept
    checkpoints, and says the history is missing; ``warn`` is told why. Raises what
    ``export_dossier`` raises (``DossierError``, ``ValueError``, ``OSError``) and
    ``CheckpointInvalid`` (a kept checkpoint or the key refused)."""
    key = await asyncio.to_thread(dossier_signing_key, settings, create_key=create_key)
    try:
        client = await temporal()
        at_export = await export_history_for_dossier(store, settings, client, hazard_id)
    except TemporalUnreachable as exc:
        # The record and the kept checkpoints still make a dossier; it says what is missing.
        log.warning("dossier.history_unavailable", hazard_id=hazard_id, error=str(exc))
        if warn is not None:
            warn(f"the workflow history cannot be exported now: {exc}")
        at_export = HistoryAtExport()
    zone = await asyncio.to_thread(policy_zone, settings)

    def write() -> dict[str, Any]:
        kept = load_checkpoint_directory(settings.resolved_checkpoint_dir, public_key_bytes(key))
        return export_dossier(
            store,
            hazard_id,
            target,
            key,
            checkpoints=[checkpoint for _, checkpoint in kept],
            history_dir=settings.data_dir / "histories",
            allow_missing_history=allow_missing_history,
            time_zone=str(zone),
            signed_for_export=at_export.checkpoint,
            history_exported_now=at_export.exported_now,
            case_running=at_export.running,
            blobs=blobs,
        )

    return await asyncio.to_thread(write)
