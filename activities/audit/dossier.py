"""The case dossier (一案一档): one self-contained archive an auditor takes away.

- ``events.jsonl``: the case's events exactly as stored, with their hash links;
- ``history-events.jsonl``: the record of the case's workflow-history export (its SHA-256),
  when there is one;
- ``chain.jsonl``: the links (position, prev_hash, hash) from the first of those events to the
  covering checkpoint, without other cases' content; streamed, never held in memory;
- ``checkpoint.json``: the earliest kept checkpoint that covers the case's last event, signed
  by the hourly audit job or ``duban audit checkpoint`` before the export — or, when the export
  itself had to record the case's workflow history first, signed at the export's request after
  verifying the chain since the newest kept one (the manifest says which). A chain rewritten
  after a kept checkpoint cannot end at it; the exporter refuses such a chain;
- ``workflow-history.json``: the exported Temporal history, whose hash the store recorded;
- ``files/<sha256>``: the evidence files the case's events name (``dossier_files.py``);
- ``documents-events.jsonl`` and ``documents/<short code>.pdf``: the documents issued for the
  case (their ``DocumentIssued`` events and PDFs, ``dossier_documents.py``);
- ``timeline.html``: the dossier in Chinese, printable: summary, timeline, documents, files,
  chain and checkpoint (``dossier_view``, ``dossier_html``);
- ``dossier.pdf``: the same as a PDF with its fonts embedded (``dossier_pdf``);
- ``MANIFEST.json``: every file's SHA-256, the head of the store at export, signed at export
  (``MANIFEST.sig``) — an additional statement of who exported it, not the proof of the chain.

``deploy/verify_dossier.py`` checks it with the standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import uuid
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from activities.audit.checkpoints import covering_checkpoint
from activities.audit.dossier_documents import (
    DOCUMENT_EVENTS,
    issued_events_query,
    write_case_documents,
)
from activities.audit.dossier_files import write_case_files
from activities.audit.dossier_html import render_html
from activities.audit.dossier_html import timeline_html as timeline_html
from activities.audit.dossier_pdf import render_dossier_pdf
from activities.audit.dossier_view import build_view, unit_codes
from activities.audit.history_exports import history_stream_id
from activities.blobs import BlobStore
from activities.eventstore import Checkpoint, EventStore, RecordedEvent
from activities.eventstore.chain import canonical_event_bytes, link_hash
from activities.eventstore.checkpoint import key_fingerprint, public_key_bytes
from domain.documents.issued import DOCUMENT_ISSUED
from workflows.ids import case_stream_id

DOSSIER_SCHEME = "duban-dossier/2"
_UTC = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_STORED = (
    "position, stream_id, stream_version, event_id::text, event_type, schema_version, "
    f"{_UTC.format('occurred_at')}, {_UTC.format('recorded_at')}, data::text, "
    "metadata::text, encode(prev_hash, 'hex'), encode(hash, 'hex')"
)
_FIELDS = (
    "position",
    "stream_id",
    "stream_version",
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "data_text",
    "metadata_text",
    "prev_hash",
    "hash",
)


class DossierError(ValueError):
    pass


def export_dossier(
    store: EventStore,
    hazard_id: str,
    out: Path,
    key: Ed25519PrivateKey,
    *,
    checkpoints: Sequence[Checkpoint],
    history_dir: Path | None = None,
    allow_missing_history: bool = False,
    time_zone: str = "Asia/Shanghai",
    signed_for_export: Checkpoint | None = None,
    history_exported_now: bool = False,
    case_running: bool = False,
    blobs: BlobStore | None = None,
) -> dict[str, Any]:
    """Write the dossier of ``hazard_id`` to ``out`` (atomically); returns what it holds.

    ``checkpoints``: the kept checkpoints, signatures already checked against the bureau's
    key. Raises ``DossierError`` when none covers the case, when the stored chain does not
    reach the covering checkpoint's hash (rewritten since it was signed), when an event does
    not match its hash, or when the workflow history was recorded but its file is missing.

    ``signed_for_export``: the checkpoint signed at this export's request (after the history
    was exported and recorded just now, ``history_exported_now``), which the manifest then
    names as such; ``case_running``: the case's workflow still runs (no history to export).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        result = _export(
            store,
            hazard_id,
            tmp,
            key,
            checkpoints,
            history_dir,
            allow_missing_history,
            time_zone,
            signed_for_export,
            history_exported_now,
            case_running,
            blobs,
        )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    result["path"] = str(out)
    return result


