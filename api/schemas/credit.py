"""The bodies of an enterprise's credit: the commands of a serious-dishonesty proceeding and
its record, and what the credit questions answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Strict
from api.text_input import text_field


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
