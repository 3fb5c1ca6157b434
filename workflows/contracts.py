"""Everything that crosses Temporal's boundary, in one module: the dataclasses that are
workflow, update, query, signal and activity inputs and results, and the names other layers
start, signal and query workflows by.

Activities import this module (and ``workflows.ids``), never a workflow class: the import
contract in pyproject.toml keeps it so. One dataclass in and one out everywhere, holding
JSON-safe values (domain objects travel as their ``to_data`` dicts), so fields can be added
later without breaking running cases, and the payloads in a workflow's history stay readable
to an operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EventToAppend:
    event_id: str
    event_type: str
    schema_version: int
    data: dict[str, Any]
    occurred_at: str  # ISO 8601 with offset


@dataclass
class AppendEventsInput:
    stream_id: str
    expected_version: int
    events: list[EventToAppend]
    actor_id: str
    actor_role: str
    correlation_id: str | None = None
    causation_id: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None


@dataclass
class AppendEventsResult:
    positions: list[int]
    stream_version: int
    already_stored: bool


@dataclass
class ReadStreamInput:
    stream_id: str
    from_version: int = 1


@dataclass
class StoredEvent:
    position: int
    stream_version: int
    event_id: str
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: str
    recorded_at: str


@dataclass
class ReadStreamResult:
    events: list[StoredEvent]


@dataclass
class LoadRulesInput:
    purpose: str = "case"


@dataclass
class RulesSnapshot:
    """The policy and working-day calendar a case runs under, captured in its history so that
    a replay uses exactly the rules the case was decided with."""

    policy: dict[str, Any]
    policy_source: str
    calendar_text: str | None = None
    calendar_source: str | None = None


@dataclass
class NotificationToQueue:
    step_key: str
    recipient_kind: str
    recipient_id: str
    reason: str
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class EnqueueNotificationsInput:
    case_id: str
    workflow_id: str
    notifications: list[NotificationToQueue]


@dataclass
class EnqueueNotificationsResult:
    queued: int


# --- the names other layers call a workflow by ---------------------------------------------
# One spelling each: the workflow declares itself under it, and the activities, schedules and
# auditor's tools that start, signal or query it use the same constant. These are in every
# running case's history: never rename one.

CASE_WORKFLOW = "SupervisedCase"
CASE_STATE_QUERY = "state"
CASE_CALENDAR_LOADED_SIGNAL = "calendar_loaded"
CREDIT_WORKFLOW = "EnterpriseCredit"
CREDIT_EVENT_SIGNAL = "record_credit_event"
REPORT_RUN_WORKFLOW = "ReportRun"
REPORT_WORKFLOW = "Report"
AUDIT_WORKFLOW = "AuditMaintenance"
PUBLIC_REPORT_WORKFLOW = "PublicReport"
PUBLIC_REPORT_STATE_QUERY = "state"


# --- the supervised case (督办案件) ----------------------------------------------------------


@dataclass
class CaseWorkflowInput:
    """Start a case: the registration command as data (``command_to_data(RegisterHazard)``)."""

    registration: dict[str, Any]
    correlation_id: str | None = None


@dataclass
class CaseCommandInput:
    """A person's command to a case: the command as data, including its actor."""

    command: dict[str, Any]
    correlation_id: str | None = None


@dataclass
class CaseView:
    """What a query or an update returns: the state folded from the recorded events."""

    hazard_id: str
    status: str
    version: int
    deadline: str | None
    escalation_index: int
    grid_level: str
    supervising_unit_code: str
    listed_level: str | None
    overdue: bool
    pending_timers: list[dict[str, str]] = field(default_factory=list)
    state: dict[str, Any] | None = None
    blocked: str | None = None  # why a due step cannot be decided yet (e.g. calendar data)
    # 逾期: since the hazard's rectification deadline passed unrectified (``overdue``), and for
    # how many calendar days in the case's time zone (the policy's).
    overdue_since: str | None = None
    days_overdue: int | None = None
    blocked_year: int | None = None  # the year whose holidays the administrator must load


# --- the enterprise credit record (企业安全生产信用) -------------------------------------------

DEFAULT_CONTINUE_AS_NEW_AFTER = 2000


@dataclass
class CreditSignalInput:
    """A case tells its enterprise's credit workflow about an event that counts (信用)."""

    credit_code: str
    enterprise_name: str
    grid_code: str
    event_id: str
    event_type: str
    event: dict[str, Any]