def _export(
    store: EventStore,
    hazard_id: str,
    target: Path,
    key: Ed25519PrivateKey,
    checkpoints: Sequence[Checkpoint],
    history_dir: Path | None,
    allow_missing_history: bool,
    time_zone: str,
    signed_for_export: Checkpoint | None,
    history_exported_now: bool = False,
    case_running: bool = False,
    blobs: BlobStore | None = None,
) -> dict[str, Any]:
    stream = case_stream_id(hazard_id)
    raw = store.engine.raw_connection()
    try:
        # One snapshot for everything read; the pooled connection gets its defaults back.
        raw.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cursor: Any = raw.cursor()
        events = _read_stream(cursor, stream)
        if not events:
            raise DossierError(f"hazard_id: no events for {hazard_id}")
        history_events = _read_stream(cursor, history_stream_id(hazard_id))
        included = events + history_events
        for event in included:
            _check_content(event)
        last = max(e["position"] for e in included)
        checkpoint = covering_checkpoint(checkpoints, last)
        if checkpoint is None:
            newest = max((cp.position for cp in checkpoints), default=None)
            raise DossierError(
                f"checkpoint: no kept checkpoint covers position {last} (the case's last "
                f"event); the newest covers {newest}. The hourly audit job signs one every "
                "hour; `duban audit checkpoint` signs one now (after verifying the chain)"
            )
        # The documents issued for the case under that checkpoint (later ones are not yet
        # covered by a signed checkpoint: counted, and included by the next export).
        document_events = _issued_events(cursor, hazard_id, stream, checkpoint.position)
        for event in document_events:
            _check_content(event)
        included += document_events
        cursor.execute(
            "SELECT count(*) FROM events WHERE event_type = %s AND stream_id LIKE 'documents-%%'"
            " AND data->>'subject' = %s AND data->>'source_stream' = %s AND position > %s",
            (DOCUMENT_ISSUED, hazard_id, stream, checkpoint.position),
        )
        documents_after_checkpoint = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT position, encode(hash, 'hex') FROM events ORDER BY position DESC LIMIT 1"
        )
        head_position, head_hash = cursor.fetchone()
        history = _history(hazard_id, history_events, history_dir, allow_missing_history)
        if history_exported_now and history.status.get("included"):
            history.status["exported_now"] = True
        if case_running and not history_events:
            history.status["running"] = True
            history.status["note"] = (
                "the case's workflow is still running: its history is exported once it closes"
            )
        files: dict[str, str] = {}
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            _write(archive, files, "events.jsonl", _jsonl(events))
            if history_events:
                _write(archive, files, "history-events.jsonl", _jsonl(history_events))
            links = _stream_chain(raw, archive, files, included, checkpoint)
            _write(archive, files, "checkpoint.json", checkpoint.to_json().encode())
            if history.content is not None:
                _write(archive, files, "workflow-history.json", history.content)
            evidence_files = write_case_files(archive, files, events, blobs)
            if document_events:
                _write(archive, files, DOCUMENT_EVENTS, _jsonl(document_events))
            issued_documents = write_case_documents(archive, files, document_events, blobs)
            recorded = [_recorded(e) for e in events]
            exported_at = datetime.now(UTC)
            note = _checkpoint_note(checkpoint, signed_for_export)
            view = build_view(
                hazard_id,
                recorded,
                time_zone,
                names=_reference_names(cursor, recorded),
                checkpoint=checkpoint,
                checkpoint_note=note.chinese,
                history=history.status,
                exported_at=exported_at,
                issued=issued_documents,
            )
            _write(archive, files, "timeline.html", render_html(view).encode())
            _write(archive, files, "dossier.pdf", render_dossier_pdf(view))
            manifest = json.dumps(
                {
                    "dossier": "duban 一案一档",
                    "scheme": DOSSIER_SCHEME,
                    "hazard_id": hazard_id,
                    "exported_at": exported_at.isoformat(),
                    "time_zone": time_zone,
                    "public_key": public_key_bytes(key).hex(),
                    "chain_scheme": "duban/1",
                    "checkpoint": {
                        "position": checkpoint.position,
                        "hash": checkpoint.hash.hex(),
                        "signed_at": checkpoint.signed_at,
                        "public_key": checkpoint.public_key.hex(),
                        "signer_key_fingerprint": key_fingerprint(checkpoint.public_key),
                        "signed_by": note.signed_by,
                        "signed_with_this_manifests_key": checkpoint.public_key
                        == public_key_bytes(key),
                    },
                    "store_head_at_export": {"position": head_position, "hash": head_hash},
                    "workflow_history": history.status,
                    "files": files,
                    "evidence_files": evidence_files,
                    "issued_documents": issued_documents,
                    "issued_documents_after_checkpoint": documents_after_checkpoint,
                },
                ensure_ascii=False,
                indent=2,
                sort_keys=True,
            ).encode()
            archive.writestr("MANIFEST.json", manifest)
            archive.writestr("MANIFEST.sig", key.sign(manifest).hex())
        raw.rollback()
    finally:
        with contextlib.suppress(Exception):
            raw.rollback()
        raw.set_session(isolation_level="DEFAULT", readonly="DEFAULT")
        raw.close()
    return {
        "events": len(events),
        "history_events": len(history_events),
        "links": links,
        "checkpoint": checkpoint.position,
        "checkpoint_signed_at": checkpoint.signed_at,
        "workflow_history": history.status,
        "files": sorted([*files, "MANIFEST.json", "MANIFEST.sig"]),
        "evidence_files": evidence_files,
        "issued_documents": issued_documents,
    }


