"""The words of a case's record (案卷用语): every code a case's events carry, in the Chinese of
the rules, for the dossier (一案一档), the replay timeline and the ledger (台账).

This is the one place these names live: event kinds, roles, statuses, grid and listing levels,
escalation steps, bases and grounds, timers and the labels of the facts an event records. A
code without a name here is shown as it is (a new event kind before its words), never dropped;
``tests/audit/test_dossier_words.py`` checks that every event kind the domain records has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from domain.case.events import EVENT_CLASSES

# Event kinds, as a supervisor from the field names them.
EVENT_KINDS: Mapping[str, str] = {
    "HazardRegistered": "登记隐患",
    "RectificationNoticeIssued": "下达隐患整改通知书",
    "NoticeAwaitingCalendar": "整改通知书待发（缺少节假日安排）",
    "HazardListed": "挂牌督办",
    "ListingPublished": "发布挂牌（摘牌）公告",
    "GovernancePlanSubmitted": "提交重大事故隐患治理方案",
    "RectificationReported": "申请验收（复查）",
    "VerificationPassed": "验收合格",
    "VerificationFailed": "验收不合格，重新整改",
    "VerificationOverdue": "逾期未复查",
    "ExtensionRequested": "申请延期整改",
    "ExtensionApproved": "批准延期整改",
    "ExtensionRejected": "不予延期",
    "ExtensionDecisionOverdue": "延期申请逾期未审批（催办）",
    "RefusalRecorded": "记录拒不整改",
    "EnforcementReferred": "移送执法",
    "CaseWithdrawn": "撤销督办",
    "ReminderDue": "整改期限到期提醒",
    # Edition 4: duban was down when it was due, and its deadline had passed when it noticed.
    "ReminderLapsed": "到期提醒未发出（系统未运行，期限已过）",
    "DeadlineMissed": "逾期未整改",
    "CaseEscalated": "逐级升级督办",
    "HazardDelisted": "摘牌",
    "CreditTriggerRaised": "记入企业安全生产信用记录",
    "CaseClosed": "销号",
    "ServiceAcknowledged": "企业签收通知（送达）",
    "SelfReportAwaitingAcceptance": "企业自查上报重大事故隐患，待监管单位受理",
    "SelfReportAccepted": "受理企业自查上报的重大事故隐患",
    "SelfReportAcceptanceOverdue": "逾期未受理企业自查上报，提请上级督办",
    # The hourly audit job's record of a closed case's workflow history.
    "WorkflowHistoryExported": "导出工作流历史",
    "WorkflowHistoryReexported": "重新导出工作流历史",
}

ROLES: Mapping[str, str] = {
    "inspector": "检查员（网格员）",
    "supervisor": "监管人员",
    "enterprise": "生产经营单位",
    "admin": "系统管理员",
    "auditor": "审计人员",
}
# What a timer does is done by no person: the policy's time limit (时限) ran out.
AUTOMATIC = "时限届满自动办理"

STATUSES: Mapping[str, str] = {
    "rectifying": "整改中",
    "reported": "已申请验收，待复查",
    "escalated": "逾期升级督办中",
    "referred": "已移送执法",
    "closed": "已销号",
    "withdrawn": "已撤销督办",
}
GRID_LEVELS: Mapping[str, str] = {
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "乡镇（街道）级",
    "village": "村（社区）级",
}
HAZARD_CLASSES: Mapping[str, str] = {"general": "一般事故隐患", "major": "重大事故隐患"}
HAZARD_CATEGORIES: Mapping[str, str] = {
    "thing": "物的不安全状态",
    "person": "人的不安全行为",
    "management": "管理上的缺陷",
}
MODES: Mapping[str, str] = {
    "immediate": "立改立销",
    "deadline": "限期整改",
    "listed": "挂牌督办",
}
STEPS: Mapping[str, str] = {
    "supervision_letter": "下达督办函",
    "public_criticism": "通报批评",
    "summons": "约谈企业主要负责人",
    "listing_level_raise": "提级挂牌督办",
    "suspension_order": "责令停产整顿",
    "enforcement_referral": "移送执法",
}
BASES: Mapping[str, str] = {
    "immediate": "立改立销",
    "verified": "验收合格",
    "withdrawn": "撤销督办",
    "refusal": "拒不执行事故隐患整改要求",
    "ladder_step": "经逐级督办，按督办规则移送执法",
    "overdue_at_top": "经逐级督办至最高层级仍逾期未整改",
    "listing_period_ended": "挂牌督办期满仍未整改",
}
PUBLICATIONS: Mapping[str, str] = {"listing": "挂牌公告", "delisting": "摘牌公告"}
CREDIT_KINDS: Mapping[str, str] = {
    "escalation": "逾期升级督办",
    "refusal": "拒不整改",
    "enforcement_referral": "移送执法",
    "overdue_at_top": "一般事故隐患升级至顶仍逾期",
    "major_overdue_at_top": "重大事故隐患升级至顶仍逾期",
}

# The facts of an event that say which rule, deadline, unit or person applied, in the order a
# timeline shows them, with their labels.
DETAILS: Mapping[str, str] = {
    "policy_name": "督办策略",
    "policy_version": "策略版本",
    "checklist_clause": "重大事故隐患判定标准条款",
    "notice_no": "文书编号",
    "measures": "整改措施",
    "deadline": "整改期限",
    "new_deadline": "延期后期限",
    "requested_deadline": "申请延期至",
    "review_by": "复查期限",
    "decide_by": "审批期限",
    "publish_by": "公告期限",
    "grid_level": "督办层级",
    "unit_code": "督办单位",
    "responsible_person": "责任人",
    "steps": "督办措施",
    "level": "挂牌层级",
    "listing_no": "挂牌编号",
    "supersedes": "取代挂牌",
    "authority_unit_code": "决定机关",
    "deciding_unit_code": "审批机关",
    "alerted_unit_code": "催办至",
    "authority_person": "机关负责人",
    "basis": "依据",
    "ground": "移送理由",
    "kind": "类别",
    "reason": "理由",
    "comments": "意见",
    "escalation_index": "升级次数",
    "timer_key": "时限",
    "before": "提前",
    "due_at": "应提醒时间",
    "missing_year": "缺少节假日安排的年份（待管理员载入）",
    "awaited_year": "等待载入的年份",
    "calendar_digest": "计算期限所用该年工作日（SHA-256）",
}
# Which vocabulary a detail's value is a code of.
_CODED: Mapping[str, Mapping[str, str]] = {
    "grid_level": GRID_LEVELS,
    "level": GRID_LEVELS,
    "basis": BASES,
    "ground": BASES,
}
UNIT_DETAILS = frozenset(
    {"unit_code", "authority_unit_code", "deciding_unit_code", "alerted_unit_code"}
)

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_WORKING_DAYS = re.compile(r"^P(?P<n>\d+)WD$")
_UNITS = (("y", "年"), ("mo", "个月"), ("w", "周"), ("d", "日"), ("h", "小时"), ("mi", "分钟"))


def duration_words(text: str) -> str:
    """``P3D`` → ``3日``, ``PT10S`` → ``10秒``, ``P20WD`` → ``20个工作日``; anything else as is."""
    raw = text.strip().upper()
    working = _WORKING_DAYS.match(raw)
    if working:
        return f"{int(working['n'])}个工作日"
    match = _DURATION.match(raw)
    if not match or raw in ("P", "PT"):
        return text
    words = "".join(f"{int(match[k])}{unit}" for k, unit in _UNITS if match[k])
    if match["s"]:
        words += f"{int(match['s'])}秒"
    return words or text


def timer_words(key: str) -> str:
    """A timer's key in words: ``reminder:1:P3D`` → ``第1个整改期限届满前3日的提醒``."""
    parts = key.split(":")
    kind, numbers = parts[0], parts[1:]
    if kind == "deadline" and len(numbers) == 1:
        return f"第{numbers[0]}个整改期限"
    if kind == "reminder" and len(numbers) == 2:
        return f"第{numbers[0]}个整改期限届满前{duration_words(numbers[1])}的提醒"
    if kind == "review" and len(numbers) == 1:
        return f"第{numbers[0]}次验收申请的复查时限"
    if kind == "decision" and len(numbers) == 1:
        return f"第{numbers[0]}次延期申请的审批时限"
    if kind == "decision" and len(numbers) == 2:
        return f"第{numbers[0]}次延期申请的审批时限（第{numbers[1]}次催办）"
    return key


