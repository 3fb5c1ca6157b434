"""The bodies of a hazard case: registration (登记), the commands on a case, and what the
case list, a case and its history answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import AddedLater, CreditCode, EvidenceIn, InstantText, Strict
from api.text_input import Instant, text_field


class ListingMeasuresIn(Strict):
    """五落实 of a listing (挂牌督办): each of the five stated."""

    responsibility: str = text_field()
    measures: str = text_field()
    funds: str = text_field()
    time_limit: str = text_field()
    emergency_plan: str = text_field()


class HazardIn(Strict):
    """登记隐患: what an inspector found, or what an enterprise found itself (自查: source
    self_inspection, its own credit code, with measures and a deadline)."""

    credit_code: str = CreditCode
    hazard_class: Literal["general", "major"] = "general"
    checklist_clause: str | None = text_field(None, max_length=500, required=False)
    category: Literal["thing", "person", "management"]
    source: Literal[
        "self_inspection",
        "grid_patrol",
        "enforcement_inspection",
        "unannounced_inspection",
        "public_report",
    ]
    description: str = text_field()
    location: str = text_field(max_length=500)
    found_at: Instant
    mode: Literal["immediate", "deadline", "listed"] = "deadline"
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)
    deadline: Instant | None = None
    measures: str = text_field("", required=False)
    responsible_person: str = text_field("", max_length=200, required=False)
    listing_level: Literal["county", "city", "province"] | None = None
    listing_measures: ListingMeasuresIn | None = Field(
        default=None, description="五落实, when a supervisor registers a listed hazard"
    )


class GovernancePlanIn(AddedLater):
    ADDED_LATER = ("evidence",)
    goal_and_tasks: str = text_field()
    methods_and_measures: str = text_field()
    funds_and_materials: str = text_field()
    organisation_and_people: str = text_field()
    time_limit_and_requirements: str = text_field()
    safety_measures_and_emergency_plan: str = text_field()
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class ReportIn(Strict):
    summary: str = text_field()
    evidence: list[EvidenceIn] = Field(min_length=1, max_length=50)


class VerificationIn(AddedLater):
    ADDED_LATER = ("evidence",)
    passed: bool
    comments: str = text_field("", required=False)
    new_deadline: Instant | None = None
    evidence: list[EvidenceIn] = Field(
        default_factory=list, max_length=50, description="验收 photos or the 复查意见 scan"
    )


class ExtensionRequestIn(Strict):
    requested_deadline: Instant
    reasons: str = text_field()
    interim_safeguards: str = text_field()


class ExtensionDecisionIn(Strict):
    approve: bool
    reason: str = text_field("", required=False)
    new_deadline: Instant | None = None


class ListingIn(Strict):
    level: Literal["county", "city", "province"]
    measures: str = text_field("", required=False)
    deadline: Instant | None = None
    listing_measures: ListingMeasuresIn | None = Field(
        default=None, description="五落实 (the policy says whether it is required)"
    )


class RefusalIn(Strict):
    details: str = text_field()


class WithdrawalIn(Strict):
    reason: str = text_field()


class AcceptanceIn(Strict):
    """受理: the supervising unit accepts a major hazard the enterprise reported itself."""

    comments: str = text_field("", required=False)


class CaseOut(BaseModel):
    hazard_id: str
    status: str
    version: int
    deadline: datetime | None
    escalation_index: int
    grid_level: str
    supervising_unit_code: str
    listed_level: str | None
    overdue: bool = Field(
        description="逾期: the hazard's rectification deadline has passed unrectified, "
        "escalated or not"
    )
    overdue_since: datetime | None = Field(
        default=None, description="its rectification deadline, when overdue"
    )
    days_overdue: int | None = Field(
        default=None, description="calendar days overdue in the policy's time zone, at least 1"
    )
    # Why a due step waits (calendar.year_missing: the administrator must load a year's
    # holidays); for a registration whose notice waits, also the year.
    blocked: str | None = None
    blocked_year: int | None = None
    pending_timers: list[dict[str, str]] = Field(default_factory=list)
    state: dict[str, Any] | None = None


class RegisteredOut(BaseModel):
    hazard_id: str
    case: CaseOut


class HazardRowOut(BaseModel):
    """One line of the case list (read model): the case's columns (those below, and the
    others of the read model's case table), overdue (逾期) judged at the time of the question."""

    model_config = ConfigDict(extra="allow")

    hazard_id: str
    credit_code: str
    enterprise_name: str
    grid_code: str
    grid_path: list[str] = Field(description="its unit and the units above, lowest first")
    supervising_unit_code: str
    supervising_level: str
    status: str
    is_open: bool
    hazard_class: str
    listed_level: str | None
    deadline: str | None = InstantText
    overdue: bool = Field(
        description="逾期: the hazard's rectification deadline has passed unrectified, "
        "escalated or not"
    )
    overdue_since: str | None = Field(
        description="its rectification deadline, when overdue",
        json_schema_extra={"format": "date-time"},
    )
    days_overdue: int | None = Field(
        description="calendar days overdue in the policy's time zone, at least 1"
    )
    version: int


class StoredEventOut(BaseModel):
    """One stored event of a case with its place in the store and its hash links."""

    position: int
    stream_version: int
    event_id: str
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: str = InstantText
    recorded_at: str = InstantText
    prev_hash: str = Field(description="SHA-256 of the event before, hex")
    hash: str = Field(description="SHA-256 of the previous hash and this event, hex")
