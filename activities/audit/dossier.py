"""The case dossier (一案一档): one self-contained archive an auditor takes away.

``events.jsonl`` (the case's events exactly as stored, with their hash links),
``chain.jsonl`` (the links of the whole chain from the case's first event to the head, without
other cases' content), ``checkpoint.json`` (the head, signed with the key outside the
database), ``workflow-history.json`` (the Temporal history, when exported), ``timeline.html``
(Chinese, printable) and ``MANIFEST.json`` with every file's SHA-256, itself signed
(``MANIFEST.sig``). ``deploy/verify_dossier.py`` checks it with the standard library only.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from activities.audit.replay import replay_events
from activities.eventstore import EventStore
from activities.eventstore.checkpoint import public_key_bytes, sign_checkpoint
from workflows.ids import case_stream_id

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
    history_file: Path | None = None,
    time_zone: str = "Asia/Shanghai",
) -> dict[str, Any]:
    """Write the dossier of ``hazard_id`` to ``out``; returns what it holds."""
    stream = case_stream_id(hazard_id)
    raw = store.engine.raw_connection()
    try:
        # One consistent snapshot; the pooled connection gets its defaults back below.
        raw.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cursor: Any = raw.cursor()
        cursor.execute(
            f"SELECT {_STORED} FROM events WHERE stream_id = %s ORDER BY stream_version",
            (stream,),
        )
        events = [dict(zip(_FIELDS, row, strict=True)) for row in cursor.fetchall()]
        if not events:
            raise DossierError(f"hazard_id: no events for {hazard_id}")
        cursor.execute(
            "SELECT position, encode(prev_hash, 'hex'), encode(hash, 'hex') FROM events"
            " WHERE position >= %s ORDER BY position",
            (events[0]["position"],),
        )
        links = [{"position": p, "prev_hash": ph, "hash": h} for p, ph, h in cursor.fetchall()]
        raw.rollback()
    finally:
        raw.rollback()
        raw.set_session(isolation_level="DEFAULT", readonly="DEFAULT")
        raw.close()
    head = links[-1]
    checkpoint = sign_checkpoint(
        key, head["position"], bytes.fromhex(head["hash"]), datetime.now(UTC)
    )
    files: dict[str, bytes] = {
        "events.jsonl": _jsonl(events),
        "chain.jsonl": _jsonl(links),
        "checkpoint.json": checkpoint.to_json().encode(),
    }
    if history_file is not None and history_file.is_file():
        files["workflow-history.json"] = history_file.read_bytes()
    recorded = store.read_stream(stream)
    files["timeline.html"] = timeline_html(hazard_id, recorded, time_zone).encode()
    manifest = json.dumps(
        {
            "dossier": "duban 一案一档",
            "hazard_id": hazard_id,
            "exported_at": datetime.now(UTC).isoformat(),
            "public_key": public_key_bytes(key).hex(),
            "chain_scheme": "duban/1",
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        },
        ensure_ascii=False,
        indent=2,
        sort_keys=True,
    ).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("MANIFEST.json", manifest)
        archive.writestr("MANIFEST.sig", key.sign(manifest).hex())
    return {
        "path": str(out),
        "events": len(events),
        "links": len(links),
        "checkpoint": head["position"],
        "files": sorted([*files, "MANIFEST.json"]),
    }


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return buffer.getvalue().encode()


def timeline_html(hazard_id: str, recorded: list[Any], time_zone: str) -> str:
    """A printable timeline in Chinese: who did what, when, under which rule and deadline."""
    replay = replay_events(recorded, hazard_id)
    zone = ZoneInfo(time_zone)
    state = replay.state
    facts = []
    if state is not None:
        facts = [
            ("隐患编号", state.hazard_id),
            ("生产经营单位", f"{state.enterprise_name}（{state.credit_code}）"),
            ("隐患等级", "重大事故隐患" if state.hazard_class.value == "major" else "一般事故隐患"),
            ("当前状态", state.status.value),
            ("督办层级", f"{state.supervising_level.value} {state.supervising_unit_code}"),
        ]
    rows = "\n".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}<br><small>{}</small></td>"
        "<td>{}</td></tr>".format(
            entry.stream_version,
            html.escape(
                datetime.fromisoformat(entry.recorded_at)
                .astimezone(zone)
                .strftime("%Y-%m-%d %H:%M:%S")
            ),
            html.escape(f"{entry.actor_id}（{entry.actor_role}）"),
            html.escape(entry.label),
            html.escape(entry.event_type),
            html.escape("；".join(f"{k}: {v}" for k, v in entry.details.items())),
        )
        for entry in replay.timeline
    )
    fact_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>一案一档 {html.escape(hazard_id)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }}
small {{ color: #555; }}
@media print {{ body {{ margin: 0; }} tr {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>隐患督办案卷（一案一档）</h1>
<table>{fact_rows}</table>
<h2>办理过程</h2>
<table><thead><tr><th>序号</th><th>记录时间（{html.escape(time_zone)}）</th><th>办理人</th>
<th>事项</th><th>依据与期限</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p><small>本案卷由 duban 从只增不改、哈希链防篡改的事件库导出；
可用 verify_dossier.py 离线核验。</small></p>
</body></html>
"""