def _read_stream(cursor: Any, stream_id: str) -> list[dict[str, Any]]:
    cursor.execute(
        f"SELECT {_STORED} FROM events WHERE stream_id = %s ORDER BY stream_version", (stream_id,)
    )
    return [dict(zip(_FIELDS, row, strict=True)) for row in cursor.fetchall()]


def _issued_events(cursor: Any, hazard_id: str, stream: str, up_to: int) -> list[dict[str, Any]]:
    cursor.execute(issued_events_query(_STORED), (DOCUMENT_ISSUED, hazard_id, stream, up_to))
    return [dict(zip(_FIELDS, row, strict=True)) for row in cursor.fetchall()]


def _check_content(event: dict[str, Any]) -> None:
    content = canonical_event_bytes(
        position=event["position"],
        stream_id=event["stream_id"],
        stream_version=event["stream_version"],
        event_id=event["event_id"],
        event_type=event["event_type"],
        schema_version=event["schema_version"],
        occurred_at=event["occurred_at"],
        recorded_at=event["recorded_at"],
        data_text=event["data_text"],
        metadata_text=event["metadata_text"],
    )
    if link_hash(bytes.fromhex(event["prev_hash"]), content).hex() != event["hash"]:
        raise DossierError(
            f"event at position {event['position']} ({event['stream_id']}) does not match its "
            "hash: the record was altered; run `duban audit verify`"
        )


def _stream_chain(
    raw: Any,
    archive: zipfile.ZipFile,
    files: dict[str, str],
    included: list[dict[str, Any]],
    checkpoint: Checkpoint,
) -> int:
    """Write chain.jsonl from the first included event to the checkpoint, row by row from a
    server-side cursor, checking as it goes that the links are contiguous, pass through every
    included event and end at the checkpoint's hash."""
    wanted = {e["position"]: (e["prev_hash"], e["hash"]) for e in included}
    first = min(wanted)
    cursor: Any = raw.cursor(name="duban_dossier_chain")
    cursor.itersize = 20_000
    cursor.execute(
        "SELECT position, encode(prev_hash, 'hex'), encode(hash, 'hex') FROM events"
        " WHERE position BETWEEN %s AND %s ORDER BY position",
        (first, checkpoint.position),
    )
    digest = hashlib.sha256()
    count = 0
    previous: tuple[int, str] | None = None
    with archive.open("chain.jsonl", "w") as member:
        for position, prev_hash, link in cursor:
            if previous is not None and (position != previous[0] + 1 or prev_hash != previous[1]):
                raise DossierError(
                    f"chain: the stored chain breaks at position {position}; run "
                    "`duban audit verify`"
                )
            expected = wanted.get(position)
            if expected is not None and expected != (prev_hash, link):
                raise DossierError(f"chain: event at position {position} is not in the chain")
            line = (
                json.dumps(
                    {"hash": link, "position": position, "prev_hash": prev_hash},
                    sort_keys=True,
                )
                + "\n"
            ).encode()
            member.write(line)
            digest.update(line)
            previous = (position, link)
            count += 1
    cursor.close()
    if previous is None or previous[0] != checkpoint.position:
        raise DossierError(
            f"chain: the store does not reach position {checkpoint.position} of the checkpoint "
            f"signed at {checkpoint.signed_at}: events were removed"
        )
    if previous[1] != checkpoint.hash.hex():
        raise DossierError(
            f"chain: the stored hash at position {checkpoint.position} differs from the "
            f"checkpoint signed at {checkpoint.signed_at}: the chain was rewritten after it "
            "was signed; refusing to export a dossier of a rewritten record"
        )
    files["chain.jsonl"] = digest.hexdigest()
    return count


