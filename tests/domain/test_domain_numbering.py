"""A notice's and a listing's number (文号) is recorded in the case's events and printed on its
documents: the same hazard gives the same number on every replay, counted in the policy's year."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from domain.case.numbering import listing_no, notice_no
from domain.policy import ListingLevel
from tests.domain.domain_builders import COUNTY, SHANGHAI


def short_hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8].upper()


def test_a_notice_number_is_the_local_year_and_a_hash_of_the_hazard():
    # 2025-12-31 20:00 UTC is already 2026 in Shanghai
    now = datetime(2025, 12, 31, 20, tzinfo=UTC)
    assert notice_no("hz-1", now, SHANGHAI) == f"ZG-2026-{short_hash('hz-1', 'notice')}"
    assert notice_no("hz-1", now, SHANGHAI) == "ZG-2026-751C0D39"  # as recorded: never changes


def test_a_listing_number_names_the_level_unit_local_year_and_a_hash():
    now = datetime(2025, 12, 31, 20, tzinfo=UTC)
    level = ListingLevel.COUNTY
    assert listing_no("hz-1", level, COUNTY, now, SHANGHAI) == (
        f"GP-{level.value.upper()}-{COUNTY.code}-2026-{short_hash('hz-1', level.value)}"
    )
    assert listing_no("hz-1", level, COUNTY, now, SHANGHAI) == "GP-COUNTY-P37-C07-X82-2026-9960886C"
