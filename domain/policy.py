"""The supervision policy (督办策略): every number the rules use, from one file an administrator
edits. ``parse_policy`` validates a TOML text and names the exact key path of any error;
``Policy.to_data``/``Policy.from_data`` give the JSON shape a workflow carries (the same shape
as the TOML file), and ``fingerprint`` identifies the exact policy a case runs under.

Editions. A case decides for months under the policy captured when it started, and a recorded
case must replay with the same outcome. Rules added later therefore switch on with the
policy's ``edition`` (absent = 1) or with keys that older policies do not have; a policy
without them parses as it always did and keeps its fingerprint. Each rule an edition brought
is a named predicate in ``domain.editions``.

The domain parses text (``parse_policy``); reading a file (the shipped ones are under
``domain/policies/``) is the caller's I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain._codec import OMIT_IF_DEFAULT, from_data, to_data
from domain.durations import PolicyDuration
from domain.editions import (
    EDITIONS,
    is_known_edition,
    notice_requirements_allowed,
    policy_values_cross_checked,
    self_registration_bounded,
)
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
    edition: int = field(default=1, metadata=OMIT_IF_DEFAULT)
    notice: Notice | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    # Edition 5 (企业自查自改); left out of the data (and the fingerprint) while absent.
    self_inspection: SelfInspection | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    # The public-report workflow's rules (举报); no case decides by them.
    public_reports: PublicReports | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    # Not a rule of any case: left out of the data (and the fingerprint) at its default.
    calendar: CalendarWarning = field(default=CalendarWarning(), metadata=OMIT_IF_DEFAULT)
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
    _check(
        is_known_edition(p),
        "edition",
        f"must be one of {list(EDITIONS)} (the rules edition this policy is written for)",
        "policy.edition",
    )
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
    _check(
        _is_month_day(p.calendar.warn_from),
        "calendar.warn_from",
        "a month and day, MM-DD (11-01: from 1 November)",
        "policy.calendar_warn_from",
    )
    if p.notice is not None:
        _check(
            notice_requirements_allowed(p),
            "notice",
            "the notice requirements need edition = 2",
            "policy.edition_required",
        )
    _validate_self_inspection(p)
    if p.public_reports is not None:
        _validate_public_reports(p.public_reports)
    if p.credit.notice is not None:
        for name in ("basis", "rights"):
            _check(
                bool(getattr(p.credit.notice, name).strip()),
                f"credit.notice.{name}",
                "must not be empty: the 告知书 states it",
                "policy.notice_text",
            )
    if policy_values_cross_checked(p):
        _cross_check_values(p)
    return p


def _validate_self_inspection(p: Policy) -> None:
    """Edition 5's rules need ``[self_inspection]``; its acceptance period is counted at
    registration, which is never refused for calendar data, so it is a calendar duration."""
    si = p.self_inspection
    if si is None:
        _check(
            not self_registration_bounded(p),
            "self_inspection",
            "edition 5 states [self_inspection] (max_general_period, accept_within)",
            "policy.self_inspection_required",
        )
        return
    _check(
        not si.max_general_period.is_working_days,
        "self_inspection.max_general_period",
        "a calendar duration (P30D): a registration never waits for holiday data",
        "policy.self_inspection_calendar",
    )
    _check(
        not si.accept_within.is_working_days,
        "self_inspection.accept_within",
        "a calendar duration (P3D, PT1H): it is counted at registration, which never waits "
        "for holiday data",
        "policy.self_inspection_calendar",
    )


def _validate_public_reports(r: PublicReports) -> None:
    key = "public_reports"
    _check(
        not (
            r.remind_before.is_working_days
            or r.verify_within.is_working_days
            or r.escalate_every.is_working_days
        ),
        f"{key}.verify_within",
        "calendar durations (P30D, PT1H): a report is received without holiday data",
        "policy.public_reports_calendar",
    )
    _check(
        0 <= r.major_reward_share_percent <= 100,
        f"{key}.major_reward_share_percent",
        "must be 0..100",
        "policy.range",
    )
    _check(
        0 <= r.major_reward_min_yuan <= r.major_reward_max_yuan,
        f"{key}.major_reward_min_yuan",
        "must be ≥ 0 and at most major_reward_max_yuan",
        "policy.range",
    )
    _check(r.general_reward_yuan >= 0, f"{key}.general_reward_yuan", "must be ≥ 0", "policy.range")
    _check(
        r.per_address_per_hour >= 1, f"{key}.per_address_per_hour", "must be ≥ 1", "policy.range"
    )
    _check(
        0 <= r.proof_of_work_bits <= 32,
        f"{key}.proof_of_work_bits",
        "must be 0..32",
        "policy.range",
    )
    roles = {"inspector", "supervisor", "auditor", "admin"}
    for i, role in enumerate(r.identity_visible_to):
        _check(
            role in roles,
            f"{key}.identity_visible_to[{i}]",
            f"one of {sorted(roles)} (an enterprise never sees who reported it)",
            "policy.public_reports_role",
        )


def _is_month_day(text: str) -> bool:
    if not re.fullmatch(r"\d{2}-\d{2}", text):
        return False
    try:
        date(2001, int(text[:2]), int(text[3:]))  # a year without 29 February
    except ValueError:
        return False
    return True


def _check_at_most(
    shorter: PolicyDuration, key: str, longer: PolicyDuration, longer_key: str, rule: str
) -> None:
    _check(
        shorter.surely_at_most(longer),
        key,
        f"{shorter} can be longer than {longer_key} = {longer}",
        rule,
    )


def _cross_check_values(p: Policy) -> None:
    """Cross-checks between values: each one alone may be fine and still contradict another."""
    for level in ListingLevel:
        _check_at_most(
            p.deadlines.listed.for_level(level),
            f"deadlines.listed.{level.value}",
            p.listing.max_duration,
            "listing.max_duration",
            "policy.listed_deadline_exceeds_max",
        )
    limit_sets = [("extension", p.extension.limits(listed=True))]
    if p.extension.unlisted is not None:
        limit_sets.append(("extension.unlisted", p.extension.unlisted))
    for key, limits in limit_sets:
        decide, request = limits.decide_within, limits.request_before
        _check(
            decide.is_working_days == request.is_working_days,
            f"{key}.decide_within",
            f"use the same unit as {key}.request_before ({request}) so that the two compare",
            "policy.extension_units",
        )
        _check(
            decide.surely_at_most(request) and decide != request,
            f"{key}.decide_within",
            f"{decide} must be shorter than {key}.request_before = {request}: a request made "
            "at the cut-off must be decided before the deadline",
            "policy.extension_decision_fits",
        )
    grades = p.credit.rating.grades
    for i, g in enumerate(grades):
        key = f"credit.rating.grades[{i}].inspections_per_year"
        _check(
            g.inspections_per_year is not None,
            key,
            "edition 2 gives every grade its inspection frequency (检查频次)",
            "policy.inspections_required",
        )
        assert g.inspections_per_year is not None
        _check(g.inspections_per_year >= 0, key, "must be ≥ 0", "policy.non_negative")
        if i:
            before = grades[i - 1].inspections_per_year
            assert before is not None
            _check(
                g.inspections_per_year >= before,
                key,
                "a worse grade is inspected at least as often as a better one",
                "policy.inspections_order",
            )
