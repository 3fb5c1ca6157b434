"""Events of a listing (挂牌督办): listed, published and de-listed (摘牌)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from domain._codec import OMIT_IF_DEFAULT
from domain.case.event_types.values import CaseEvent, DelistBasis, ListingMeasures, PublicationKind
from domain.policy import ListingLevel


@dataclass(frozen=True)
class HazardListed(CaseEvent):
    """挂牌督办 at a level, by the grid unit at that level; ``deadline`` None keeps the current."""

    EVENT_TYPE: ClassVar[str] = "HazardListed"
    listing_no: str
    level: ListingLevel
    authority_unit_code: str
    authority_name: str
    authority_person: str
    measures: str
    deadline: datetime | None
    deadline_no: int | None
    supersedes: str | None  # the lower listing this one replaces (提级挂牌)
    publish_by: datetime
    listed_by: str
    at: datetime
    # 五落实 (edition 2: when a person lists). Fields added after edition 1 are left out of
    # the data while they hold their default, so that recorded events stay byte-identical.
    listing_measures: ListingMeasures | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class ListingPublished(CaseEvent):
    """挂牌/摘牌公告: the listing or de-listing entered on duban's public register of listed
    hazards, which is its publication; ``publish_by`` is the legal deadline it meets."""

    EVENT_TYPE: ClassVar[str] = "ListingPublished"
    listing_no: str
    kind: PublicationKind
    level: ListingLevel
    authority_unit_code: str
    publish_by: datetime
    at: datetime


@dataclass(frozen=True)
class HazardDelisted(CaseEvent):
    """摘牌 by the listing authority."""

    EVENT_TYPE: ClassVar[str] = "HazardDelisted"
    listing_no: str
    level: ListingLevel
    authority_unit_code: str
    basis: DelistBasis
    publish_by: datetime
    delisted_by: str
    at: datetime
