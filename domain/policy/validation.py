"""The checks of a policy as a whole, each error naming the exact key path: ranges, the
escalation ladder, credit, the edition's rules, and the cross-checks between sections."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.durations import PolicyDuration
from domain.editions import (
    EDITIONS,
    is_known_edition,
    notice_requirements_allowed,
    policy_values_cross_checked,
    self_registration_bounded,
)
from domain.errors import PolicyError
from domain.grid import GridLevel
from domain.policy.sections import CreditEventKind, ListingLevel, PublicReports, Step

if TYPE_CHECKING:  # the type alone: the model calls these checks
    from domain.policy.model import Policy


def _check(ok: bool, key: str, message: str, rule: str) -> None:
    if not ok:
        raise PolicyError(key, message, rule)


def validate(p: Policy) -> Policy:
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
