"""A public report's state, ``evolve``, ``decide`` and timers (举报核实).

- Received: assigned to the lowest grid unit of its enterprise or place (定格), with a deadline
  to verify (核实) ``public_reports.verify_within`` after it was received.
- Before ``verify_by`` a reminder (``reminder:1``, ``remind_before`` ahead); at ``verify_by``,
  unverified, an alert one grid level up (``overdue:1``), then every ``escalate_every`` one
  level further (``overdue:1:<n>``), staying at the top, until it is verified.
- Verified by a supervisor of the assigned unit or above: substantiated with the hazard cases
  it led to, or dismissed with a reason (which ends it).
- A substantiated report awaits its reward decision (奖励), made by a supervisor at
  ``reward_decided_by_level`` or above: a major hazard's reward is ``major_reward_share_percent``
  of the fine, within the minimum and maximum; a general hazard's the fixed local amount; a
  reporter who was not the first valid one gets none (only the first is rewarded).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain._codec import OMIT_IF_DEFAULT, check_text, from_data, to_data
from domain.calendar import WorkingCalendar
from domain.case.commands import Role
from domain.case.events import HazardClass
from domain.case.guards import acting_unit, require_role, require_text
from domain.durations import utc_instant
from domain.errors import DomainError
from domain.grid import GridLevel, GridUnit
from domain.policy import Policy, PublicReports
from domain.public_report.events import (
    REPORT_COMMAND_CLASSES,
    REPORT_EVENT_CLASSES,
    DecideReward,
    DismissReport,
    FireReportTimer,
    PublicReportCommand,
    PublicReportDismissed,
    PublicReportEvent,
    PublicReportReceived,
    PublicReportReminderDue,
    PublicReportRewardDecided,
    PublicReportSubstantiated,
    PublicReportVerificationOverdue,
    ReceivePublicReport,
    RewardBasis,
    SubstantiateReport,
)

REPORT_ID_PATTERN = re.compile(r"^R-[0-9a-f]{24}$")
_NO_CALENDAR = WorkingCalendar()  # the durations of [public_reports] are calendar durations
REMINDER_KEY = "reminder:1"
OVERDUE_KEY = "overdue:1"


@dataclass(frozen=True)
class PublicReportState:
    report_id: str
    grid_path: tuple[GridUnit, ...]
    credit_code: str | None
    time_zone: str
    received_at: datetime
    verify_by: datetime
    status: str = "received"  # received | substantiated | dismissed | rewarded
    fired_timers: tuple[str, ...] = ()
    hazard_ids: tuple[str, ...] = ()
    reward_yuan: int | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in ("received", "substantiated")

    @property
    def assigned_unit(self) -> GridUnit:
        return self.grid_path[0]


@dataclass(frozen=True)
class ReportTimer:
    key: str
    kind: str  # "reminder" | "overdue"
    due_at: datetime


def _rules(policy: Policy) -> PublicReports:
    rules = policy.public_reports
    if rules is None:
        raise DomainError(
            "public_report.policy_missing",
            "the policy states no [public_reports]: public reports are not taken",
            "policy",
        )
    return rules


# ------------------------------------------------------------------------------- evolve


def evolve_report(state: PublicReportState | None, event: PublicReportEvent) -> PublicReportState:
    if state is None:
        if not isinstance(event, PublicReportReceived):
            raise DomainError(
                "public_report.evolve.not_received", f"{event.EVENT_TYPE} before it was received"
            )
        return PublicReportState(
            report_id=event.report_id,
            grid_path=event.grid_path,
            credit_code=event.credit_code,
            time_zone=event.time_zone,
            received_at=event.at,
            verify_by=event.verify_by,
            version=1,
        )
    s = replace(state, version=state.version + 1)
    match event:
        case PublicReportReminderDue() | PublicReportVerificationOverdue():
            return replace(s, fired_timers=(*s.fired_timers, event.timer_key))
        case PublicReportSubstantiated():
            return replace(s, status="substantiated", hazard_ids=event.hazard_ids)
        case PublicReportDismissed():
            return replace(s, status="dismissed")
        case PublicReportRewardDecided():
            return replace(s, status="rewarded", reward_yuan=event.amount_yuan)
    raise DomainError("public_report.evolve.unknown_event", f"unexpected {event.EVENT_TYPE}")


def fold_report(
    events: Iterable[PublicReportEvent], state: PublicReportState | None = None
) -> PublicReportState | None:
    for event in events:
        state = evolve_report(state, event)
    return state


# ------------------------------------------------------------------------------- timers


def pending_report_timers(state: PublicReportState | None, policy: Policy) -> list[ReportTimer]:
    """The reminder before ``verify_by`` and the alerts after it, while unverified."""
    if state is None or state.status != "received":
        return []
    rules = _rules(policy)
    fired = set(state.fired_timers)
    tz = policy.tz
    timers: list[ReportTimer] = []
    remind_at = rules.remind_before.subtract_calendar(state.verify_by, tz)
    if REMINDER_KEY not in fired and remind_at > state.received_at:
        timers.append(ReportTimer(REMINDER_KEY, "reminder", remind_at))
    if OVERDUE_KEY not in fired:
        timers.append(ReportTimer(OVERDUE_KEY, "overdue", state.verify_by))
    else:
        due, number = state.verify_by, 2
        while True:
            due = rules.escalate_every.add_to(due, _NO_CALENDAR, tz)
            key = f"{OVERDUE_KEY}:{number}"
            if key not in fired:
                timers.append(ReportTimer(key, "overdue", due))
                break
            number += 1
    return sorted(timers, key=lambda t: (t.due_at, t.key))


def due_report_timers(
    state: PublicReportState | None, now: datetime, policy: Policy
) -> list[ReportTimer]:
    return [t for t in pending_report_timers(state, policy) if t.due_at <= now]


# ------------------------------------------------------------------------------- decide


def decide_report(
    state: PublicReportState | None,
    command: PublicReportCommand,
    now: datetime,
    policy: Policy,
) -> list[PublicReportEvent]:
    """The events ``command`` causes at ``now``, or a DomainError naming the broken rule."""
    now = utc_instant(now, "now")
    if command.actor.role is Role.AUDITOR:
        raise DomainError(
            "public_report.auditor.read_only", "an auditor reads and changes nothing", "actor.role"
        )
    if state is None:
        if not isinstance(command, ReceivePublicReport):
            raise DomainError("public_report.not_received", "no such report has been received")
        return [_receive(command, now, policy)]
    if isinstance(command, ReceivePublicReport):
        raise DomainError(
            "public_report.already_received", f"report {state.report_id} already exists"
        )
    if not state.is_open:
        raise DomainError(
            "public_report.closed", f"report {state.report_id} is {state.status}: it takes nothing"
        )
    match command:
        case FireReportTimer():
            return [_fire(state, command, now, policy)]
        case SubstantiateReport():
            return [_substantiate(state, command, now)]
        case DismissReport():
            return [_dismiss(state, command, now)]
        case DecideReward():
            return [_reward(state, command, now, policy)]
    raise DomainError("public_report.command.unknown", f"unknown {type(command).__name__}")


def _receive(cmd: ReceivePublicReport, now: datetime, policy: Policy) -> PublicReportReceived:
    rules = _rules(policy)
    if not REPORT_ID_PATTERN.match(cmd.report_id):
        raise DomainError(
            "public_report.report_id_pattern", "a report id is R- and 24 hex digits", "report_id"
        )
    require_text(
        cmd.description, "public_report.description_required", "description", "a description"
    )
    require_text(cmd.place, "public_report.place_required", "place", "the place (地点)")
    if not cmd.grid_path or cmd.grid_path[0].level is not GridLevel.VILLAGE:
        raise DomainError(
            "public_report.grid_unit_required",
            "a report is assigned to the village-level grid unit of its enterprise or place",
            "grid_unit_code",
        )
    return PublicReportReceived(
        report_id=cmd.report_id,
        grid_path=cmd.grid_path,
        credit_code=cmd.credit_code,
        enterprise_name=cmd.enterprise_name,
        place=cmd.place,
        description=cmd.description,
        evidence=cmd.evidence,
        identity_digest=cmd.identity_digest,
        verify_by=rules.verify_within.add_to(now, _NO_CALENDAR, policy.tz),
        policy_name=policy.name,
        policy_fingerprint=policy.fingerprint,
        time_zone=policy.time_zone,
        at=now,
    )


def _fire(
    state: PublicReportState, cmd: FireReportTimer, now: datetime, policy: Policy
) -> PublicReportEvent:
    require_role(cmd.actor, (Role.SYSTEM,), "public_report.timer.system_only", "fire a timer")
    timer = next((t for t in pending_report_timers(state, policy) if t.key == cmd.key), None)
    if timer is None:
        raise DomainError("public_report.timer.not_pending", f"timer {cmd.key} is not pending")
    if now < timer.due_at:
        raise DomainError(
            "public_report.timer.not_due", f"timer {cmd.key} is due at {timer.due_at}", "key"
        )
    if timer.kind == "reminder":
        return PublicReportReminderDue(timer_key=timer.key, verify_by=state.verify_by, at=now)
    number = 1 if timer.key == OVERDUE_KEY else int(timer.key.rsplit(":", 1)[1])
    index = min(number, len(state.grid_path) - 1)
    return PublicReportVerificationOverdue(
        timer_key=timer.key,
        verify_by=state.verify_by,
        alert_no=number,
        alerted_unit_code=state.grid_path[index].code,
        at=now,
    )


def _verifier_unit(state: PublicReportState, cmd: SubstantiateReport | DismissReport) -> GridUnit:
    require_role(
        cmd.actor, (Role.SUPERVISOR,), "public_report.verify.supervisor_only", "verify (核实)"
    )
    if state.status != "received":
        raise DomainError(
            "public_report.verify.already_verified", f"report {state.report_id} is verified"
        )
    return acting_unit(state.grid_path, cmd.actor)  # the assigned unit or one above it


def _substantiate(
    state: PublicReportState, cmd: SubstantiateReport, now: datetime
) -> PublicReportSubstantiated:
    unit = _verifier_unit(state, cmd)
    require_text(cmd.findings, "public_report.findings_required", "findings", "the findings")
    if not cmd.hazard_ids or len(set(cmd.hazard_ids)) != len(cmd.hazard_ids):
        raise DomainError(
            "public_report.hazards_required",
            "a substantiated report names the hazard cases it led to, each once",
            "hazard_ids",
        )
    return PublicReportSubstantiated(
        hazard_ids=cmd.hazard_ids,
        findings=cmd.findings,
        verified_by=cmd.actor.id,
        unit_code=unit.code,
        at=now,
    )


def _dismiss(state: PublicReportState, cmd: DismissReport, now: datetime) -> PublicReportDismissed:
    unit = _verifier_unit(state, cmd)
    require_text(cmd.reason, "public_report.reason_required", "reason", "the reason")
    return PublicReportDismissed(
        reason=cmd.reason, verified_by=cmd.actor.id, unit_code=unit.code, at=now
    )


def reward_amount(
    rules: PublicReports, hazard_class: HazardClass, fine_yuan: int | None, first_reporter: bool
) -> tuple[int, RewardBasis]:
    """The reward per the policy's scheme (《安全生产领域举报奖励办法》 and the local addition)."""
    if not first_reporter:
        return 0, RewardBasis.NOT_FIRST_REPORTER
    if hazard_class is HazardClass.GENERAL:
        return rules.general_reward_yuan, RewardBasis.GENERAL_FIXED
    if fine_yuan is None or fine_yuan < 0:
        raise DomainError(
            "public_report.reward.fine_required",
            "a major hazard's reward is a share of the fine imposed: state the fine (≥ 0 yuan)",
            "fine_yuan",
        )
    share = fine_yuan * rules.major_reward_share_percent // 100
    amount = min(max(share, rules.major_reward_min_yuan), rules.major_reward_max_yuan)
    return amount, RewardBasis.MAJOR_FINE_SHARE


