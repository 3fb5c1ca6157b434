"""The reference data: grid units (网格) and enterprises, and their lines in the lists."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import CODE_PATTERN, CreditCode, GridCode, Strict
from api.text_input import text_field


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
