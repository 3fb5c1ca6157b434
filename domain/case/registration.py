"""Registration (登记隐患): who may register a hazard, what its record must state, the listing it
makes, and the case it opens — closed at once (立改立销) or with its rectification notice.

``register_hazard`` reads as its steps: the registrar, the hazard's facts, the listing, the
grid path, the registrar's authority, the notice's contents; then the events.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from datetime import datetime

from domain.calendar import WorkingCalendar
from domain.case.commands import Actor, RegisterHazard, Role
from domain.case.events import (
    CaseClosed,
    CaseEvent,
    CloseBasis,
    HazardClass,
    HazardRegistered,
    HazardSource,
    NoticeAwaitingCalendar,
    RectificationMode,
    SelfReportAwaitingAcceptance,
)
from domain.case.guards import acting_unit, future_deadline, require_role, require_text
from domain.case.listing import require_listing_measures, require_listing_rank
from domain.case.notice import issue_notice
from domain.durations import utc_instant
from domain.editions import (
    authority_follows_the_grid,
    self_registration_bounded,
    self_reported_major_awaits_acceptance,
)
from domain.errors import CalendarDataMissing, DomainError
from domain.grid import GridLevel
from domain.policy import ListingLevel, Policy

# A hazard id names the case's workflow and event stream (workflows/ids.py uses this pattern).
HAZARD_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
HAZARD_ID_RULE = (
    "1-80 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
)


def validate_hazard_id(hazard_id: str) -> str:
    """``hazard_id`` when the case can be recorded under it (``case.register.hazard_id_pattern``
    otherwise): every rule of every edition, since no other id could ever have been stored."""
    if not HAZARD_ID_PATTERN.match(hazard_id):
        raise DomainError(
            "case.register.hazard_id_pattern", f"{hazard_id!r}: {HAZARD_ID_RULE}", "hazard_id"
        )
    return hazard_id


def register_hazard(
    cmd: RegisterHazard,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    *,
    strict: bool = False,
) -> list[CaseEvent]:
    """登记隐患. A registration is never refused for calendar data: when its notice needs a
    year the calendar lacks, the hazard is recorded with the notice waiting for that year
    (NoticeAwaitingCalendar). ``strict``: the rules before that, which raised instead."""
    _require_registrar(cmd.actor, cmd.source)
    found_at = _require_hazard_facts(cmd, now)
    listing = _listing_at_registration(cmd, policy)
    _validate_path(cmd, policy, listing.level)
    _require_registrar_authority(cmd, listing, policy)
    _check_notice_contents(cmd, policy)
    self_reported = _is_self_reported(cmd, policy)
    if self_reported:
        _require_self_registration(cmd, now, policy, calendar)
    registered = replace(_registered(cmd, found_at, now, policy), self_reported=self_reported)
    if cmd.mode is RectificationMode.IMMEDIATE:
        return [registered, CaseClosed(basis=CloseBasis.IMMEDIATE, at=now)]
    notice = _notice_to_issue(cmd, listing.level, now)
    events = [registered, *_notice_or_its_wait(cmd, notice, now, policy, calendar, strict=strict)]
    if (
        self_reported
        and cmd.hazard_class is HazardClass.MAJOR
        and self_reported_major_awaits_acceptance(policy)
    ):
        events.append(_awaiting_acceptance(cmd, now, policy, calendar))
    return events


def _is_self_reported(cmd: RegisterHazard, policy: Policy) -> bool:
    """企业自查: the enterprise registers what it found itself (edition 5 records it so)."""
    return cmd.actor.role is Role.ENTERPRISE and self_registration_bounded(policy)


def _require_self_registration(
    cmd: RegisterHazard, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> None:
    """(``self_registration_bounded``) The enterprise's own registration states its measures
    and a deadline; a general hazard's deadline lies within ``max_general_period`` (a major
    hazard's is bounded by the listing maximum, as every listed deadline)."""
    rules = policy.self_inspection
    assert rules is not None  # the policy's validation requires it from edition 5
    if cmd.mode is RectificationMode.IMMEDIATE:
        return
    require_text(
        cmd.measures,
        "case.self_inspection.measures_required",
        "measures",
        "the rectification measures (整改措施) the enterprise takes",
    )
    if cmd.deadline is None:
        raise DomainError(
            "case.self_inspection.deadline_required",
            "an enterprise sets its own rectification deadline (整改期限)",
            "deadline",
        )
    deadline = future_deadline(cmd.deadline, now, "deadline")
    if cmd.hazard_class is HazardClass.GENERAL:
        latest = rules.max_general_period.add_to(now, calendar, policy.tz)
        if deadline > latest:
            raise DomainError(
                "case.self_inspection.deadline_exceeds_max",
                f"a self-found general hazard's deadline is at most "
                f"{rules.max_general_period} ahead ({latest.isoformat()})",
                "deadline",
            )