class _History:
    def __init__(self, content: bytes | None, status: dict[str, Any]) -> None:
        self.content = content
        self.status = status


def _history(
    hazard_id: str,
    history_events: list[dict[str, Any]],
    history_dir: Path | None,
    allow_missing: bool,
) -> _History:
    if not history_events:
        return _History(
            None,
            {
                "recorded": False,
                "included": False,
                "note": "not exported yet: the case is still open, or closed since the last "
                "hourly audit run",
            },
        )
    last = history_events[-1]
    recorded_sha = json.loads(last["data_text"])["sha256"]
    status: dict[str, Any] = {
        "recorded": True,
        "sha256": recorded_sha,
        "recorded_at_position": last["position"],
    }
    path = history_dir / f"{hazard_id}.json" if history_dir is not None else None
    content = None
    problem = "no history directory was given"
    if path is not None:
        try:
            content = path.read_bytes()
        except OSError as exc:
            problem = f"{path}: {exc.strerror}"
        else:
            if hashlib.sha256(content).hexdigest() != recorded_sha:
                problem = f"{path}: its SHA-256 differs from the recorded {recorded_sha}"
                content = None
    if content is not None:
        return _History(content, {**status, "included": True})
    if not allow_missing:
        raise DossierError(
            f"workflow history: recorded in the event store (SHA-256 {recorded_sha}) but "
            f"not available ({problem}). The hourly audit job restores it from Temporal while "
            "Temporal still keeps it; otherwise restore it from a backup. "
            "--allow-missing-history exports without it, saying so in the dossier"
        )
    return _History(None, {**status, "included": False, "problem": problem})


def _write(archive: zipfile.ZipFile, files: dict[str, str], name: str, data: bytes) -> None:
    archive.writestr(name, data)
    files[name] = hashlib.sha256(data).hexdigest()


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return buffer.getvalue().encode()


def _recorded(event: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        event["position"],
        event["stream_id"],
        event["stream_version"],
        UUID(event["event_id"]),
        event["event_type"],
        event["schema_version"],
        json.loads(event["data_text"]),
        json.loads(event["metadata_text"]),
        datetime.fromisoformat(event["occurred_at"]),
        datetime.fromisoformat(event["recorded_at"]),
        bytes.fromhex(event["prev_hash"]),
        bytes.fromhex(event["hash"]),
    )


class _CheckpointNote:
    def __init__(self, signed_by: str, chinese: str) -> None:
        self.signed_by = signed_by
        self.chinese = chinese


def _checkpoint_note(
    checkpoint: Checkpoint, signed_for_export: Checkpoint | None
) -> _CheckpointNote:
    """Who signed the checkpoint, as far as duban knows it: the export itself (after verifying
    the chain since the newest kept checkpoint), or a checkpoint kept before the export — which
    the hourly audit job or `duban audit checkpoint` signed (the file does not say which)."""
    if signed_for_export is not None and checkpoint == signed_for_export:
        return _CheckpointNote(
            "this export (duban audit export), at the dossier's request, after exporting and "
            "recording the case's workflow history and verifying the chain since the newest "
            "kept checkpoint",
            "本次导出案卷时签署（先导出并记录工作流历史，再核验自上一检查点以来的哈希链）",
        )
    return _CheckpointNote(
        "kept in the checkpoint directory before this export: signed by the hourly audit job "
        "or by `duban audit checkpoint` (both verify the chain before signing; the checkpoint "
        "does not record which of them signed it)",
        "导出前已保存的检查点（由每小时审计任务或 duban audit checkpoint 核验哈希链后签署）",
    )


def _reference_names(cursor: Any, events: list[RecordedEvent]) -> dict[str, str]:
    """Names of the grid units the events name by code only, from the reference data
    (``grid_unit_view``), read in the export's snapshot."""
    codes = sorted(unit_codes(events))
    if not codes:
        return {}
    cursor.execute("SELECT code, name FROM grid_unit_view WHERE code = ANY(%s)", (codes,))
    return {str(code): str(name) for code, name in cursor.fetchall()}
