"""An uploaded evidence file, as ``POST /files`` answers it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FileOut(BaseModel):
    """An uploaded evidence file: the reference a registration, plan, report or verification
    cites (its ``sha256`` and ``name``), and what the event will record of it."""

    sha256: str
    size: int = Field(description="bytes")
    media_type: str = Field(description="read from the file's bytes, never from its name")
    name: str = Field(description="for display only: directories and control characters gone")
    uri: str = Field(description="duban-file:<sha256>, as events record it")
