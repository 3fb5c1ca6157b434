"""A notice in a person's inbox (收件箱)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
