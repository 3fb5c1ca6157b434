"""The case dossier (一案一档): one self-contained archive an auditor takes away.

- ``events.jsonl``: the case's events exactly as stored, with their hash links;
- ``history-events.jsonl``: the record of the case's workflow-history export (its SHA-256),
  when there is one;
- ``chain.jsonl``: the links (position, prev_hash, hash) from the first of those events to the
  covering checkpoint, without other cases' content; streamed, never held in memory;
- ``checkpoint.json``: the checkpoint the hourly audit job signed and kept — the earliest one
  that covers the case's last event. It was signed before anyone asked for this dossier, so a
  chain rewritten since cannot end at it; the exporter refuses such a chain;
- ``workflow-history.json``: the exported Temporal history, whose hash the store recorded;
- ``timeline.html``: the timeline in Chinese, printable;
- ``files/<sha256>``: the evidence files the case's events name (``dossier_files.py``);
- ``MANIFEST.json``: every file's SHA-256, the head of the store at export, signed at export
  (``MANIFEST.sig``) — an additional statement of who exported it, not the proof of the chain.

``deploy/verify_dossier.py`` checks it with the standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
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
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from activities.audit.checkpoints import covering_checkpoint
from activities.audit.dossier_files import write_case_files
from activities.audit.history_exports import history_stream_id
from activities.audit.replay import (
    LABELS,
    LEVEL_LABELS,
    STATUS_LABELS,
    describe_detail,
    replay_events,
)
from activities.blobs import BlobStore
from activities.eventstore import Checkpoint, EventStore, RecordedEvent
from activities.eventstore.chain import canonical_event_bytes, link_hash
from activities.eventstore.checkpoint import public_key_bytes
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
    blobs: BlobStore | None = None,
) -> dict[str, Any]:
    """Write the dossier of ``hazard_id`` to ``out`` (atomically); returns what it holds.

    ``checkpoints``: the kept checkpoints, signatures already checked against the bureau's
    key. Raises ``DossierError`` when none covers the case, when the stored chain does not
    reach the covering checkpoint's hash (rewritten since it was signed), when an event does
    not match its hash, or when the workflow history was recorded but its file is missing.
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
        cursor.execute(
            "SELECT position, encode(hash, 'hex') FROM events ORDER BY position DESC LIMIT 1"
        )
        head_position, head_hash = cursor.fetchone()
        history = _history(hazard_id, history_events, history_dir, allow_missing_history)
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
            recorded = [_recorded(e) for e in events]
            _write(
                archive,
                files,
                "timeline.html",
                timeline_html(hazard_id, recorded, time_zone, checkpoint, history.status).encode(),
            )
            manifest = json.dumps(
                {
                    "dossier": "duban 一案一档",
                    "scheme": DOSSIER_SCHEME,
                    "hazard_id": hazard_id,
                    "exported_at": datetime.now(UTC).isoformat(),
                    "public_key": public_key_bytes(key).hex(),
                    "chain_scheme": "duban/1",
                    "checkpoint": {
                        "position": checkpoint.position,
                        "hash": checkpoint.hash.hex(),
                        "signed_at": checkpoint.signed_at,
                        "public_key": checkpoint.public_key.hex(),
                        "source": "kept by the hourly audit job before this export",
                    },
                    "store_head_at_export": {"position": head_position, "hash": head_hash},
                    "workflow_history": history.status,
                    "files": files,
                    "evidence_files": evidence_files,
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
    }


def _read_stream(cursor: Any, stream_id: str) -> list[dict[str, Any]]:
    cursor.execute(
        f"SELECT {_STORED} FROM events WHERE stream_id = %s ORDER BY stream_version", (stream_id,)
    )
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


def timeline_html(
    hazard_id: str,
    recorded: list[RecordedEvent],
    time_zone: str,
    checkpoint: Checkpoint | None = None,
    history: dict[str, Any] | None = None,
) -> str:
    """A printable timeline in Chinese: who did what, when, under which rule and deadline."""
    replay = replay_events(recorded, hazard_id)
    zone = ZoneInfo(time_zone)
    state = replay.state
    facts: list[tuple[str, str]] = []
    if state is not None:
        registered = recorded[0].data
        facts = [
            ("隐患编号", state.hazard_id),
            ("生产经营单位", f"{state.enterprise_name}（{state.credit_code}）"),
            ("隐患等级", "重大事故隐患" if state.hazard_class.value == "major" else "一般事故隐患"),
            ("判定依据", state.checklist_clause or "—"),
            (
                "督办策略",
                f"{registered.get('policy_name', '—')} {registered.get('policy_version', '')}",
            ),
            ("当前状态", STATUS_LABELS.get(state.status.value, state.status.value)),
            (
                "督办层级",
                f"{LEVEL_LABELS.get(state.supervising_level.value, state.supervising_level.value)}"
                f"（{state.supervising_unit_code}）",
            ),
            (
                "挂牌督办",
                LEVEL_LABELS.get(state.listing.level.value, state.listing.level.value)
                if state.listing
                else "未挂牌",
            ),
        ]
    if checkpoint is not None:
        facts.append(
            ("签名检查点", f"第 {checkpoint.position} 号事件，{checkpoint.signed_at} 签署")
        )
    if history is not None:
        facts.append(
            (
                "工作流历史",
                "已导出并随卷附上"
                if history.get("included")
                else ("已记录但缺失：" + str(history.get("problem", "")))
                if history.get("recorded")
                else "尚未导出",
            )
        )
    rows = []
    for entry in replay.timeline:
        when = datetime.fromisoformat(entry.recorded_at).astimezone(zone)
        rule = "；".join(
            "{}：{}".format(*describe_detail(k, v, zone)) for k, v in entry.details.items()
        )
        rows.append(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                entry.stream_version,
                html.escape(when.strftime("%Y-%m-%d %H:%M:%S")),
                html.escape(f"{entry.actor_id}（{_role(entry.actor_role)}）"),
                html.escape(LABELS.get(entry.event_type, entry.label)),
                html.escape(rule),
            )
        )
    fact_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts
    )
    body = "\n".join(rows)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>一案一档 {html.escape(hazard_id)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }}
@media print {{ body {{ margin: 0; }} tr {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>隐患督办案卷（一案一档）</h1>
<table>{fact_rows}</table>
<h2>办理过程</h2>
<table><thead><tr><th>序号</th><th>记录时间（{html.escape(time_zone)}）</th><th>办理人</th>
<th>事项</th><th>依据与期限</th></tr></thead>
<tbody>
{body}
</tbody></table>
<p>本案卷由 duban 从只增不改、哈希链防篡改的事件库导出；
可用 verify_dossier.py 离线核验（请用督办机关公布的公钥核对签名）。</p>
</body></html>
"""


_ROLES = {
    "inspector": "检查员",
    "supervisor": "监管人员",
    "enterprise": "生产经营单位",
    "admin": "管理员",
    "auditor": "审计人员",
    "system": "系统",
}


def _role(role: str) -> str:
    return _ROLES.get(role, role)
