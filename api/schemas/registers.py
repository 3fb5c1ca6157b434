"""The entries of the public registers: the serious-dishonesty list (严重失信主体名单) and the
listed hazards (挂牌督办)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


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
