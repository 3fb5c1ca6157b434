"""What the case page shows, built from what the API answers: the case as ``GET /hazards/{id}``
gives it (the workflow's state and pending timers), its stored events as ``GET
/hazards/{id}/history`` gives them, the policy's escalation ladder, and the actions the domain
offers the viewer now (``domain.case.offers``). Nothing here decides anything."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from activities.audit.replay import DETAIL_FIELDS, LABELS
from activities.eventstore import RecordedEvent
from domain.case import CaseState
from domain.case.offers import Offer
from domain.documents.wording import STEP
from domain.policy import Policy, Step

# Fields of an event that are deadlines or instants (shown in the policy's time zone).
INSTANT_FIELDS = frozenset(
    {"deadline", "new_deadline", "requested_deadline", "review_by", "decide_by", "due_at"}
)
# Fields that end in _by and name a moment, not a person.
_NOT_PEOPLE = frozenset({"review_by", "decide_by", "publish_by"})
# The policy's rule behind events the clock causes (the rest are a person's command, named by
# its event).
RULE_OF_EVENT: dict[str, str] = {
    "RectificationNoticeIssued": "deadlines",
    "ReminderDue": "reminders.before_deadline",
    "ReminderLapsed": "reminders.before_deadline",
    "DeadlineMissed": "escalation.ladder",
    "CaseEscalated": "escalation.ladder",
    "VerificationOverdue": "verification.review_within",
    "ExtensionDecisionOverdue": "extension.decide_within",
    "ExtensionRequested": "extension.request_before",
    "HazardListed": "listing",
    "ListingPublished": "listing.publish_within",
    "VerificationFailed": "verification.rework",
    "CreditTriggerRaised": "credit.triggers",
    "EnforcementReferred": "escalation.enforcement_grid_level",
}


# Events the dossier's labels (activities/audit/replay.py) do not name yet.
def english_label(event_type: str) -> str:
    """``CaseEscalated`` → ``Case escalated``."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", event_type).split()
    return " ".join([words[0], *(w.lower() for w in words[1:])]) if words else event_type


@dataclass(frozen=True)
class TimelineEntry:
    version: int
    event_type: str
    label_zh: str
    label_en: str
    who: str | None
    at: datetime
    recorded_at: datetime
    rule: str | None
    deadlines: tuple[tuple[str, str], ...]  # (field, ISO instant)
    details: tuple[tuple[str, str], ...]  # (field, text)


def timeline_entry(event: RecordedEvent, policy: Policy) -> TimelineEntry:
    data = event.data
    who = next(
        (
            str(value)
            for key, value in data.items()
            if key.endswith("_by") and key not in _NOT_PEOPLE and isinstance(value, str)
        ),
        None,
    )
    rule = RULE_OF_EVENT.get(event.event_type)
    if event.event_type == "CaseEscalated" and isinstance(data.get("escalation_index"), int):
        rule = f"escalation.ladder[{data['escalation_index'] - 1}]"
    if event.event_type == "HazardRegistered":
        rule = f"{data.get('policy_name', policy.name)} {data.get('policy_version', '')}".strip()
    deadlines: list[tuple[str, str]] = []
    details: list[tuple[str, str]] = []
    for name in DETAIL_FIELDS:
        value = data.get(name)
        if value in (None, "", [], ()):
            continue
        if name in INSTANT_FIELDS:
            deadlines.append((name, str(value)))
        elif name == "steps" and isinstance(value, list):
            details.append((name, "、".join(STEP.get(Step(s)) or str(s) for s in value)))
        elif name not in ("policy_name", "policy_version"):
            details.append((name, str(value)))
    return TimelineEntry(
        version=event.stream_version,
        event_type=event.event_type,
        label_zh=LABELS.get(event.event_type, event.event_type),
        label_en=english_label(event.event_type),
        who=who,
        at=event.occurred_at,
        recorded_at=event.recorded_at,
        rule=rule,
        deadlines=tuple(deadlines),
        details=tuple(details),
    )


@dataclass(frozen=True)
class LadderRung:
    number: int  # 1 = the first rung (escalation_index 1)
    grid_level: str
    deadline: str  # the policy's duration, as written
    steps: tuple[str, ...]
    listing_level: str | None
    state: str  # "done", "current", "ahead"


def ladder_of(state: CaseState | None, policy: Policy) -> tuple[LadderRung, ...]:
    """The policy's escalation ladder (逐级督办) with the case's current rung."""
    current = state.escalation_index if state is not None else 0
    rungs = []
    for i, rung in enumerate(policy.escalation.ladder, start=1):
        rungs.append(
            LadderRung(
                number=i,
                grid_level=rung.grid_level.value,
                deadline=str(rung.deadline),
                steps=tuple(STEP.get(s, s.value) for s in rung.steps),
                listing_level=rung.listing_level.value if rung.listing_level else None,
                state="done" if i < current else ("current" if i == current else "ahead"),
            )
        )
    return tuple(rungs)


@dataclass(frozen=True)
class PendingTimer:
    key: str
    kind: str
    due_at: datetime


def pending_of(case: dict[str, Any]) -> tuple[PendingTimer, ...]:
    timers = [
        PendingTimer(t["key"], t["kind"], datetime.fromisoformat(t["due_at"]))
        for t in case.get("pending_timers") or ()
    ]
    return tuple(sorted(timers, key=lambda t: t.due_at))


def remaining(due_at: datetime, now: datetime) -> int:
    """Seconds left until ``due_at`` at ``now`` (negative once passed)."""
    return int((due_at - now).total_seconds())


@dataclass(frozen=True)
class CasePageView:
    hazard_id: str
    case: dict[str, Any]
    state: CaseState | None
    version: int
    timeline: tuple[TimelineEntry, ...]
    pending: tuple[PendingTimer, ...]
    ladder: tuple[LadderRung, ...]
    offers: tuple[Offer, ...]
    now: datetime
