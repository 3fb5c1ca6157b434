"""The value types of a hazard case's events (its classes, sources, bases and grounds; the
evidence, plan and 五落实 they carry) and ``CaseEvent``, the base of every event."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from domain._codec import OMIT_IF_DEFAULT
from domain.errors import DomainError


class HazardClass(StrEnum):
    GENERAL = "general"  # 一般事故隐患
    MAJOR = "major"  # 重大事故隐患


class HazardCategory(StrEnum):
    THING = "thing"  # 物的不安全状态
    PERSON = "person"  # 人的不安全行为
    MANAGEMENT = "management"  # 管理上的缺陷


class HazardSource(StrEnum):
    SELF_INSPECTION = "self_inspection"  # 企业自查
    GRID_PATROL = "grid_patrol"  # 网格巡查
    ENFORCEMENT_INSPECTION = "enforcement_inspection"  # 执法检查
    UNANNOUNCED_INSPECTION = "unannounced_inspection"  # 四不两直
    PUBLIC_REPORT = "public_report"  # 举报


class RectificationMode(StrEnum):
    IMMEDIATE = "immediate"  # 立改立销
    DEADLINE = "deadline"  # 限期整改
    LISTED = "listed"  # 挂牌督办


class CloseBasis(StrEnum):
    IMMEDIATE = "immediate"  # 立改立销
    VERIFIED = "verified"  # 验收合格销号
    SELF_RECTIFIED = "self_rectified"  # 自查自改销号: on the enterprise's own report (edition 5)


class DelistBasis(StrEnum):
    VERIFIED = "verified"  # 验收合格摘牌
    WITHDRAWN = "withdrawn"  # 撤销督办


class ReferralGround(StrEnum):
    REFUSAL = "refusal"  # 拒不整改
    LADDER_STEP = "ladder_step"  # the rung names 移送执法
    OVERDUE_AT_TOP = "overdue_at_top"  # 升级至顶仍逾期
    LISTING_PERIOD_ENDED = "listing_period_ended"  # 挂牌督办期满仍未整改


class PublicationKind(StrEnum):
    LISTING = "listing"  # 挂牌公告
    DELISTING = "delisting"  # 摘牌公告


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# The URI of a file duban stores itself (an upload, ``POST /api/v1/files``): the scheme and
# the file's SHA-256. Such evidence also records the file's size, type and name.
STORED_FILE_SCHEME = "duban-file:"


def stored_file_uri(sha256: str) -> str:
    return f"{STORED_FILE_SCHEME}{sha256}"


@dataclass(frozen=True)
class Evidence:
    """A photo or document reference (照片/文书) and its SHA-256.

    Two kinds: a reference a person typed (``uri`` anywhere, ``sha256`` as they gave it), or
    a file uploaded to duban's blob store (``uri`` is ``duban-file:<sha256>``, with ``size``,
    ``media_type`` read from the bytes, and the ``name`` it was uploaded as). The three were
    added later: left out of the data while unset, so recorded events read as they were."""

    uri: str
    sha256: str
    size: int | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    media_type: str | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    name: str | None = field(default=None, metadata=OMIT_IF_DEFAULT)

    def __post_init__(self) -> None:
        digest = self.sha256.strip().lower()
        if not _SHA256.match(digest):
            raise DomainError(
                "evidence.sha256_hex", "sha256 must be 64 hexadecimal characters", "sha256"
            )
        if not self.uri.strip():
            raise DomainError("evidence.uri_required", "evidence needs a uri", "uri")
        object.__setattr__(self, "sha256", digest)
        if self.size is not None and self.size < 0:
            raise DomainError("evidence.size_invalid", "a file's size is not negative", "size")

    @property
    def stored(self) -> bool:
        """A file in duban's blob store (uploaded), not a reference typed by a person."""
        return self.uri == stored_file_uri(self.sha256)


@dataclass(frozen=True)
class GovernancePlan:
    """The six-part governance plan (治理方案) of a major hazard (Order 16 Art 15, Hubei)."""

    goal_and_tasks: str  # 治理的目标和任务
    methods_and_measures: str  # 采取的方法和措施
    funds_and_materials: str  # 经费和物资的落实
    organisation_and_people: str  # 负责治理的机构和人员
    time_limit_and_requirements: str  # 治理的时限和要求
    safety_measures_and_emergency_plan: str  # 安全措施和应急预案

    def __post_init__(self) -> None:
        for f in fields(self):
            if not str(getattr(self, f.name)).strip():
                raise DomainError(
                    "case.plan.six_parts_required",
                    "治理方案 needs all six parts; this one is empty",
                    f"plan.{f.name}",
                )


@dataclass(frozen=True)
class ListingMeasures:
    """The 五落实 of a listing (挂牌督办): responsibility, measures, funds, time limit and
    emergency plan, each stated (Qingdao)."""

    responsibility: str  # 责任落实: who answers for the rectification
    measures: str  # 措施落实
    funds: str  # 资金落实
    time_limit: str  # 时限落实
    emergency_plan: str  # 应急预案落实

    def __post_init__(self) -> None:
        for f in fields(self):
            if not str(getattr(self, f.name)).strip():
                raise DomainError(
                    "case.list.five_implementations_required",
                    "挂牌督办 states all five of 五落实; this one is empty",
                    f"listing_measures.{f.name}",
                )


class CaseEvent:
    """Base of every case event."""

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    at: datetime
