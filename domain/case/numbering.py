"""The numbers of the documents a case issues (挂牌编号, 整改通知书编号): derived from the hazard
id, so that a replayed case issues the same numbers."""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.grid import GridUnit
from domain.policy import ListingLevel


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8].upper()


def listing_no(
    hazard_id: str, level: ListingLevel, unit: GridUnit, now: datetime, tz: ZoneInfo
) -> str:
    """挂牌编号: level, authority unit, year and a hash of the hazard id — deterministic."""
    year = now.astimezone(tz).year
    return f"GP-{level.value.upper()}-{unit.code}-{year}-{_short_hash(hazard_id, level.value)}"


def notice_no(hazard_id: str, now: datetime, tz: ZoneInfo) -> str:
    """整改通知书编号: year and a hash of the hazard id — deterministic."""
    return f"ZG-{now.astimezone(tz).year}-{_short_hash(hazard_id, 'notice')}"
