"""The body of an error answer."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorBody(BaseModel):
    rule: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody
