"""Request and response bodies of the HTTP API, with the limits every field must respect."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Text = Field(min_length=1, max_length=2000)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EvidenceIn(Strict):
    uri: str = Field(min_length=1, max_length=500, description="Where the photo/document is")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of its content")


class HazardIn(Strict):
    """登记隐患: what an inspector found."""

    credit_code: str = Field(min_length=18, max_length=18, description="统一社会信用代码")
    hazard_class: Literal["general", "major"] = "general"
    checklist_clause: str | None = Field(default=None, max_length=500)
    category: Literal["thing", "person", "management"]
    source: Literal[
        "self_inspection",
        "grid_patrol",
        "enforcement_inspection",
        "unannounced_inspection",
        "public_report",
    ]
    description: str = Text
    location: str = Field(min_length=1, max_length=500)
    found_at: AwareDatetime
    mode: Literal["immediate", "deadline", "listed"] = "deadline"
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)
    deadline: AwareDatetime | None = None
    measures: str = Field(default="", max_length=2000)
    responsible_person: str = Field(default="", max_length=200)
    listing_level: Literal["county", "city", "province"] | None = None


class GovernancePlanIn(Strict):
    goal_and_tasks: str = Text
    methods_and_measures: str = Text
    funds_and_materials: str = Text
    organisation_and_people: str = Text
    time_limit_and_requirements: str = Text
    safety_measures_and_emergency_plan: str = Text


class ReportIn(Strict):
    summary: str = Text
    evidence: list[EvidenceIn] = Field(min_length=1, max_length=50)


class VerificationIn(Strict):
    passed: bool
    comments: str = Field(default="", max_length=2000)
    new_deadline: AwareDatetime | None = None


class ExtensionRequestIn(Strict):
    requested_deadline: AwareDatetime
    reasons: str = Text
    interim_safeguards: str = Text


class ExtensionDecisionIn(Strict):
    approve: bool
    reason: str = Field(default="", max_length=2000)
    new_deadline: AwareDatetime | None = None


class ListingIn(Strict):
    level: Literal["county", "city", "province"]
    measures: str = Field(default="", max_length=2000)
    deadline: AwareDatetime | None = None


class RefusalIn(Strict):
    details: str = Text


class WithdrawalIn(Strict):
    reason: str = Text


class GridUnitIn(Strict):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    level: Literal["province", "city", "county", "township", "village"]
    parent_code: str | None = Field(default=None, max_length=64)
    responsible_person: str = Field(min_length=1, max_length=200)


class EnterpriseIn(Strict):
    credit_code: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=1, max_length=200)
    industry: str = Field(min_length=1, max_length=200)
    grid_code: str = Field(min_length=1, max_length=64)


class ObjectionIn(Strict):
    statement: str = Text


class ListingDecisionIn(Strict):
    list_enterprise: bool
    basis: str = Text


class ErrorBody(BaseModel):
    rule: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


class CaseOut(BaseModel):
    hazard_id: str
    status: str
    version: int
    deadline: datetime | None
    escalation_index: int
    grid_level: str
    supervising_unit_code: str
    listed_level: str | None
    overdue: bool
    blocked: str | None = None
    pending_timers: list[dict[str, str]] = Field(default_factory=list)
    state: dict[str, Any] | None = None


class RegisteredOut(BaseModel):
    hazard_id: str
    case: CaseOut
