"""Rendering a queued notification into the words people read (pure).

Input: the notification as the outbox holds it (``QueuedNotice.from_payload``: the step key,
the reason, the recipient and the recorded event's data), the facts of its case or credit
record, a language and the console's public base URL. Output: a subject, a plain text, a
Markdown text and the link to the case in the console. The words are in
``domain.notice_texts``; every instant is shown on the wall clock of the policy's time zone
(2026年12月31日 17:00), the end of a day as 24:00 of that day, as notices write it.

Why here, in domain/: the texts speak the domain's own vocabulary (levels, steps, grounds,
the objection window) about recorded events, they are pure functions of those events, and
both the outbox's channels (activities/) and the console's inbox (api/) render them — domain/
is the package both may import, and its contract keeps rendering free of I/O and clocks.
Rendering never fails for a notice duban has accepted: a kind without words, or an event that
lacks a value its words need, is rendered in general words (``template == "generic"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.case.events import HazardRegistered
from domain.durations import PolicyDuration
from domain.errors import DomainError
from domain.notice_texts import (
    CASE_HEADER,
    CREDIT_HEADER,
    GENERIC,
    LINK_LABEL,
    SUBJECT_PREFIX,
    TEMPLATES,
    Template,
)

LANGUAGES = ("zh", "en")

# ------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class CaseFacts:
    """What every notice of a case states about it (from its HazardRegistered)."""

    hazard_id: str
    enterprise_name: str
    description: str
    location: str
    hazard_class: str  # "general" | "major"
    mode: str  # "immediate" | "deadline" | "listed"
    time_zone: str

    @staticmethod
    def of_registration(event: HazardRegistered) -> CaseFacts:
        return CaseFacts(
            hazard_id=event.hazard_id,
            enterprise_name=event.enterprise_name,
            description=event.description,
            location=event.location,
            hazard_class=event.hazard_class.value,
            mode=event.mode.value,
            time_zone=event.time_zone,
        )


@dataclass(frozen=True)
class CreditFacts:
    """What every notice of an enterprise's credit record states about it."""

    credit_code: str
    enterprise_name: str
    time_zone: str


Facts = CaseFacts | CreditFacts


@dataclass(frozen=True)
class QueuedNotice:
    """One notification as queued in the outbox (``enqueue_notifications``' payload)."""

    step_key: str
    reason: str
    event_type: str
    recipient_kind: str
    recipient_id: str
    event: Mapping[str, Any] = field(default_factory=dict)

    @staticmethod
    def from_payload(payload: Mapping[str, Any]) -> QueuedNotice:
        recipient = payload.get("recipient") or {}
        event = payload.get("event")
        return QueuedNotice(
            step_key=str(payload.get("step_key", "")),
            reason=str(payload.get("reason", "")),
            event_type=str(payload.get("event_type", "")),
            recipient_kind=str(recipient.get("kind", "")),
            recipient_id=str(recipient.get("id", "")),
            event=event if isinstance(event, Mapping) else {},
        )

    @property
    def kind(self) -> str:
        """The notification kind: the reason up to its first ``:`` (which carries details)."""
        return self.reason.split(":", 1)[0]


@dataclass(frozen=True)
class NoticeText:
    template: str  # the template used: a kind, ``kind@recipient`` or "generic"
    language: str
    subject: str
    text: str
    markdown: str
    link: str
    link_label: str


# ------------------------------------------------------------------------------------ labels

