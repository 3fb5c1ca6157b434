"""The words of every notice duban sends (通知文本): Chinese first, English switchable.

One template per notification kind the domain produces: the case's (``notifications_for`` in
``domain.case``; the kind is the reason up to its first ``:``) and the credit record's
(``credit_<event type>``, from the credit workflow). A template is a subject and the lines
that follow the case's facts; ``{placeholders}`` are filled by ``domain.notices`` from the
recorded event, times already in the policy's time zone. A kind may have a wording for one
kind of recipient (``kind@enterprise``): an escalation reads differently to the enterprise
than to the supervisor who now answers for it.

Every Chinese subject starts with 【督办】: a work-chat robot whose security setting is a
keyword (DingTalk's 自定义关键词) can use 督办 and pass every notice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    subject: str
    lines: tuple[str, ...]


def _t(subject: str, *lines: str) -> Template:
    return Template(subject, lines)


# The facts every case notice opens with, and every credit notice; then the kind's lines; then
# the link (its label below).
CASE_HEADER = {
    "zh": ("隐患编号：{hazard_id}", "企业：{enterprise}", "隐患：{description}（{hazard_class}）"),
    "en": (
        "Case: {hazard_id}",
        "Enterprise: {enterprise}",
        "Hazard: {description} ({hazard_class})",
    ),
}
CREDIT_HEADER = {
    "zh": ("企业：{enterprise}", "统一社会信用代码：{credit_code}"),
    "en": ("Enterprise: {enterprise}", "Unified social credit code: {credit_code}"),
}
LINK_LABEL = {
    "zh": {"case": "查看案件", "credit": "查看信用记录"},
    "en": {"case": "Open the case", "credit": "Open the credit record"},
}
SUBJECT_PREFIX = {"zh": "【督办】", "en": "[Duban] "}

# A notice of a kind without a template (a kind added to the domain before its words): still
# sent, never dropped, in these general words.
GENERIC = {
    "zh": _t("{subject_id} 有新的进展", "事项：{event_type}（{reason}）"),
    "en": _t("News on {subject_id}", "What happened: {event_type} ({reason})"),
}

TEMPLATES: dict[str, dict[str, Template]] = {
    # ---- the case (隐患督办案件) ----
    "hazard_registered": {
        "zh": _t(
            "隐患已登记：{enterprise}（{hazard_id}）",
            "位置：{location}",
            "整改方式：{mode}",
        ),
        "en": _t(
            "Hazard registered: {enterprise} ({hazard_id})",
            "Location: {location}",
            "Rectification: {mode}",
        ),
    },
    "service_acknowledged": {
        "zh": _t(
            "企业已签收通知：{hazard_id}",
            "签收人：{acknowledged_by}",
            "签收时间：{at}",
        ),
        "en": _t(
            "The enterprise acknowledged service: {hazard_id}",
            "Acknowledged by: {acknowledged_by}",
            "At: {at}",
        ),
    },
    "rectification_notice": {
        "zh": _t(
            "整改通知书 {notice_no}：请于{deadline}前完成整改",
            "整改期限：{deadline}",
            "整改措施：{measures}",
            "整改责任人：{responsible_person}",
        ),
        "en": _t(
            "Rectification notice {notice_no}: rectify by {deadline}",
            "Deadline: {deadline}",
            "Measures: {measures}",
            "Responsible person: {responsible_person}",
        ),
    },
    "hazard_listed": {
        "zh": _t(
            "挂牌督办（{level}）：{hazard_id}",
            "挂牌编号：{listing_no}，挂牌机关：{authority_name}",
            "整改期限：{deadline_or_unchanged}",
            "督办要求：{measures}",
        ),
        "en": _t(
            "Listed for supervision ({level}): {hazard_id}",
            "Listing {listing_no} by {authority_name}",
            "Deadline: {deadline_or_unchanged}",
            "Requirements: {measures}",
        ),
    },
    "governance_plan_submitted": {
        "zh": _t("治理方案已提交：{hazard_id}", "企业已提交重大事故隐患治理方案，请审阅。"),
        "en": _t(
            "Governance plan submitted: {hazard_id}",
            "The enterprise submitted its governance plan for the major hazard; please review it.",
        ),
    },
    "verification_requested": {
        "zh": _t(
            "申请验收：{hazard_id}",
            "企业报告整改完成并申请验收（复查），请于{review_by}前完成复查。",
            "整改情况：{summary}",
        ),
        "en": _t(
            "Verification requested: {hazard_id}",
            "The enterprise reports the rectification done; please verify it by {review_by}.",
            "Report: {summary}",
        ),
    },
    "extension_requested": {
        "zh": _t(
            "延期申请：{hazard_id}",
            "申请延期至：{requested_deadline}",
            "理由：{reasons}",
            "临时安全措施：{interim_safeguards}",
            "请于{decide_by}前审批。",
        ),
        "en": _t(
            "Extension requested: {hazard_id}",
            "Requested deadline: {requested_deadline}",
            "Reasons: {reasons}",
            "Interim safeguards: {interim_safeguards}",
            "Please decide by {decide_by}.",
        ),
    },
    "verification_passed": {
        "zh": _t("验收合格：{hazard_id}", "验收意见：{comments}"),
        "en": _t("Verification passed: {hazard_id}", "Comments: {comments}"),
    },
    "verification_failed": {
        "zh": _t(
            "验收不合格，请于{deadline}前重新整改：{hazard_id}",
            "验收意见：{comments}",
            "新的整改期限：{deadline}",
        ),
        "en": _t(
            "Verification failed, rectify again by {deadline}: {hazard_id}",
            "Comments: {comments}",
            "New deadline: {deadline}",
        ),
    },
    "extension_approved": {
        "zh": _t("延期已批准：{hazard_id}", "新的整改期限：{deadline}", "审批意见：{reason}"),
        "en": _t(
            "Extension approved: {hazard_id}",
            "New deadline: {deadline}",
            "Decision: {reason}",
        ),
    },
    "extension_rejected": {
        "zh": _t("延期未获批准：{hazard_id}", "整改期限不变。", "理由：{reason}"),
        "en": _t("Extension refused: {hazard_id}", "The deadline stands.", "Reason: {reason}"),
    },
    "extension_decision_overdue": {
        "zh": _t(
            "延期申请审批超时（第{alert_no}次催办）：{hazard_id}",
            "延期申请应于{decide_by}前审批，至今未决，请尽快审批。",
        ),
        "en": _t(
            "Extension request undecided (reminder {alert_no}): {hazard_id}",
            "The extension request was to be decided by {decide_by} and is still open; please "
            "decide it now.",
        ),
    },
    "refusal_recorded": {
        "zh": _t("已记录拒不整改：{hazard_id}", "情况：{details}"),
        "en": _t("Refusal to rectify recorded: {hazard_id}", "Details: {details}"),
    },
    "enforcement_referral": {
        "zh": _t("移送执法（{ground}）：{hazard_id}", "移送理由：{ground}", "请依法查处。"),
        "en": _t(
            "Referred for enforcement ({ground}): {hazard_id}",
            "Ground: {ground}",
            "Please take enforcement action.",
        ),
    },
    "enforcement_referral@enterprise": {
        "zh": _t("您单位的隐患已移送执法：{hazard_id}", "移送理由：{ground}"),
        "en": _t("Your hazard was referred for enforcement: {hazard_id}", "Ground: {ground}"),
    },
    "case_withdrawn": {
        "zh": _t("督办已撤销：{hazard_id}", "理由：{reason}"),
        "en": _t("Supervision withdrawn: {hazard_id}", "Reason: {reason}"),
    },
    "deadline_reminder": {
        "zh": _t(
            "整改期限将至（{deadline}）：{hazard_id}",
            "整改期限：{deadline}（提前{before}提醒）",
            "请按期完成整改并申请验收。",
        ),
        "en": _t(
            "Deadline approaching ({deadline}): {hazard_id}",
            "Deadline: {deadline} (reminder {before} ahead)",
            "Please finish the rectification and request verification in time.",
        ),
    },
    "deadline_missed": {
        "zh": _t(
            "逾期未整改：{hazard_id}",
            "整改期限{deadline}已过，未报告整改完成。",
            "案件将按督办规则逐级升级。",
        ),
        "en": _t(
            "Deadline missed: {hazard_id}",
            "The deadline {deadline} passed without a rectification report.",
            "The case escalates up the grid as the policy says.",
        ),
    },
    "verification_overdue": {
        "zh": _t("复查超期：{hazard_id}", "复查应于{review_by}前完成，至今未完成。"),
        "en": _t(
            "Verification overdue: {hazard_id}",
            "The verification was due by {review_by} and has not been done.",
        ),
    },
    "case_escalated": {
        "zh": _t(
            "逐级督办：案件升级至{unit_name}，由您督办：{hazard_id}",
            "督办层级：{level}（第{escalation_index}级）",
            "督办措施：{steps}",
            "新的整改期限：{deadline}",
        ),
        "en": _t(
            "Escalated to {unit_name}, now yours to supervise: {hazard_id}",
            "Level: {level} (rung {escalation_index})",
            "Steps: {steps}",
            "New deadline: {deadline}",
        ),
    },
    "case_escalated@enterprise": {
        "zh": _t(
            "逾期未整改，已升级督办：{hazard_id}",
            "督办单位：{unit_name}（{level}）",
            "督办措施：{steps}",
            "新的整改期限：{deadline}",
        ),
        "en": _t(
            "Overdue and escalated: {hazard_id}",
            "Supervised by: {unit_name} ({level})",
            "Steps: {steps}",
            "New deadline: {deadline}",
        ),
    },
    "case_escalated_from_you": {
        "zh": _t(
            "案件已升级至{unit_name}督办：{hazard_id}",
            "督办层级：{level}，督办措施：{steps}",
            "新的整改期限：{deadline}",
        ),
        "en": _t(
            "Escalated from you to {unit_name}: {hazard_id}",
            "Level: {level}; steps: {steps}",
            "New deadline: {deadline}",
        ),
    },
    "hazard_delisted": {
        "zh": _t(
            "摘牌（{basis}）：{hazard_id}", "挂牌编号：{listing_no}（{level}）", "摘牌依据：{basis}"
        ),
        "en": _t(
            "De-listed ({basis}): {hazard_id}", "Listing {listing_no} ({level})", "Basis: {basis}"
        ),
    },
    "listing_published": {
        "zh": _t(
            "{publication}公告：{listing_no}",
            "挂牌编号：{listing_no}（{level}），已登记于挂牌督办公示名单。",
            "公示期限：{publish_by}",
        ),
        "en": _t(
            "{publication} published: {listing_no}",
            "Listing {listing_no} ({level}) is entered on the public register.",
            "Due by: {publish_by}",
        ),
    },
    "case_closed": {
        "zh": _t("隐患已销号：{hazard_id}", "销号依据：{basis}"),
        "en": _t("Hazard written off: {hazard_id}", "Basis: {basis}"),
    },
    # ---- the credit record (严重失信主体名单, 令第11号) ----
    "credit_ProceedingNoticeIssued": {
        "zh": _t(
            "列入严重失信主体名单告知（{proceeding_no}）",
            "拟将您单位列入安全生产严重失信主体名单。",
            "事实和理由：{reasons}",
            "依据：{basis}",
            "陈述、申辩：{rights}",
            "陈述申辩期限：{objection_until}前，逾期视为放弃。",
        ),
        "en": _t(
            "Notice of intended serious-dishonesty listing ({proceeding_no})",
            "The supervising authority intends to list your enterprise as a seriously dishonest "
            "party (安全生产严重失信主体).",
            "Facts and reasons: {reasons}",
            "Basis: {basis}",
            "Your rights: {rights}",
            "Objections are heard until {objection_until}.",
        ),
    },
    "credit_ListingDecided": {
        "zh": _t(
            "严重失信主体名单决定（{proceeding_no}）：{decision}",
            "决定：{decision}",
            "依据：{basis}",
        ),
        "en": _t(
            "Serious-dishonesty listing decided ({proceeding_no}): {decision}",
            "Decision: {decision}",
            "Basis: {basis}",
        ),
    },
    "credit_BlacklistPublished": {
        "zh": _t(
            "已列入严重失信主体名单并公示（{proceeding_no}）",
            "移出名单日期：{expires_at}",
            "可申请信用修复日期：{early_removal_from}起",
        ),
        "en": _t(
            "Listed and published as a seriously dishonest party ({proceeding_no})",
            "Leaves the list on: {expires_at}",
            "Early removal may be applied for from: {early_removal_from}",
        ),
    },
    "credit_EarlyRemovalApproved": {
        "zh": _t("信用修复已批准，已提前移出名单", "审批意见：{reason}"),
        "en": _t("Early removal approved: off the list", "Decision: {reason}"),
    },
    "credit_EarlyRemovalRejected": {
        "zh": _t("信用修复未获批准", "理由：{reason}"),
        "en": _t("Early removal refused", "Reason: {reason}"),
    },
    "credit_EarlyRemovalRevoked": {
        "zh": _t(
            "信用修复已撤销，恢复列入名单",
            "理由：{reason}",
            "移出名单日期：{expires_at}",
        ),
        "en": _t(
            "Early removal revoked: back on the list",
            "Reason: {reason}",
            "Leaves the list on: {expires_at}",
        ),
    },
    "credit_BlacklistExpired": {
        "zh": _t(
            "名单期满，已移出严重失信主体名单（{proceeding_no}）", "列入期限已满，已自动移出。"
        ),
        "en": _t(
            "List period over: off the serious-dishonesty list ({proceeding_no})",
            "The listing period ended; the entry was removed.",
        ),
    },
}