def event_kind(event_type: str) -> str:
    return EVENT_KINDS.get(event_type, event_type)


def role_words(role: str) -> str:
    return ROLES.get(role, role)


def actor_words(actor_id: str, role: str) -> str:
    """Who did it: the person as recorded with their role, or the time limit for a timer."""
    if role == "system" or (not role and actor_id == "system"):
        return AUTOMATIC
    if not role:
        return actor_id or "—"
    return f"{actor_id}（{role_words(role)}）" if actor_id else role_words(role)


def coded_words(key: str, value: object) -> str | None:
    """The words of a coded detail (a level, a step list, a basis, a timer), or None when the
    detail is not a code."""
    if key in _CODED:
        return _CODED[key].get(str(value), str(value))
    if key == "steps" and isinstance(value, list | tuple):
        return "、".join(STEPS.get(str(step), str(step)) for step in value)
    if key == "kind":
        text = str(value)
        return PUBLICATIONS.get(text) or CREDIT_KINDS.get(text) or text
    if key == "timer_key":
        return timer_words(str(value))
    if key == "before":
        return duration_words(str(value))
    if key == "escalation_index":
        return f"第{value}次"
    return None


def missing_event_kinds() -> list[str]:
    """The event kinds the case records that have no words here (the test keeps it empty)."""
    return [cls.EVENT_TYPE for cls in EVENT_CLASSES if cls.EVENT_TYPE not in EVENT_KINDS]
