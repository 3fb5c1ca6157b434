"""Replay a case from stored events only, as of any instant, with the domain's own ``evolve``.

"As of" means *what duban knew then*: events whose ``recorded_at`` (the database clock at the
append) is at or before the instant. ``by="occurred"`` uses the business time instead. Either
way nothing but the stored events is read: no workflow, no read model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from activities.eventstore import EventStore, RecordedEvent
from domain.case import CaseState, event_from_data, evolve, state_to_data
from domain.durations import utc_instant
from domain.errors import DomainError
from workflows.ids import case_stream_id

# Labels an inspector from the field recognises (一案一档 timeline).
LABELS: dict[str, str] = {
    "HazardRegistered": "登记隐患",
    "RectificationNoticeIssued": "下达整改通知书",
    "NoticeAwaitingCalendar": "整改通知书待发: 缺少节假日安排",
    "HazardListed": "挂牌督办",
    "GovernancePlanSubmitted": "提交治理方案",
    "RectificationReported": "申请验收",
    "VerificationPassed": "验收合格",
    "VerificationFailed": "验收不合格, 重新整改",
    "VerificationOverdue": "逾期未复查",
    "ExtensionRequested": "申请延期",
    "ExtensionApproved": "批准延期",
    "ExtensionRejected": "驳回延期",
    "RefusalRecorded": "记录拒不整改",
    "EnforcementReferred": "移送执法",
    "CaseWithdrawn": "撤销督办",
    "ReminderDue": "到期提醒",
    # Edition 4: duban was down when it was due, and its deadline had passed when it noticed.
    "ReminderLapsed": "到期提醒未发出（系统未运行，期限已过）",
    "DeadlineMissed": "逾期未整改",
    "CaseEscalated": "逐级升级督办",
    "HazardDelisted": "摘牌",
    "CreditTriggerRaised": "触发信用记录",
    "CaseClosed": "销号",
    # Edition 5: self-inspection (企业自查).
    "SelfReportAwaitingAcceptance": "企业自查重大隐患: 待监管单位受理",
    "SelfReportAccepted": "受理企业自查重大隐患",
    "SelfReportAcceptanceOverdue": "受理超时, 逐级催办",
}
# Fields of an event that say which rule or deadline applied.
DETAIL_FIELDS = (
    "policy_name",
    "policy_version",
    "checklist_clause",
    "deadline",
    "new_deadline",
    "requested_deadline",
    "review_by",
    "decide_by",
    "grid_level",
    "unit_code",
    "responsible_person",
    "steps",
    "level",
    "listing_no",
    "authority_unit_code",
    "basis",
    "ground",
    "kind",
    "reason",
    "comments",
    "escalation_index",
    "timer_key",
    "due_at",
    "missing_year",
    "awaited_year",
    "calendar_digest",
)


# Chinese names of the codes an inspector reads in a dossier (一案一档).
STATUS_LABELS: dict[str, str] = {
    "rectifying": "整改中",
    "reported": "已申请验收，待复查",
    "escalated": "逾期升级督办中",
    "referred": "已移送执法",
    "closed": "已销号",
    "withdrawn": "已撤销督办",
}
LEVEL_LABELS: dict[str, str] = {
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "乡镇（街道）级",
    "village": "村（社区）级",
}
STEP_LABELS: dict[str, str] = {
    "supervision_letter": "督办函",
    "public_criticism": "通报",
    "summons": "约谈",
    "listing_level_raise": "提级挂牌",
    "suspension_order": "停产整顿",
    "enforcement_referral": "移送执法",
}
BASIS_LABELS: dict[str, str] = {
    "immediate": "立改立销",
    "verified": "验收合格",
    "withdrawn": "撤销督办",
    "refusal": "拒不整改",
    "ladder_step": "升级督办措施规定移送",
    "overdue_at_top": "升级至顶仍逾期",
}
DETAIL_LABELS: dict[str, str] = {
    "policy_name": "督办策略",
    "policy_version": "策略版本",
    "checklist_clause": "重大事故隐患判定标准条款",
    "deadline": "整改期限",
    "new_deadline": "延期后期限",
    "requested_deadline": "申请延期至",
    "review_by": "复查期限",
    "decide_by": "审批期限",
    "grid_level": "督办层级",
    "unit_code": "督办单位",
    "responsible_person": "责任人",
    "steps": "督办措施",
    "level": "挂牌层级",
    "listing_no": "挂牌编号",
    "authority_unit_code": "决定机关",
    "basis": "依据",
    "ground": "移送理由",
    "kind": "类别",
    "reason": "理由",
    "comments": "意见",
    "escalation_index": "第几次升级",
    "timer_key": "计时",
    "due_at": "应提醒时间",
    "missing_year": "缺少节假日安排的年份 (待管理员载入)",
    "awaited_year": "等待载入的年份",
    "calendar_digest": "计算期限所用该年工作日 (SHA-256)",
}


def describe_detail(key: str, value: Any, zone: Any) -> tuple[str, str]:
    """(Chinese label, readable value) of one timeline detail: levels, steps and bases in
    Chinese, instants in the case's local time."""
    label = DETAIL_LABELS.get(key, key)
    if key in ("grid_level", "level"):
        return label, LEVEL_LABELS.get(str(value), str(value))
    if key == "steps" and isinstance(value, list):
        return label, "、".join(STEP_LABELS.get(str(step), str(step)) for step in value)
    if key in ("basis", "ground"):
        return label, BASIS_LABELS.get(str(value), str(value))
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return label, value
        if moment.tzinfo is not None:
            return label, moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return label, str(value)


