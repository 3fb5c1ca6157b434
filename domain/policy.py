"""The supervision policy (督办策略): every number the rules use, from one file an administrator
edits. ``parse_policy`` validates a TOML text and names the exact key path of any error;
``Policy.to_data``/``Policy.from_data`` give the JSON shape a workflow carries (the same shape
as the TOML file), and ``fingerprint`` identifies the exact policy a case runs under.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain._codec import from_data, to_data
from domain.durations import PolicyDuration
from domain.errors import DomainError, PolicyError
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
class Extension:
    request_before: PolicyDuration  # 延期申请 at least this long before the deadline
    decide_within: PolicyDuration
    max_extensions: int


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
class Credit:
    objection_window: PolicyDuration  # 陈述申辩/异议期
    list_period: PolicyDuration  # 列入期限 (automatic removal after)
    early_removal_after: PolicyDuration  # 提前移出 (信用修复) may be applied for after
    publish_within: PolicyDuration
    triggers: CreditTriggers
    rating: Rating
    whitelist: Whitelist


@dataclass(frozen=True)
class Reports:
    monthly_day: int
    quarterly_day: int
    yearly_month: int
    yearly_day: int
    hour: int


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    time_zone: str
    deadlines: Deadlines
    reminders: Reminders
    verification: Verification
    extension: Extension
    listing: Listing
    escalation: Escalation
    credit: Credit
    reports: Reports
    _fingerprint: str = field(default="", init=False, compare=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of ``to_data()``."""
        if not self._fingerprint:
            canonical = json.dumps(
                self.to_data(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
            object.__setattr__(self, "_fingerprint", hashlib.sha256(canonical.encode()).hexdigest())
        return self._fingerprint

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = to_data(self)
        data.pop("_fingerprint")
        return data

    @staticmethod
    def from_data(data: dict[str, Any]) -> Policy:
        return _validate(_read(data))


def _read(data: dict[str, Any]) -> Policy:
    if "_fingerprint" in data:
        raise PolicyError("_fingerprint", "unknown key", "policy.unknown_key")
    try:
        policy: Policy = from_data(Policy, data, strict=True)
    except DomainError as exc:
        raise PolicyError(exc.field or "", exc.message, "policy." + exc.rule) from exc
    return policy


def parse_policy(text: str) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError("", f"not valid TOML: {exc}", "policy.toml_syntax") from exc
    return Policy.from_data(data)


def _check(ok: bool, key: str, message: str, rule: str) -> None:
    if not ok:
        raise PolicyError(key, message, rule)


def _validate(p: Policy) -> Policy:
    _check(bool(p.name.strip()), "name", "must not be empty", "policy.name_required")
    try:
        ZoneInfo(p.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(
            "time_zone", f"unknown time zone {p.time_zone!r}", "policy.time_zone"
        ) from None
    seen: set[PolicyDuration] = set()
    for i, offset in enumerate(p.reminders.before_deadline):
        key = f"reminders.before_deadline[{i}]"
        _check(
            not offset.is_working_days,
            key,
            "reminders use calendar durations",
            "policy.reminder_calendar",
        )
        _check(offset not in seen, key, "duplicate reminder offset", "policy.reminder_unique")
        seen.add(offset)
    _check(
        p.extension.max_extensions >= 0,
        "extension.max_extensions",
        "must be ≥ 0",
        "policy.non_negative",
    )
    ladder = p.escalation.ladder
    _check(bool(ladder), "escalation.ladder", "needs at least one rung", "policy.ladder_non_empty")
    below = GridLevel.VILLAGE
    for i, rung in enumerate(ladder):
        key = f"escalation.ladder[{i}]"
        _check(
            rung.grid_level.is_above(below),
            f"{key}.grid_level",
            f"{rung.grid_level.value} must be above {below.value} (the ladder goes up the grid)",
            "policy.ladder_ascends",
        )
        below = rung.grid_level
        raises = Step.LISTING_LEVEL_RAISE in rung.steps
        _check(
            raises == (rung.listing_level is not None),
            f"{key}.listing_level",
            "a rung lists the hazard at a level exactly when its steps include listing_level_raise",
            "policy.listing_raise_level",
        )
        _check(bool(rung.steps), f"{key}.steps", "a rung takes at least one step", "policy.steps")
    t = p.credit.triggers
    _check(
        t.escalations_count >= 0,
        "credit.triggers.escalations_count",
        "must be ≥ 0",
        "policy.non_negative",
    )
    r = p.credit.rating
    names = [g.grade for g in r.grades]
    _check(bool(names), "credit.rating.grades", "needs at least one grade", "policy.grades")
    _check(
        len(set(names)) == len(names),
        "credit.rating.grades",
        "grades must be unique",
        "policy.grades",
    )
    for i in range(1, len(r.grades)):
        _check(
            r.grades[i].min_points < r.grades[i - 1].min_points,
            f"credit.rating.grades[{i}].min_points",
            "grades go from best to worst with strictly decreasing min_points",
            "policy.grades_order",
        )
    _check(
        r.blacklisted_grade in names,
        "credit.rating.blacklisted_grade",
        "must be one of the grades",
        "policy.grades",
    )
    kinds = {k.value for k in CreditEventKind}
    for kind, points in r.deductions.items():
        _check(
            kind in kinds,
            f"credit.rating.deductions.{kind}",
            f"unknown credit event kind, use {sorted(kinds)}",
            "policy.deduction_kind",
        )
        _check(
            points >= 0, f"credit.rating.deductions.{kind}", "must be ≥ 0", "policy.non_negative"
        )
    for i, g in enumerate(p.credit.whitelist.grades):
        _check(
            g in names,
            f"credit.whitelist.grades[{i}]",
            "must be one of the grades",
            "policy.grades",
        )
    rep = p.reports
    _check(1 <= rep.monthly_day <= 28, "reports.monthly_day", "must be 1..28", "policy.range")
    _check(1 <= rep.quarterly_day <= 28, "reports.quarterly_day", "must be 1..28", "policy.range")
    _check(1 <= rep.yearly_month <= 12, "reports.yearly_month", "must be 1..12", "policy.range")
    _check(
        1 <= rep.yearly_day <= 28
        or (rep.yearly_month != 2 and rep.yearly_day <= 30)
        or (rep.yearly_month in (1, 3, 5, 7, 8, 10, 12) and rep.yearly_day == 31),
        "reports.yearly_day",
        "not a day of that month",
        "policy.range",
    )
    _check(0 <= rep.hour <= 23, "reports.hour", "must be 0..23", "policy.range")
    return p


def _load(name: str) -> Policy:
    text = resources.files("domain.policies").joinpath(name).read_text(encoding="utf-8")
    return parse_policy(text)


def load_default_policy() -> Policy:
    """The shipped default policy, each value with its source."""
    return _load("default.toml")


def load_drill_policy() -> Policy:
    """A drill policy in seconds: a whole ladder runs in about a minute."""
    return _load("drill.toml")