def _awaiting_acceptance(
    cmd: RegisterHazard, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> SelfReportAwaitingAcceptance:
    """The self-reported major hazard goes to its listing authority for acceptance (受理)."""
    rules = policy.self_inspection
    assert rules is not None
    level = policy.listing.major_level.grid_level
    unit = next(u for u in cmd.grid_path if u.level is level)  # the path was checked for it
    return SelfReportAwaitingAcceptance(
        unit_code=unit.code,
        accept_by=rules.accept_within.add_to(now, calendar, policy.tz),
        at=now,
    )


def _require_registrar(actor: Actor, source: HazardSource) -> None:
    """An inspector or a supervisor registers; an enterprise, too, what it found itself (自查)."""
    if source is HazardSource.SELF_INSPECTION:
        require_role(
            actor,
            (Role.INSPECTOR, Role.SUPERVISOR, Role.ENTERPRISE),
            "case.register.role",
            "register a hazard",
        )
    else:
        require_role(
            actor, (Role.INSPECTOR, Role.SUPERVISOR), "case.register.role", "register a hazard"
        )


def _require_hazard_facts(cmd: RegisterHazard, now: datetime) -> datetime:
    """The hazard's id, description, place and time of finding (an instant not after ``now``,
    returned in UTC); a major hazard's checklist clause, and no 立改立销 for it."""
    require_text(cmd.hazard_id, "case.register.hazard_id_required", "hazard_id", "a hazard id")
    validate_hazard_id(cmd.hazard_id)
    require_text(
        cmd.description, "case.register.description_required", "description", "a description"
    )
    require_text(cmd.location, "case.register.location_required", "location", "a location")
    found_at = utc_instant(cmd.found_at, "found_at")
    if found_at > now:
        raise DomainError(
            "case.register.found_at_not_future",
            "found_at must be an aware instant not after now",
            "found_at",
        )
    major = cmd.hazard_class is HazardClass.MAJOR
    if major and not (cmd.checklist_clause or "").strip():
        raise DomainError(
            "case.register.major_requires_clause",
            "a 重大事故隐患 cites the clause of the checklist (判定标准) that makes it major",
            "checklist_clause",
        )
    if cmd.mode is RectificationMode.IMMEDIATE and major:
        raise DomainError(
            "case.register.major_not_immediate", "a major hazard cannot be 立改立销", "mode"
        )
    return found_at


@dataclass(frozen=True)
class _Listing:
    """The listing a registration makes: its level (None: none), and whether a person asked for
    it rather than the policy listing every major hazard at ``listing.major_level``."""

    level: ListingLevel | None
    by_person: bool


def _listing_at_registration(cmd: RegisterHazard, policy: Policy) -> _Listing:
    """A major hazard is listed at the policy's level at least (a person may ask higher); a
    general one only in mode ``listed``, at the level a supervisor gives."""
    level = cmd.listing_level
    if cmd.hazard_class is HazardClass.MAJOR:
        auto = policy.listing.major_level
        by_person = level is not None and level.rank > auto.rank
        return _Listing(auto if level is None or level.rank < auto.rank else level, by_person)
    if cmd.mode is RectificationMode.LISTED:
        if level is None:
            raise DomainError(
                "case.register.listing_level_required",
                "a listed hazard needs a listing level",
                "listing_level",
            )
        require_role(
            cmd.actor, (Role.SUPERVISOR,), "case.list.supervisor_only", "list a hazard (挂牌督办)"
        )
        return _Listing(level, by_person=True)
    if level is not None:
        raise DomainError(
            "case.register.listing_level_needs_listed_mode",
            "use mode listed to list a general hazard",
            "listing_level",
        )
    return _Listing(None, by_person=False)


def _validate_path(cmd: RegisterHazard, policy: Policy, listing_level: ListingLevel | None) -> None:
    """The enterprise's grid path (定格): from its own village unit up, each unit the child of the
    next, with a unit at every level the policy escalates to or the hazard is listed at."""
    path = cmd.grid_path
    if not path:
        raise DomainError(
            "case.register.grid_path_required",
            "the enterprise's grid path is required",
            "grid_path",
        )
    if path[0].code != cmd.enterprise.grid_code or path[0].level is not GridLevel.VILLAGE:
        raise DomainError(
            "case.register.grid_path_starts_at_enterprise_unit",
            "the grid path starts at the enterprise's own village-level unit (定格)",
            "grid_path",
        )
    for child, parent in itertools.pairwise(path):
        if child.parent_code != parent.code or not parent.level.is_above(child.level):
            raise DomainError(
                "case.register.grid_path_chain",
                f"{parent.code} is not the parent of {child.code}",
                "grid_path",
            )
    levels = {u.level for u in path}
    needed = {r.grid_level for r in policy.escalation.ladder} | {
        policy.escalation.enforcement_grid_level
    }
    if listing_level is not None:
        needed.add(listing_level.grid_level)
    missing = sorted((lv for lv in needed if lv not in levels), key=lambda lv: lv.rank)
    if missing:
        raise DomainError(
            "case.register.grid_path_missing_level",
            f"the grid path has no unit at {', '.join(lv.value for lv in missing)}, "
            "which the policy escalates or lists to",
            "grid_path",
        )


def _check_notice_contents(cmd: RegisterHazard, policy: Policy) -> None:
    """整改通知书 states the measures and the enterprise's responsible person (policy.notice)."""
    rules = policy.notice
    if rules is None or cmd.mode is RectificationMode.IMMEDIATE:
        return
    if rules.require_measures:
        require_text(
            cmd.measures,
            "case.notice.measures_required",
            "measures",
            "the rectification measures (整改措施) of the notice",
        )
    if rules.require_responsible_person:
        require_text(
            cmd.responsible_person,
            "case.notice.responsible_person_required",
            "responsible_person",
            "the enterprise's person responsible for the rectification (整改责任人)",
        )


def _require_registrar_authority(cmd: RegisterHazard, listing: _Listing, policy: Policy) -> None:
    """(``authority_follows_the_grid``) A registrar who acts for a unit acts for one on the
    grid path; a listing a person asks for is made by a supervisor at that level or above,
    with its 五落实."""
    if not authority_follows_the_grid(policy):
        return
    actor = cmd.actor
    if actor.role is Role.SUPERVISOR or actor.unit_code is not None:
        acting_unit(cmd.grid_path, actor)
    if listing.by_person and listing.level is not None:
        require_role(
            actor, (Role.SUPERVISOR,), "case.list.supervisor_only", "list a hazard (挂牌督办)"
        )
        require_listing_rank(cmd.grid_path, actor, listing.level, policy)
        require_listing_measures(cmd.listing_measures, policy)


def _registered(
    cmd: RegisterHazard, found_at: datetime, now: datetime, policy: Policy
) -> HazardRegistered:
    """The hazard as recorded, with the policy the case will decide under."""
    return HazardRegistered(
        hazard_id=cmd.hazard_id,
        credit_code=cmd.enterprise.credit_code,
        enterprise_name=cmd.enterprise.name,
        industry=cmd.enterprise.industry,
        grid_path=cmd.grid_path,
        hazard_class=cmd.hazard_class,
        checklist_clause=cmd.checklist_clause,
        category=cmd.category,
        source=cmd.source,
        description=cmd.description,
        location=cmd.location,
        found_by=cmd.found_by,
        found_at=found_at,
        evidence=cmd.evidence,
        mode=cmd.mode,
        registered_by=cmd.actor.id,
        policy_name=policy.name,
        policy_version=policy.version,
        policy_fingerprint=policy.fingerprint,
        time_zone=policy.time_zone,
        at=now,
    )


def _notice_to_issue(
    cmd: RegisterHazard, listing_level: ListingLevel | None, now: datetime
) -> NoticeAwaitingCalendar:
    """What the rectification notice will say: the person's measures, responsible person and
    deadline (in the future, if given), and the listing it makes; ``missing_year`` 0 until it
    has to wait for one."""
    return NoticeAwaitingCalendar(
        missing_year=0,
        measures=cmd.measures,
        responsible_person=cmd.responsible_person,
        deadline=future_deadline(cmd.deadline, now, "deadline")
        if cmd.deadline is not None
        else None,
        listing_level=listing_level,
        listing_measures=cmd.listing_measures,
        issued_by=cmd.actor.id,
        at=now,
    )


def _notice_or_its_wait(
    cmd: RegisterHazard,
    notice: NoticeAwaitingCalendar,
    now: datetime,
    policy: Policy,
    calendar: WorkingCalendar,
    *,
    strict: bool,
) -> list[CaseEvent]:
    """The notice (and the listing it makes) issued now or, when it needs a year the calendar
    lacks, the notice waiting for that year."""
    try:
        # Counted exactly as before (a registration that needed no missing year records what
        # it always recorded): the listing maximum is computed even where it cannot bind.
        return issue_notice(cmd.hazard_id, cmd.grid_path, notice, now, policy, calendar)
    except CalendarDataMissing:
        if strict:
            raise
    try:
        return issue_notice(
            cmd.hazard_id, cmd.grid_path, notice, now, policy, calendar, bounded=True
        )
    except CalendarDataMissing as missing:
        # A hazard found is a fact: it is recorded now; its notice waits for the year.
        return [replace(notice, missing_year=missing.year)]


def registration_needed_missing_year(
    command: RegisterHazard, now: datetime, policy: Policy, calendar: WorkingCalendar
) -> int | None:
    """The year whose missing holiday data made the rules before NoticeAwaitingCalendar refuse
    this registration (they counted every deadline at once), or None. The workflow keeps
    cases recorded under that code on their path (``workflow.patched``)."""
    try:
        register_hazard(command, utc_instant(now, "now"), policy, calendar, strict=True)
    except CalendarDataMissing as missing:
        return missing.year
    except DomainError:
        return None
    return None
