"""The sections of a supervision policy: its enumerations (listing levels, escalation steps,
credit events) and one frozen dataclass a TOML table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from domain._codec import OMIT_IF_DEFAULT
from domain.durations import PolicyDuration
from domain.grid import GridLevel


class ListingLevel(StrEnum):
    """Level of listed supervision (挂牌督办): 县级, 市级, 省级."""

    COUNTY = "county"
    CITY = "city"
    PROVINCE = "province"

    @property
    def grid_level(self) -> GridLevel:
        return GridLevel(self.value)

    @property
    def rank(self) -> int:
        """Higher is a higher listing: county 0, city 1, province 2."""
        return {"county": 0, "city": 1, "province": 2}[self.value]


class Step(StrEnum):
    """Steps an escalation rung takes."""

    SUPERVISION_LETTER = "supervision_letter"  # 督办函
    PUBLIC_CRITICISM = "public_criticism"  # 通报
    SUMMONS = "summons"  # 约谈
    LISTING_LEVEL_RAISE = "listing_level_raise"  # 提级挂牌
    SUSPENSION_ORDER = "suspension_order"  # 停产整顿
    ENFORCEMENT_REFERRAL = "enforcement_referral"  # 移送执法


class CreditEventKind(StrEnum):
    """Happenings in a case that count on an enterprise's credit record (信用记录)."""

    ESCALATION = "escalation"  # 逾期升级
    REFUSAL = "refusal"  # 拒不整改
    ENFORCEMENT_REFERRAL = "enforcement_referral"  # 移送执法
    OVERDUE_AT_TOP = "overdue_at_top"  # 一般隐患升级至顶仍逾期
    MAJOR_OVERDUE_AT_TOP = "major_overdue_at_top"  # 重大隐患升级至顶仍逾期


@dataclass(frozen=True)
class ListedDeadlines:
    county: PolicyDuration
    city: PolicyDuration
    province: PolicyDuration

    def for_level(self, level: ListingLevel) -> PolicyDuration:
        return {
            ListingLevel.COUNTY: self.county,
            ListingLevel.CITY: self.city,
            ListingLevel.PROVINCE: self.province,
        }[level]


@dataclass(frozen=True)
class Deadlines:
    """Default rectification deadlines (整改期限) when a notice names none."""

    general: PolicyDuration
    listed: ListedDeadlines


@dataclass(frozen=True)
class Reminders:
    before_deadline: tuple[PolicyDuration, ...]


@dataclass(frozen=True)
class Verification:
    review_within: PolicyDuration  # 复查/验收 after the application
    rework: PolicyDuration  # new deadline after a failed verification, if none is given


@dataclass(frozen=True)
class ExtensionLimits:
    """When an extension must be asked for and how fast it is decided."""

    request_before: PolicyDuration  # 延期申请 at least this long before the deadline
    decide_within: PolicyDuration  # the authority decides within this after the request


@dataclass(frozen=True)
class Extension:
    request_before: PolicyDuration  # listed supervision (挂牌督办); every case without unlisted
    decide_within: PolicyDuration
    max_extensions: int
    # Cases not under listed supervision; None: request_before/decide_within apply to all.
    unlisted: ExtensionLimits | None = field(default=None, metadata=OMIT_IF_DEFAULT)

    def limits(self, listed: bool) -> ExtensionLimits:
        if listed or self.unlisted is None:
            return ExtensionLimits(self.request_before, self.decide_within)
        return self.unlisted


@dataclass(frozen=True)
class Listing:
    major_level: ListingLevel  # 重大事故隐患 are listed at registration at this level
    max_duration: PolicyDuration  # 挂牌督办期限 at most
    publish_within: PolicyDuration  # listing and de-listing are published within


@dataclass(frozen=True)
class Rung:
    """One rung of the escalation ladder (逐级督办)."""

    grid_level: GridLevel
    deadline: PolicyDuration
    steps: tuple[Step, ...]
    listing_level: ListingLevel | None = None