@dataclass
class TimelineEntry:
    position: int
    stream_version: int
    event_type: str
    label: str
    actor_id: str
    actor_role: str
    recorded_at: str
    occurred_at: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseReplay:
    hazard_id: str
    as_of: datetime | None
    by: str
    state: CaseState | None
    timeline: list[TimelineEntry]
    events_total: int

    def to_data(self) -> dict[str, Any]:
        return {
            "hazard_id": self.hazard_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "by": self.by,
            "events_applied": len(self.timeline),
            "events_total": self.events_total,
            "state": state_to_data(self.state),
            "timeline": [entry.__dict__ for entry in self.timeline],
        }


def replay_events(
    events: list[RecordedEvent],
    hazard_id: str,
    as_of: datetime | None = None,
    by: Literal["recorded", "occurred"] = "recorded",
) -> CaseReplay:
    cutoff = None
    if as_of is not None:
        try:  # the domain's range of instants: converting one outside it could overflow
            cutoff = utc_instant(as_of, "as_of")
        except DomainError as exc:
            raise ValueError(f"as_of: {exc.message}") from exc
    state: CaseState | None = None
    timeline: list[TimelineEntry] = []
    for event in events:
        moment = event.recorded_at if by == "recorded" else event.occurred_at
        if cutoff is not None and moment > cutoff:
            break
        state = evolve(state, event_from_data(event.event_type, event.schema_version, event.data))
        timeline.append(
            TimelineEntry(
                position=event.position,
                stream_version=event.stream_version,
                event_type=event.event_type,
                label=LABELS.get(event.event_type, event.event_type),
                actor_id=str(event.metadata.get("actor_id", "")),
                actor_role=str(event.metadata.get("actor_role", "")),
                recorded_at=event.recorded_at.isoformat(),
                occurred_at=event.occurred_at.isoformat(),
                details={k: event.data[k] for k in DETAIL_FIELDS if event.data.get(k)},
            )
        )
    return CaseReplay(hazard_id, as_of, by, state, timeline, len(events))


def replay_case(
    store: EventStore,
    hazard_id: str,
    as_of: datetime | None = None,
    by: Literal["recorded", "occurred"] = "recorded",
) -> CaseReplay:
    """The case's state and timeline from its stored events, up to ``as_of``."""
    return replay_events(store.read_stream(case_stream_id(hazard_id)), hazard_id, as_of, by)