def _reward(
    state: PublicReportState, cmd: DecideReward, now: datetime, policy: Policy
) -> PublicReportRewardDecided:
    rules = _rules(policy)
    require_role(
        cmd.actor, (Role.SUPERVISOR,), "public_report.reward.supervisor_only", "decide a reward"
    )
    if state.status != "substantiated":
        raise DomainError(
            "public_report.reward.not_substantiated",
            "a reward is decided for a report that led to a hazard case",
        )
    unit = acting_unit(state.grid_path, cmd.actor)
    lowest = rules.reward_decided_by_level
    if unit.level is not lowest and not unit.level.is_above(lowest):
        raise DomainError(
            "public_report.reward.level",
            f"a reward is decided at {lowest.value} level or above; {unit.code} is "
            f"{unit.level.value}",
            "actor.unit_code",
        )
    amount, basis = reward_amount(rules, cmd.hazard_class, cmd.fine_yuan, cmd.first_reporter)
    return PublicReportRewardDecided(
        amount_yuan=amount,
        basis=basis,
        hazard_class=cmd.hazard_class,
        fine_yuan=cmd.fine_yuan,
        decided_by=cmd.actor.id,
        unit_code=unit.code,
        at=now,
    )


# ------------------------------------------------------------------------------- codec

_EVENTS = {cls.EVENT_TYPE: cls for cls in REPORT_EVENT_CLASSES}
_COMMANDS = {cls.COMMAND_TYPE: cls for cls in REPORT_COMMAND_CLASSES}


def report_event_to_data(event: PublicReportEvent) -> dict[str, object]:
    data: dict[str, object] = to_data(event)
    return data


def report_event_from_data(event_type: str, data: dict[str, object]) -> PublicReportEvent:
    cls = _EVENTS.get(event_type)
    if cls is None:
        raise DomainError("data.event_type_unknown", f"unknown report event {event_type!r}")
    event: PublicReportEvent = from_data(cls, data)
    return event


def report_command_to_data(command: PublicReportCommand) -> dict[str, object]:
    data: dict[str, object] = to_data(command)
    return data


def report_command_from_data(command_type: str, data: dict[str, object]) -> PublicReportCommand:
    cls = _COMMANDS.get(command_type)
    if cls is None:
        raise DomainError("data.command_type_unknown", f"unknown report command {command_type!r}")
    check_text(data)
    command: PublicReportCommand = from_data(cls, data)
    return command
