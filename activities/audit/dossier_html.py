"""The dossier's printable HTML (``timeline.html``): the ``DossierView`` as one page."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from activities.audit.dossier_view import DossierView, Pair, build_view
from activities.eventstore import Checkpoint, RecordedEvent

FOOTNOTE = (
    "本案卷由 duban 从只增不改、哈希链防篡改的事件库导出；"
    "可用 verify_dossier.py 离线核验（请用督办机关公布的公钥核对签名）。"
)


def timeline_html(
    hazard_id: str,
    recorded: Sequence[RecordedEvent],
    time_zone: str,
    checkpoint: Checkpoint | None = None,
    history: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """A printable dossier in Chinese: who did what, when, under which rule and deadline."""
    view = build_view(
        hazard_id, recorded, time_zone, names=names, checkpoint=checkpoint, history=history
    )
    return render_html(view)


def _facts(pairs: Sequence[Pair]) -> str:
    return "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in pairs)


def render_html(view: DossierView) -> str:
    e = html.escape
    rows = "\n".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            row.number,
            e(row.when),
            e(row.actor),
            e(row.kind),
            e("；".join(f"{k}：{v}" for k, v in row.details)),
        )
        for row in view.timeline
    )
    documents = "\n".join(
        f"<tr><td>{e(d.title)}</td><td>{e(d.number)}</td><td>{e(d.issued)}</td>"
        f"<td>{d.event_number}</td></tr>"
        for d in view.documents
    )
    issued = "\n".join(
        f"<tr><td>{e(i.number)}</td><td>{e(i.title)}</td><td>{e(i.signed_on)}</td>"
        f"<td><code>{e(i.sha256)}</code></td><td>{e(i.member)}</td></tr>"
        for i in view.issued
    )
    files = "\n".join(
        f"<tr><td>{e(f.name)}</td><td><code>{e(f.sha256)}</code></td>"
        f"<td>{e(f.attached_to)}</td><td>{f.event_number}</td></tr>"
        for f in view.files
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>一案一档 {e(view.hazard_id)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1em; }}
th, td {{ border: 1px solid #999; padding: 4px 6px; vertical-align: top; text-align: left; }}
code {{ word-break: break-all; }}
@media print {{ body {{ margin: 0; }} tr {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>{e(view.title)}</h1>
<p>本案卷所有时间均为 {e(view.zone)} 时间。</p>
<h2>案件摘要</h2>
<table>{_facts(view.summary)}</table>
<h2>办理过程</h2>
<table><thead><tr><th>序号</th><th>记录时间（{e(view.zone)}）</th><th>办理人</th>
<th>事项</th><th>依据与期限</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>文书目录</h2>
<table><thead><tr><th>文书</th><th>编号</th><th>日期（{e(view.zone)}）</th><th>事件序号</th>
</tr></thead>
<tbody>
{documents or '<tr><td colspan="4">无</td></tr>'}
</tbody></table>
<h3>已印发文书</h3>
<table><thead><tr><th>文号</th><th>标题</th><th>成文日期</th><th>PDF 的 SHA-256</th>
<th>案卷内文件</th></tr></thead>
<tbody>
{issued or '<tr><td colspan="5">无</td></tr>'}
</tbody></table>
<h2>附件（证据文件）</h2>
<table><thead><tr><th>文件</th><th>SHA-256</th><th>所属事项</th><th>事件序号</th></tr></thead>
<tbody>
{files or '<tr><td colspan="4">无</td></tr>'}
</tbody></table>
<h2>防篡改记录</h2>
<table>{_facts(view.record)}</table>
<p>{e(FOOTNOTE)}</p>
</body></html>
"""