@dataclass
class CreditWorkflowInput:
    """Start (or continue) an enterprise's credit record.

    ``pending_signals`` carries case signals a previous run received but had not handled when
    it continued-as-new; ``continue_as_new_after_events`` is the history length that makes a
    run hand over to the next (Temporal warns from 10,240 events; a run stays far below).
    """

    credit_code: str
    enterprise_name: str = ""
    grid_code: str = ""
    continue_as_new_after_events: int = DEFAULT_CONTINUE_AS_NEW_AFTER
    pending_signals: list[CreditSignalInput] = field(default_factory=list)
    runs: int = 1


@dataclass
class CreditCommandInput:
    """A person's command on the credit record: the command as data, including its actor."""

    command: dict[str, Any]
    correlation_id: str | None = None


@dataclass
class CreditView:
    """The credit record folded from the stored events, with the rating as of now."""

    credit_code: str
    enterprise_name: str
    grid_code: str
    version: int
    runs: int
    rating: str | None = None  # A–D under the local scheme, recomputed at the query's time
    points: int | None = None
    recorded_rating: str | None = None  # the grade of the last RatingChanged event
    whitelist_eligible: bool = False
    is_blacklisted: bool = False
    proceeding: dict[str, Any] | None = None
    blacklist: dict[str, Any] | None = None
    recorded: list[dict[str, Any]] = field(default_factory=list)
    pending_timers: list[dict[str, str]] = field(default_factory=list)
    state: dict[str, Any] | None = None


# --- reports on a schedule (月度/季度/年度) -----------------------------------------------------


@dataclass
class ReportRunInput:
    """``period`` set: report on that period (a manual or repeated run); unset: the period
    before the run's scheduled time."""

    kind: str
    period: str | None = None


@dataclass
class ReportRunResult:
    kind: str
    period: str
    produced: list[str] = field(default_factory=list)  # report workflow ids started and done
    already: list[str] = field(default_factory=list)  # ids another run had produced


@dataclass
class PlanReportsInput:
    kind: str
    period: str | None
    scheduled_at: str  # ISO 8601: the run's nominal time, when ``period`` is unset


@dataclass
class ReportPlan:
    kind: str
    period: str
    unit_codes: list[str]


@dataclass
class ReportInput:
    kind: str
    period: str
    unit_code: str


@dataclass
class ProduceReportInput:
    kind: str
    period: str
    unit_code: str
    event_id: str
    workflow_id: str | None = None
    run_id: str | None = None


@dataclass
class ReportResult:
    stream_id: str
    content_sha256: str
    json_path: str
    csv_path: str
    already_stored: bool
    figures: dict[str, Any] = field(default_factory=dict)


# --- the hourly audit job --------------------------------------------------------------------


@dataclass
class AuditMaintenanceInput:
    export_histories: bool = True


@dataclass
class AuditMaintenanceResult:
    checkpoint_position: int
    checkpoint_path: str
    histories_exported: list[str] = field(default_factory=list)


@dataclass
class CheckpointWritten:
    """``write_signed_checkpoint``'s result: the signed head of the event store."""

    position: int
    hash: str
    path: str
    verified_events: int = 0


@dataclass
class HistoriesExported:
    """``export_closed_case_histories``'s result."""

    exported: list[str]
    still_running: list[str]
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    # The checkpoint signed after recording the exports, so that a dossier made now can
    # include their records (None when nothing was recorded).
    checkpoint_position: int | None = None


# --- a public report (举报) ----------------------------------------------------------------


@dataclass
class PublicReportWorkflowInput:
    """Receive a report: ``command_to_data(ReceivePublicReport)``."""

    report: dict[str, Any]
    correlation_id: str | None = None


@dataclass
class PublicReportCommandInput:
    """A person's command to a report (its actor included), as data."""

    command: dict[str, Any]
    correlation_id: str | None = None


@dataclass
class PublicReportView:
    """A report as its workflow holds it: no identity of the reporter is ever in it."""

    report_id: str
    status: str
    version: int
    verify_by: str | None = None
    assigned_unit_code: str | None = None
    hazard_ids: list[str] = field(default_factory=list)
    reward_yuan: int | None = None
    pending_timers: list[dict[str, str]] = field(default_factory=list)
