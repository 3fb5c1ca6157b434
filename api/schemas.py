"""Request and response bodies of the HTTP API, with the limits every field must respect."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from api.text_input import CREDIT_CODE_PATTERN, Instant, refuse_unstorable_text, text_field

CODE_PATTERN = r"^[A-Za-z0-9._-]+$"
HAZARD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"  # as workflows/ids.py checks it
GridCode = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)
CreditCode = Field(
    min_length=18, max_length=18, pattern=CREDIT_CODE_PATTERN, description="统一社会信用代码"
)


class Strict(BaseModel):
    """A request body: no unknown keys, outer spaces dropped, and no text the record cannot
    hold in any field (``input.text_invalid``, naming it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return refuse_unstorable_text(value)


class AddedLater(Strict):
    """A body whose fields in ``ADDED_LATER`` are left out of its dump while they hold their
    default: the Idempotency-Key fingerprint of a body sent before they existed stays the same
    (a retry across an upgrade is the same request)."""

    ADDED_LATER: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_added_defaults(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for name in self.ADDED_LATER:
            if isinstance(data, dict) and getattr(self, name) in (None, []):
                data.pop(name, None)
        return data


class EvidenceIn(AddedLater):
    """Evidence cited by a command: a file uploaded to duban (``sha256`` as ``POST /files``
    answered it, and optionally the ``name`` to show; no ``uri``), or a reference typed by a
    person (``uri`` and ``sha256``)."""

    ADDED_LATER = ("uri", "name")
    uri: str | None = text_field(
        None,
        max_length=500,
        required=False,
        description="Where the photo/document is; leave out to cite an uploaded file",
    )
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of its content")
    name: str | None = text_field(
        None,
        max_length=1000,
        required=False,
        description="The uploaded file's name to show (as POST /files answered it)",
    )


class FileOut(BaseModel):
    """An uploaded evidence file: the reference a registration, plan, report or verification
    cites (its ``sha256`` and ``name``), and what the event will record of it."""

    sha256: str
    size: int = Field(description="bytes")
    media_type: str = Field(description="read from the file's bytes, never from its name")
    name: str = Field(description="for display only: directories and control characters gone")
    uri: str = Field(description="duban-file:<sha256>, as events record it")


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


class GridUnitIn(Strict):
    code: str = GridCode
    name: str = text_field(max_length=200)
    level: Literal["province", "city", "county", "township", "village"]
    parent_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=CODE_PATTERN,
        description="The unit above; leave it out (or null) for a province only",
    )
    responsible_person: str = text_field(max_length=200)


class EnterpriseIn(Strict):
    credit_code: str = CreditCode
    name: str = text_field(max_length=200)
    industry: str = text_field(max_length=200)
    grid_code: str = GridCode


class ObjectionIn(Strict):
    statement: str = text_field()


class ListingDecisionIn(Strict):
    list_enterprise: bool
    basis: str = text_field()


class ProceedingIn(Strict):
    """A supervisor opens a serious-dishonesty proceeding on a ground of Order 11."""

    ground: str = text_field(max_length=200, description="e.g. major_accident")
    basis: str = text_field()


class EarlyRemovalIn(Strict):
    """信用修复: the enterprise applies for early removal, 12 months after publication."""

    statement: str = text_field()


class EarlyRemovalDecisionIn(Strict):
    approve: bool
    reason: str = text_field("", required=False, description="required to reject")


class RevocationIn(Strict):
    """An early removal obtained by false statements is revoked; the listing returns."""

    reason: str = text_field()


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


class GridUnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    parent_code: str | None
    responsible_person: str


class GridUnitDetailOut(GridUnitOut):
    path: list[GridUnitOut] = Field(description="the unit and its ancestors, lowest first")


class EnterpriseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    credit_code: str
    name: str
    industry: str
    grid_code: str


class CreditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_id: str
    kind: str
    occurred_at: datetime


class CreditOut(BaseModel):
    """An enterprise's credit as the read model holds it, graded at the time of the question."""

    credit_code: str
    enterprise_name: str
    industry: str | None
    grid_code: str | None
    record_opened: bool = Field(description="whether its credit workflow has opened a record")
    rating: str | None = Field(
        description="A–D as last recorded by the credit workflow; with no credit record, the "
        "policy's grade for nothing recorded (the scheme's base points)"
    )
    rating_points: int | None
    rating_now: str | None = Field(description="the policy's grade now (old entries age out)")
    whitelist_eligible: bool | None
    blacklisted: bool
    blacklisted_until: datetime | None
    early_removal_from: datetime | None
    open_proceeding_no: str | None
    objection_until: datetime | None
    cases_registered: int
    open_cases: int
    overdue_cases: int
    entries: list[CreditEntryOut]


class ProceedingOut(BaseModel):
    proceeding_no: str
    trigger: str
    objection_until: datetime | None
    objections: int
    window_closed: bool


class BlacklistEntryOut(BaseModel):
    proceeding_no: str
    published_at: datetime
    expires_at: datetime
    early_removal_from: datetime
    removal_applied: bool
    removed_early: bool


class TimerOut(BaseModel):
    key: str
    kind: str
    due_at: datetime


class CreditRecordOut(BaseModel):
    """The credit workflow's record after a command: what the decision changed, at once."""

    credit_code: str
    enterprise_name: str
    grid_code: str
    version: int
    rating: str | None
    points: int | None
    whitelist_eligible: bool
    is_blacklisted: bool
    proceeding: ProceedingOut | None
    blacklist: BlacklistEntryOut | None
    entries: list[CreditEntryOut]
    pending_timers: list[TimerOut]


class RegisterEntryOut(BaseModel):
    """One entry of the public register (严重失信主体名单公示)."""

    proceeding_no: str
    credit_code: str
    enterprise_name: str
    status: Literal["listed", "expired", "removed_early"]
    trigger: str | None
    basis: str | None
    listed_at: datetime | None
    expires_at: datetime | None
    early_removal_from: datetime | None
    removed_early_at: datetime | None
    removal_revoked_at: datetime | None
    expired_at: datetime | None


class EnterpriseRowOut(BaseModel):
    """One line of the enterprise list (read model): where it is, its cases, its credit."""

    credit_code: str
    name: str
    industry: str | None
    grid_code: str | None
    grid_path: list[str] = Field(description="its unit and the units above, lowest first")
    cases_registered: int
    open_cases: int
    overdue_cases: int = Field(
        description="cases overdue now (逾期: past their rectification deadline unrectified)"
    )
    credit_state: Literal["no_record", "in_good_standing", "proceeding_open", "blacklisted"] = (
        Field(
            description="no credit record yet; a record and nothing pending; a serious-"
            "dishonesty proceeding open; on the list (严重失信主体名单) now"
        )
    )
    rating: str | None = Field(
        description="A–D as last recorded by the credit workflow; with no credit record, the "
        "policy's grade for nothing recorded (the scheme's base points): every enterprise has "
        "one, and the rating filter counts it by this"
    )
    rating_points: int | None
    blacklisted: bool = Field(description="on the list now")
    blacklisted_until: datetime | None
    open_proceeding_no: str | None


class StatisticsOut(BaseModel):
    """A unit's figures for a period computed now from the read models: for a period that
    has ended, exactly the content its stored report carries."""

    kind: Literal["monthly", "quarterly", "yearly"]
    unit_code: str
    period: str
    as_of: datetime
    period_ended: bool = Field(description="False while the period runs: figures still move")
    content: dict[str, Any] = Field(description="the figures, as a report's content")


class ListingEntryOut(BaseModel):
    """One listing of the public register of listed hazards (挂牌督办公示)."""

    listing_no: str
    hazard_id: str
    hazard_class: str
    description: str
    credit_code: str
    enterprise_name: str
    grid_code: str
    level: Literal["county", "city", "province"]
    authority_unit_code: str
    authority_name: str | None
    status: Literal["listed", "delisted", "superseded"]
    listed_at: datetime
    publish_by: datetime | None = Field(description="the legal deadline to publish it")
    published_at: datetime | None = Field(description="when duban's register published it")
    deadline: datetime | None = Field(
        description="the case's deadline in force while the listing is (for one de-listed or "
        "superseded, the one in force when it ended)"
    )
    supersedes: str | None
    superseded_by: str | None
    superseded_at: datetime | None
    delisted_at: datetime | None = Field(description="摘牌")
    delist_basis: str | None
    delisting_publish_by: datetime | None
    delisting_published_at: datetime | None


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list: every list of the API answers in this shape."""

    items: list[Item]
    total: int = Field(description="how many match, all pages together")
    limit: int = Field(description="the most items a page holds (the request's limit)")
    offset: int = Field(description="how many matching items come before this page")


# An instant as the case list and the history spell it (RFC 3339, e.g.
# 2026-12-08T01:30:00+00:00): text passed through as the record holds it.
InstantText = Field(json_schema_extra={"format": "date-time"})


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


class InboxMessageOut(BaseModel):
    """A notice in a person's inbox (收件箱)."""

    id: int
    kind: str = Field(description="the notification kind (deadline_reminder, case_escalated, …)")
    case_id: str = Field(description="the hazard id, or credit-<credit code> for a credit notice")
    subject: str
    body: str = Field(description="the notice's text, the link to the case on its last line")
    link: str
    must_acknowledge: bool = Field(
        description="a notice that must be served (送达): reading it is its acknowledgement"
    )
    created_at: datetime
    read_at: datetime | None


# --- public reports (举报) -------------------------------------------------------------------


class ChallengeOut(BaseModel):
    challenge: str
    bits: int = Field(description="leading zero bits sha256(challenge:nonce) must have")
    expires_at: str
    rule: str


class PublicReportIn(Strict):
    """举报: what anyone may report, with no sign-in, after solving a challenge."""

    challenge: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    nonce: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="any letters, digits, '_' or '-' that solve the challenge",
    )
    credit_code: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{18}$")
    grid_unit_code: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=CODE_PATTERN
    )
    place: str = text_field(max_length=500)
    description: str = text_field()
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=10)
    reporter_name: str = text_field("", max_length=100, required=False)
    reporter_contact: str = text_field("", max_length=200, required=False)


class PublicReportFiledOut(BaseModel):
    report_id: str
    receipt_code: str = Field(description="keep it: the only way to follow the report")
    status: str
    verify_by: str | None


class PublicReportFollowOut(BaseModel):
    status: str
    received_at: str
    verify_by: str
    linked_cases: int
    reward_yuan: int | None
    dismissal_reason: str | None


class PublicReportRowOut(BaseModel):
    report_id: str
    received_at: Any
    assigned_unit_code: str
    credit_code: str | None
    place: str
    summary: str
    status: str
    verify_by: Any
    alerts: int
    verified_at: Any
    hazard_ids: list[str]
    dismissal_reason: str | None
    reward_yuan: int | None
    reward_basis: str | None
    closed_at: Any


class SubstantiationIn(Strict):
    hazard_ids: list[Annotated[str, Field(max_length=80, pattern=HAZARD_ID_PATTERN)]] = Field(
        min_length=1, max_length=20
    )
    findings: str = text_field()


class DismissalIn(Strict):
    reason: str = text_field()


class RewardIn(Strict):
    hazard_class: Literal["general", "major"]
    fine_yuan: int | None = Field(default=None, ge=0, le=10**9)
    first_reporter: bool = True
