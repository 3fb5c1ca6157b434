"""What a dossier (一案一档) says, in Chinese, before it is laid out as HTML or PDF.

Built from the case's stored events only (and the names of grid units the reference data
knows, for a code no event names): the summary, true at every stage of the case (listed,
de-listed, superseded by a higher listing, referred, closed, withdrawn); the timeline; the
documents and files the events name; the chain and the checkpoint. Every instant is shown in
the policy's time zone, which the dossier names. The words are ``domain.case.words``'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from activities.audit.replay import replay_events
from activities.eventstore import Checkpoint, RecordedEvent
from activities.eventstore.checkpoint import key_fingerprint
from domain.case import CaseState
from domain.case.words import (
    BASES,
    DETAILS,
    GRID_LEVELS,
    HAZARD_CATEGORIES,
    HAZARD_CLASSES,
    MODES,
    STATUSES,
    UNIT_DETAILS,
    actor_words,
    coded_words,
    event_kind,
)

Pair = tuple[str, str]


@dataclass(frozen=True)
class TimelineRow:
    number: int  # the event's place in the case's stream
    when: str  # recorded at, in the policy's time zone
    actor: str
    kind: str
    details: tuple[Pair, ...]


@dataclass(frozen=True)
class DocumentRow:
    title: str
    number: str
    issued: str
    event_number: int


@dataclass(frozen=True)
class IssuedRow:
    """A document issued for the case (已印发文书), as its ``DocumentIssued`` event records it."""

    number: str  # 文号
    title: str
    signed_on: str  # 成文日期
    sha256: str  # of the PDF as issued
    member: str  # where its PDF is in the archive, or why it is not


@dataclass(frozen=True)
class FileRow:
    name: str
    sha256: str
    attached_to: str
    event_number: int


@dataclass
class DossierView:
    hazard_id: str
    title: str
    zone: str  # the time zone, named: ``Asia/Shanghai（UTC+08:00）``
    summary: list[Pair] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)
    documents: list[DocumentRow] = field(default_factory=list)
    issued: list[IssuedRow] = field(default_factory=list)
    files: list[FileRow] = field(default_factory=list)
    record: list[Pair] = field(default_factory=list)  # the chain, checkpoint and history
    exported_at: datetime | None = None

    def all_text(self) -> str:
        """Every character the dossier prints (what its font must cover)."""
        parts = [self.hazard_id, self.title, self.zone]
        for pairs in (self.summary, self.record):
            parts += [text for pair in pairs for text in pair]
        for row in self.timeline:
            parts += [str(row.number), row.when, row.actor, row.kind]
            parts += [text for pair in row.details for text in pair]
        for doc in self.documents:
            parts += [doc.title, doc.number, doc.issued, str(doc.event_number)]
        for i in self.issued:
            parts += [i.number, i.title, i.signed_on, i.sha256, i.member]
        for f in self.files:
            parts += [f.name, f.sha256, f.attached_to, str(f.event_number)]
        return "".join(parts)


class Clock:
    """Instants in the policy's time zone."""

    def __init__(self, time_zone: str) -> None:
        self.zone = ZoneInfo(time_zone)
        self.name = time_zone

    def local(self, value: str | datetime, seconds: bool = False) -> str:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def zoned(self, value: str | datetime) -> str:
        return f"{self.local(value, seconds=True)}（{self.name}）"

    def label(self, at: datetime) -> str:
        offset = at.astimezone(self.zone).strftime("%z")
        return f"{self.name}（UTC{offset[:3]}:{offset[3:]}）"