_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "zh": {
        "hazard_class": {"general": "一般事故隐患", "major": "重大事故隐患"},
        "mode": {"immediate": "立改立销", "deadline": "限期整改", "listed": "挂牌督办"},
        "level": {
            "province": "省级",
            "city": "市级",
            "county": "县级",
            "township": "乡镇（街道）级",
            "village": "村（社区）级",
        },
        "steps": {
            "supervision_letter": "督办函",
            "public_criticism": "通报",
            "summons": "约谈",
            "listing_level_raise": "提级挂牌",
            "suspension_order": "停产整顿",
            "enforcement_referral": "移送执法",
        },
        "ground": {
            "refusal": "拒不整改",
            "ladder_step": "逐级督办措施规定移送",
            "overdue_at_top": "升级至顶仍逾期",
            "listing_period_ended": "挂牌督办期满仍未整改",
        },
        "basis": {"immediate": "立改立销", "verified": "验收合格", "withdrawn": "撤销督办"},
        "publication": {"listing": "挂牌", "delisting": "摘牌"},
        "decision": {"true": "决定列入名单", "false": "决定不列入名单"},
    },
    "en": {
        "hazard_class": {"general": "general hazard", "major": "major hazard"},
        "mode": {"immediate": "fixed on the spot", "deadline": "by a deadline", "listed": "listed"},
        "level": {
            "province": "province",
            "city": "city",
            "county": "county",
            "township": "township",
            "village": "village",
        },
        "steps": {
            "supervision_letter": "supervision letter",
            "public_criticism": "public criticism",
            "summons": "summons",
            "listing_level_raise": "listing raised",
            "suspension_order": "suspension order",
            "enforcement_referral": "enforcement referral",
        },
        "ground": {
            "refusal": "refusal to rectify",
            "ladder_step": "a step of the escalation ladder",
            "overdue_at_top": "overdue at the top of the ladder",
            "listing_period_ended": "listing period over, not rectified",
        },
        "basis": {
            "immediate": "fixed on the spot",
            "verified": "verified",
            "withdrawn": "withdrawn",
        },
        "publication": {"listing": "Listing", "delisting": "De-listing"},
        "decision": {"true": "listed", "false": "not listed"},
    },
}
# Values an older event may lack (fields added by later policy editions).
_NOT_STATED = {"zh": "见书面告知书", "en": "see the written notice"}
_UNCHANGED_DEADLINE = {"zh": "维持原整改期限", "en": "unchanged"}
_NONE = "—"
_MONTHS = "January February March April May June July August September October November December"

_INSTANTS = frozenset(
    {
        "deadline",
        "requested_deadline",
        "decide_by",
        "review_by",
        "publish_by",
        "objection_until",
        "expires_at",
        "early_removal_from",
        "decided_at",
        "due_at",
        "found_at",
        "at",
    }
)


def format_instant(value: datetime | str, time_zone: str, language: str = "zh") -> str:
    """An instant on the wall clock of ``time_zone``: ``2026年12月31日 17:00`` or
    ``31 December 2026, 17:00``; midnight is the end of the day before (``24:00``), as a
    deadline that runs to the end of a day is written. The zone is named when it is not
    China's standard time."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(ZoneInfo(time_zone))
    day, clock = local, f"{local:%H:%M}"
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        day, clock = local - timedelta(days=1), "24:00"
    if language == "zh":
        text = f"{day.year}年{day.month}月{day.day}日 {clock}"
    else:
        text = f"{day.day} {_MONTHS.split()[day.month - 1]} {day.year}, {clock}"
    return text if time_zone == "Asia/Shanghai" else f"{text} ({time_zone})"


def format_duration(text: str, language: str = "zh") -> str:
    """A policy duration as people say it: ``P3D`` → 3天 / 3 days, ``P2WD`` → 2个工作日."""
    try:
        d = PolicyDuration.parse(text)
    except DomainError:
        return text
    hours, rest = divmod(d.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        (d.working_days, "个工作日", "working day"),
        (d.years, "年", "year"),
        (d.months, "个月", "month"),
        (d.days, "天", "day"),
        (hours, "小时", "hour"),
        (minutes, "分钟", "minute"),
        (seconds, "秒", "second"),
    ]
    if language == "zh":
        return "".join(f"{n}{zh}" for n, zh, _ in parts if n)
    return " ".join(f"{n} {en}{'' if n == 1 else 's'}" for n, _, en in parts if n)


def console_path(facts: Facts) -> str:
    """The console page of a case or of an enterprise's credit record: the one place that
    knows the console's paths."""
    if isinstance(facts, CaseFacts):
        return f"/console/cases/{_path_segment(facts.hazard_id)}"
    return f"/console/enterprises/{_path_segment(facts.credit_code)}/credit"


def _path_segment(text: str) -> str:
    safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


# ---------------------------------------------------------------------------------- rendering


class _Strict(dict[str, str]):
    """Template values; a placeholder without a value is an error, never an empty gap."""

    def __missing__(self, key: str) -> str:
        raise KeyError(key)


