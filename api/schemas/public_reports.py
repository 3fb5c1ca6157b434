"""Public reports (举报): the challenge, the report anyone may file, and the bodies of its
handling."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import CODE_PATTERN, HAZARD_ID_PATTERN, EvidenceIn, Strict
from api.text_input import text_field


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