@dataclass(frozen=True)
class Escalation:
    ladder: tuple[Rung, ...]
    enforcement_grid_level: GridLevel  # where the enforcement team (执法队) sits


@dataclass(frozen=True)
class CreditTriggers:
    major_overdue_at_top: bool
    overdue_at_top: bool
    refusal: bool
    enforcement_referral: bool
    escalations_count: int  # 0 disables the "N escalations within a window" trigger
    escalations_within: PolicyDuration


@dataclass(frozen=True)
class Grade:
    grade: str
    min_points: int
    # 检查频次: routine inspections a year of an enterprise with this grade (edition 2).
    inspections_per_year: int | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class Rating:
    base_points: int
    window: PolicyDuration
    deductions: dict[str, int]
    grades: tuple[Grade, ...]
    blacklisted_grade: str


@dataclass(frozen=True)
class Whitelist:
    clean_period: PolicyDuration
    grades: tuple[str, ...]


@dataclass(frozen=True)
class CreditNotice:
    """What the written notice (告知书) of a listing proceeding tells the enterprise."""

    basis: str  # 依据: the legal basis
    rights: str  # 权利: the right to state its case and object (陈述申辩), where and by when


@dataclass(frozen=True)
class Credit:
    objection_window: PolicyDuration  # 陈述申辩/异议期
    list_period: PolicyDuration  # 列入期限 (automatic removal after)
    early_removal_after: PolicyDuration  # 提前移出 (信用修复) may be applied for after
    publish_within: PolicyDuration
    triggers: CreditTriggers
    rating: Rating
    whitelist: Whitelist
    notice: CreditNotice | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    # The lowest grid level whose supervisors open proceedings and decide listings, early
    # removals and their revocation; None: any supervisor (policies written before the key).
    decided_by_level: GridLevel | None = field(default=None, metadata=OMIT_IF_DEFAULT)


@dataclass(frozen=True)
class Notice:
    """What a rectification notice (整改通知书) must state besides the deadline."""

    require_measures: bool  # 整改措施/要求
    require_responsible_person: bool  # the enterprise's 整改责任人


@dataclass(frozen=True)
class SelfInspection:
    """企业自查自改 (edition 5): how far ahead an enterprise may set its own deadline for a
    general hazard, and how long the supervising unit has to accept (受理) a major one."""

    max_general_period: PolicyDuration
    accept_within: PolicyDuration  # a calendar duration: counted at registration, never blocked


@dataclass(frozen=True)
class PublicReports:
    """举报 (public reports): the verification period (核实), its reminder, the reward scheme
    (《安全生产领域举报奖励办法》 and local additions) and who may see a reporter's identity."""

    verify_within: PolicyDuration  # 核实 within this after the report is received
    remind_before: PolicyDuration  # remind the assigned unit this long before verify_by
    escalate_every: PolicyDuration  # unverified: alerted one grid level up, then every this
    reward_decided_by_level: GridLevel  # the lowest grid level whose supervisors decide rewards
    major_reward_share_percent: int  # 15: 15 % of the fine
    major_reward_min_yuan: int  # 3,000
    major_reward_max_yuan: int  # 300,000
    general_reward_yuan: int  # local: a fixed reward for a general hazard (0: none)
    identity_visible_to: tuple[str, ...]  # roles that may read the reporter's identity
    per_address_per_hour: int  # flood protection: reports one address may file an hour
    proof_of_work_bits: int  # leading zero bits the submission's proof-of-work needs


@dataclass(frozen=True)
class Reports:
    monthly_day: int
    quarterly_day: int
    yearly_month: int
    yearly_day: int
    hour: int


@dataclass(frozen=True)
class CalendarWarning:
    """When the administrator is told that next year's holidays (节假日安排) are not loaded:
    from ``warn_from`` (month-day, local) on, a missing next year is a warning."""

    warn_from: str = "11-01"

    def warning_day(self, year: int) -> date:
        month, day = (int(part) for part in self.warn_from.split("-"))
        return date(year, month, day)
