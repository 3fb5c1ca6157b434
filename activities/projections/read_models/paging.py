"""The checks every read-model query makes of its arguments: a page of at most ``MAX_PAGE``
rows from a non-negative offset, and a ``now`` that carries a time zone (an answer that
depends on the instant of the question is judged at it, in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

MAX_PAGE = 500


def aware(now: datetime, name: str = "now") -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{name}: must carry a time zone")
    return now.astimezone(UTC)


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit: must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise ValueError("offset: must be >= 0")
