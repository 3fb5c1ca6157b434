"""A unit's statistics for a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class StatisticsOut(BaseModel):
    """A unit's figures for a period computed now from the read models: for a period that
    has ended, exactly the content its stored report carries."""

    kind: Literal["monthly", "quarterly", "yearly"]
    unit_code: str
    period: str
    as_of: datetime
    period_ended: bool = Field(description="False while the period runs: figures still move")
    content: dict[str, Any] = Field(description="the figures, as a report's content")