class _Lenient(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return _NONE


def _event_values(notice: QueuedNotice, time_zone: str, language: str) -> dict[str, str]:
    labels = _LABELS[language]
    values: dict[str, str] = {}
    for key, value in notice.event.items():
        if key in _INSTANTS and isinstance(value, str):
            values[key] = format_instant(value, time_zone, language)
        elif key == "steps" and isinstance(value, list):
            joint = "、" if language == "zh" else ", "
            values[key] = joint.join(labels["steps"].get(str(s), str(s)) for s in value)
        elif key in ("level", "grid_level"):
            values["level"] = labels["level"].get(str(value), str(value))
        elif key in ("ground", "basis"):
            values[key] = labels[key].get(str(value), str(value)) or _NONE
        elif key == "kind":
            values["publication"] = labels["publication"].get(str(value), str(value))
        elif key == "listed":
            values["decision"] = labels["decision"][str(bool(value)).lower()]
        elif key == "before":
            values[key] = format_duration(str(value), language)
        elif isinstance(value, bool | int | float):
            values[key] = str(value)
        elif isinstance(value, str):
            values[key] = value.strip() or _NONE
    if "deadline" in notice.event:
        values["deadline_or_unchanged"] = values.get("deadline") or _UNCHANGED_DEADLINE[language]
    values.setdefault("alert_no", "1")  # the first alert leaves it out of its data
    if notice.event_type == "ProceedingNoticeIssued":
        for key in ("reasons", "basis", "rights"):
            values.setdefault(key, _NOT_STATED[language])
    return values


def _fact_values(facts: Facts, language: str) -> dict[str, str]:
    labels = _LABELS[language]
    if isinstance(facts, CaseFacts):
        return {
            "subject_id": facts.hazard_id,
            "hazard_id": facts.hazard_id,
            "enterprise": facts.enterprise_name,
            "description": facts.description,
            "location": facts.location,
            "hazard_class": labels["hazard_class"].get(facts.hazard_class, facts.hazard_class),
            "mode": labels["mode"].get(facts.mode, facts.mode),
        }
    return {
        "subject_id": facts.credit_code,
        "credit_code": facts.credit_code,
        "enterprise": facts.enterprise_name,
    }


def template_for(notice: QueuedNotice) -> tuple[str, dict[str, Template]] | None:
    """The template key and wordings for ``notice``: its recipient's own wording first."""
    for key in (f"{notice.kind}@{notice.recipient_kind}", notice.kind):
        if key in TEMPLATES:
            return key, TEMPLATES[key]
    return None


def render_notice(
    notice: QueuedNotice,
    facts: Facts,
    *,
    language: str = "zh",
    public_url: str | None = None,
) -> NoticeText:
    """The notice in ``language`` ("zh" or "en"), its link under ``public_url`` (the console's
    base URL; without one the link is the path alone)."""
    if language not in LANGUAGES:
        raise DomainError(
            "notice.language", f"language must be one of {', '.join(LANGUAGES)}", "language"
        )
    values: dict[str, str] = {
        "event_type": notice.event_type,
        "reason": notice.reason,
        **_event_values(notice, facts.time_zone, language),
        **_fact_values(facts, language),  # the case's facts win over an event's same-named field
    }
    header = CASE_HEADER if isinstance(facts, CaseFacts) else CREDIT_HEADER
    found = template_for(notice)
    try:
        if found is None:
            raise KeyError(notice.kind)
        key, wordings = found
        subject, lines = _fill(wordings[language], header[language], _Strict(values))
    except KeyError:
        key = "generic"
        subject, lines = _fill(GENERIC[language], header[language], _Lenient(values))
    link = (public_url or "").rstrip("/") + console_path(facts)
    label = LINK_LABEL[language]["case" if isinstance(facts, CaseFacts) else "credit"]
    subject = SUBJECT_PREFIX[language] + subject
    colon = "：" if language == "zh" else ": "
    text = "\n".join([*lines, f"{label}{colon}{link}"])
    markdown = "\n\n".join([f"**{subject}**", *lines, f"[{label}]({link})"])
    return NoticeText(key, language, subject, text, markdown, link, label)


def _fill(
    template: Template, header: tuple[str, ...], values: dict[str, str]
) -> tuple[str, list[str]]:
    subject = template.subject.format_map(values)
    lines = [line.format_map(values) for line in (*header, *template.lines)]
    # A person's text may span lines; a notice line stays one line.
    return " ".join(subject.split()), [" ".join(line.splitlines()) for line in lines]