def unit_names(
    events: Sequence[RecordedEvent], known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Grid unit code → name as recorded: the registration's grid path, the listings'
    authorities and the escalations' units; the reference data's names for the rest."""
    names = dict(known or {})
    for event in events:
        data = event.data
        for unit in data.get("grid_path") or ():
            if isinstance(unit, dict) and unit.get("code") and unit.get("name"):
                names[str(unit["code"])] = str(unit["name"])
        if data.get("authority_unit_code") and data.get("authority_name"):
            names[str(data["authority_unit_code"])] = str(data["authority_name"])
        if data.get("unit_code") and data.get("unit_name"):
            names[str(data["unit_code"])] = str(data["unit_name"])
    return names


def unit_codes(events: Sequence[RecordedEvent]) -> set[str]:
    """Every grid unit code the events name (to look up those no event names)."""
    return {str(e.data[k]) for e in events for k in UNIT_DETAILS if e.data.get(k)}


def build_view(
    hazard_id: str,
    events: Sequence[RecordedEvent],
    time_zone: str,
    *,
    names: Mapping[str, str] | None = None,
    checkpoint: Checkpoint | None = None,
    checkpoint_note: str = "",
    history: Mapping[str, Any] | None = None,
    exported_at: datetime | None = None,
    issued: Sequence[Mapping[str, Any]] = (),
) -> DossierView:
    clock = Clock(time_zone)
    units = unit_names(events, names)
    replay = replay_events(list(events), hazard_id)
    moment = exported_at or (events[-1].recorded_at if events else datetime.now().astimezone())
    view = DossierView(hazard_id, "隐患督办案卷（一案一档）", clock.label(moment))
    view.exported_at = exported_at
    view.summary = _summary(replay.state, events, clock, units)
    for entry in replay.timeline:
        details = tuple(_detail(k, v, clock, units) for k, v in entry.details.items())
        view.timeline.append(
            TimelineRow(
                entry.stream_version,
                clock.local(entry.recorded_at, seconds=True),
                actor_words(entry.actor_id, entry.actor_role),
                event_kind(entry.event_type),
                details,
            )
        )
    view.documents = _documents(events, clock)
    view.issued = [_issued(entry) for entry in issued]
    view.files = _files(events)
    view.record = _record(events, clock, checkpoint, checkpoint_note, history, exported_at)
    return view


def _unit(code: Any, units: Mapping[str, str]) -> str:
    text = str(code)
    return units.get(text) or f"{text}（名称未登记）"


def _detail(key: str, value: Any, clock: Clock, units: Mapping[str, str]) -> Pair:
    label = DETAILS.get(key, key)
    if key in UNIT_DETAILS:
        return label, _unit(value, units)
    coded = coded_words(key, value)
    if coded is not None:
        return label, coded
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and "T" in value:
        try:
            return label, clock.local(value)
        except ValueError:
            return label, value
    return label, str(value)


def _summary(
    state: CaseState | None,
    events: Sequence[RecordedEvent],
    clock: Clock,
    units: Mapping[str, str],
) -> list[Pair]:
    if state is None:
        return [("隐患编号", "—")]
    registered = events[0].data
    status = STATUSES.get(state.status.value, state.status.value)
    if state.referred and state.status.value != "referred":
        status += "（曾移送执法）"
    facts: list[Pair] = [
        ("隐患编号", state.hazard_id),
        ("生产经营单位", f"{state.enterprise_name}（统一社会信用代码 {state.credit_code}）"),
        ("隐患描述", str(registered.get("description", "—"))),
        ("隐患部位", str(registered.get("location", "—"))),
        (
            "隐患级别",
            HAZARD_CLASSES.get(state.hazard_class.value, state.hazard_class.value),
        ),
        ("隐患类别", HAZARD_CATEGORIES.get(state.category.value, state.category.value)),
        ("判定依据", state.checklist_clause or "—"),
        ("整改方式", MODES.get(state.mode.value, state.mode.value)),
        ("登记时间", clock.local(state.registered_at)),
        (
            "督办策略",
            f"{registered.get('policy_name', '—')} {registered.get('policy_version', '')}".strip(),
        ),
        ("当前状态", status),
        (
            "督办单位",
            f"{_unit(state.supervising_unit_code, units)}"
            f"（{GRID_LEVELS.get(state.supervising_level.value, state.supervising_level.value)}，"
            f"责任人 {state.supervising_person}）",
        ),
        ("整改期限", clock.local(state.deadline) if state.deadline else "—"),
        ("升级次数", f"{state.escalation_index}次"),
        ("挂牌督办", _listing_story(state, events, clock, units)),
        ("移送执法", _referral_story(events, clock, units)),
        ("办结情况", _ending(events, clock)),
    ]
    return facts


def _listing_story(
    state: CaseState, events: Sequence[RecordedEvent], clock: Clock, units: Mapping[str, str]
) -> str:
    """Every listing the case had and how each ended: still listed, superseded by a higher
    listing (提级), de-listed (摘牌) — so that a case listed and then de-listed never reads as
    one never listed."""
    lines: list[str] = []
    ended: dict[str, str] = {}
    order: list[str] = []
    described: dict[str, str] = {}
    for event in events:
        d = event.data
        if event.event_type == "HazardListed":
            number = str(d["listing_no"])
            order.append(number)
            level = GRID_LEVELS.get(str(d["level"]), str(d["level"]))
            described[number] = (
                f"{level}挂牌督办（编号 {number}，{_unit(d['authority_unit_code'], units)}，"
                f"{clock.local(d['at'])}）"
            )
            if d.get("supersedes"):
                ended[str(d["supersedes"])] = (
                    f"已于{clock.local(d['at'])}由{level}挂牌 {number} 提级取代"
                )
        elif event.event_type == "HazardDelisted":
            basis = BASES.get(str(d.get("basis")), str(d.get("basis")))
            ended[str(d["listing_no"])] = f"已于{clock.local(d['at'])}摘牌（{basis}）"
    if not order:
        return "未挂牌"
    current = state.listing.listing_no if state.listing else None
    for number in order:
        status = "挂牌中" if number == current else ended.get(number, "已结束")
        lines.append(f"{described[number]}：{status}")
    return "；".join(lines)


def _referral_story(events: Sequence[RecordedEvent], clock: Clock, units: Mapping[str, str]) -> str:
    told = [
        f"{clock.local(e.data['at'])}移送{_unit(e.data.get('authority_unit_code', ''), units)}"
        f"（{BASES.get(str(e.data.get('ground')), str(e.data.get('ground')))}）"
        for e in events
        if e.event_type == "EnforcementReferred"
    ]
    return "；".join(told) if told else "未移送"


def _ending(events: Sequence[RecordedEvent], clock: Clock) -> str:
    for event in reversed(events):
        d = event.data
        if event.event_type == "CaseClosed":
            return f"已于{clock.local(d['at'])}销号（{BASES.get(str(d.get('basis')), '—')}）"
        if event.event_type == "CaseWithdrawn":
            return f"已于{clock.local(d['at'])}撤销督办（理由：{d.get('reason', '—')}）"
    return "尚在办理中"


_NUMBERED: Mapping[str, tuple[str, str]] = {
    "RectificationNoticeIssued": ("隐患整改通知书", "notice_no"),
    "HazardListed": ("挂牌督办通知", "listing_no"),
    "HazardDelisted": ("摘牌通知", "listing_no"),
}
_DECISIONS: Mapping[str, str] = {
    "CaseEscalated": "督办函",
    "ExtensionApproved": "延期审批决定（批准）",
    "ExtensionRejected": "延期审批决定（不予延期）",
    "VerificationPassed": "复查意见书（合格）",
    "VerificationFailed": "复查意见书（不合格）",
    "EnforcementReferred": "移送书",
    "CaseClosed": "销号通知",
}


def _documents(events: Sequence[RecordedEvent], clock: Clock) -> list[DocumentRow]:
    """The documents the case's events make: those with a number recorded (通知书, 挂牌),
    and the decisions each event stands for."""
    rows: list[DocumentRow] = []
    for event in events:
        d = event.data
        issued = clock.local(d["at"]) if d.get("at") else clock.local(event.recorded_at)
        if event.event_type == "ListingPublished":
            title = "挂牌督办公告" if d.get("kind") == "listing" else "摘牌公告"
            rows.append(
                DocumentRow(title, str(d.get("listing_no", "—")), issued, event.stream_version)
            )
        elif event.event_type in _NUMBERED:
            title, key = _NUMBERED[event.event_type]
            rows.append(DocumentRow(title, str(d.get(key) or "—"), issued, event.stream_version))
        elif event.event_type in _DECISIONS:
            if event.event_type == "CaseEscalated" and "supervision_letter" not in (
                d.get("steps") or ()
            ):
                continue
            rows.append(
                DocumentRow(_DECISIONS[event.event_type], "—", issued, event.stream_version)
            )
    return rows


def _issued(entry: Mapping[str, Any]) -> IssuedRow:
    """One entry of the manifest's ``issued_documents``."""
    member = str(entry["member"]) if entry.get("included") else "未收入本案卷（见 MANIFEST.json）"
    return IssuedRow(
        str(entry["number"]),
        str(entry["title"]),
        str(entry["signed_on"]),
        str(entry["sha256"]),
        member,
    )


def _files(events: Sequence[RecordedEvent]) -> list[FileRow]:
    """The evidence (照片、文书) the events name, with the SHA-256 each recorded."""
    rows: list[FileRow] = []
    for event in events:
        for item in event.data.get("evidence") or ():
            if not isinstance(item, dict) or not item.get("sha256"):
                continue
            name = str(item.get("name") or item.get("filename") or item.get("uri") or "—")
            rows.append(
                FileRow(
                    name, str(item["sha256"]), event_kind(event.event_type), event.stream_version
                )
            )
    return rows


def _record(
    events: Sequence[RecordedEvent],
    clock: Clock,
    checkpoint: Checkpoint | None,
    checkpoint_note: str,
    history: Mapping[str, Any] | None,
    exported_at: datetime | None,
) -> list[Pair]:
    facts: list[Pair] = []
    if events:
        facts.append(
            (
                "案件事件",
                f"共 {len(events)} 条，库内位置 {events[0].position}–{events[-1].position}，"
                f"末条哈希 {events[-1].hash.hex()}",
            )
        )
    if checkpoint is not None:
        facts.append(
            (
                "签名检查点",
                f"位置 {checkpoint.position}，哈希 {checkpoint.hash.hex()}，"
                f"{clock.zoned(checkpoint.signed_at)}签署，"
                f"签名公钥指纹 {key_fingerprint(checkpoint.public_key).removeprefix('key ')}"
                + (f"；{checkpoint_note}" if checkpoint_note else ""),
            )
        )
    if history is not None:
        if history.get("included"):
            text = f"已导出并随卷附上（SHA-256 {history.get('sha256')}）"
            if history.get("exported_now"):
                text += "；本次导出案卷时导出并记录"
        elif history.get("recorded"):
            text = "已记录但缺失：" + str(history.get("problem", ""))
        elif history.get("running"):
            text = "案件工作流仍在运行，办结后导出"
        else:
            text = "尚未导出"
        facts.append(("工作流历史", text))
    if exported_at is not None:
        facts.append(("案卷导出时间", clock.zoned(exported_at)))
    return facts
