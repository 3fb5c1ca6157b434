"""Every rule the domain enforces, refused once by name: given a state, when a command (or a
piece of data), then the DomainError that names the rule and the field. The last test reads
the domain's source and fails when a rule appears that no test of tests/domain names."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from domain._codec import from_data, to_data
from domain.case import (
    CaseState,
    command_from_data,
    decide,
    event_from_data,
    event_to_data,
    evolve,
    fold,
)
from domain.case.commands import (
    Actor,
    CaseCommand,
    DecideExtension,
    FireTimer,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
)
from domain.case.events import CaseClosed, CaseEvent, CloseBasis, Evidence, RectificationMode
from domain.credit import (
    CreditState,
    credit_command_from_data,
    credit_event_from_data,
    decide_credit,
    evolve_credit,
    fold_credit,
)
from domain.credit.commands import (
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
    FireCreditTimer,
    OpenCreditRecord,
    OpenProceeding,
    RecordCreditEvent,
    RevokeEarlyRemoval,
)
from domain.credit.events import CreditEvent, CreditRecordOpened
from domain.durations import PolicyDuration
from domain.errors import DomainError, PolicyError
from domain.grid import Enterprise, GridTree
from domain.policy import CreditEventKind, ListingLevel, Policy, parse_policy
from tests.domain.domain_builders import (
    AUDITOR,
    CALENDAR,
    CITY_SUPERVISOR,
    COUNTY_SUPERVISOR,
    DEFAULT,
    DEFAULT_TEXT,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    FIVE,
    NOW,
    PATH,
    PHOTO,
    PLAN,
    SUPERVISOR,
    SYSTEM,
    VILLAGE,
    register,
    register_major,
    run,
)

REPORT = ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,))
EXTEND = RequestExtension(ENTERPRISE_ACTOR, NOW + timedelta(days=60), "设备到货延迟", "停用工位")


def general() -> CaseState:
    state, _ = run([(register(), NOW)])
    assert state is not None
    return state


def reported() -> CaseState:
    state, _ = run([(register(), NOW), (REPORT, NOW)])
    assert state is not None
    return state


def major() -> CaseState:
    state, _ = run([(register_major(), NOW)])
    assert state is not None
    return state


def requested() -> CaseState:
    state, _ = run([(register(), NOW), (EXTEND, NOW)])
    assert state is not None
    return state


def case(state: CaseState, command: CaseCommand, now: datetime = NOW) -> Callable[[], object]:
    return lambda: decide(state, command, now, DEFAULT, CALENDAR)


def registering(**fields: Any) -> Callable[[], object]:
    return lambda: run([(register(**fields), NOW)])


@dataclass(frozen=True)
class Teleport(CaseCommand, CreditCommand):
    """A command no rule knows."""

    COMMAND_TYPE: ClassVar[str] = "Teleport"
    actor: Actor


@dataclass(frozen=True)
class HazardTeleported(CaseEvent, CreditEvent):
    EVENT_TYPE: ClassVar[str] = "HazardTeleported"
    at: datetime


def planned_and_reported() -> CaseState:
    state, _ = run(
        [
            (register_major(), NOW),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW),
            (REPORT, NOW),
        ]
    )
    assert state is not None
    return state


def listed_past_its_year() -> CaseState:
    """A listed case whose deadline (set before edition 2's bound) lies beyond its year."""
    state, _ = run([(register_major(), NOW), (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW)])
    assert state is not None
    far = replace(state, deadline=NOW + timedelta(days=800))
    after = fold(decide(far, REPORT, NOW + timedelta(days=370), DEFAULT, CALENDAR), far)
    assert after is not None
    return after


CASE_REFUSALS: dict[str, tuple[Callable[[], object], str | None]] = {
    "case.command.unknown": (lambda: case(general(), Teleport(SUPERVISOR))(), None),
    "case.escalate.no_unit_at_level": (
        lambda: decide(
            replace(general(), grid_path=(PATH[0], *PATH[2:])),  # no township on the path
            FireTimer(SYSTEM, "deadline:1"),
            NOW + timedelta(days=16),
            DEFAULT,
            CALENDAR,
        ),
        None,
    ),
    "case.evolve.already_registered": (
        lambda: evolve(general(), run([(register(), NOW)])[1][0]),
        None,
    ),
    "case.evolve.not_registered": (
        lambda: evolve(None, CaseClosed(basis=CloseBasis.VERIFIED, at=NOW)),
        None,
    ),
    "case.evolve.unknown_event": (lambda: evolve(general(), HazardTeleported(NOW)), None),
    "case.extension.enterprise_only": (
        lambda: case(general(), replace(EXTEND, actor=SUPERVISOR))(),
        "actor.role",
    ),
    "case.extension.no_deadline": (lambda: case(replace(general(), deadline=None), EXTEND)(), None),
    "case.extension.reasons_required": (
        lambda: case(general(), replace(EXTEND, reasons=" "))(),
        "reasons",
    ),
    "case.extension.safeguards_required": (
        lambda: case(general(), replace(EXTEND, interim_safeguards=""))(),
        "interim_safeguards",
    ),
    "case.extension.report_pending": (lambda: case(reported(), EXTEND)(), None),
    "case.extension.supervisor_decides": (
        lambda: case(requested(), DecideExtension(ENTERPRISE_ACTOR, True))(),
        "actor.role",
    ),
    "case.list.no_unit_at_level": (
        lambda: case(
            replace(general(), grid_path=PATH[:3]),
            ListHazard(CITY_SUPERVISOR, ListingLevel.CITY, listing_measures=FIVE),
        )(),
        "level",
    ),
    "case.listing.period_ended": (
        lambda: case(
            listed_past_its_year(),
            VerifyRectification(COUNTY_SUPERVISOR, False, "不合格"),
            NOW + timedelta(days=371),
        )(),
        None,
    ),
    "case.plan.report_pending": (
        lambda: case(planned_and_reported(), SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN))(),
        "plan",
    ),
    "case.refusal.details_required": (
        lambda: case(general(), RecordRefusal(SUPERVISOR, " "))(),
        "details",
    ),
    "case.register.description_required": (registering(description=""), "description"),
    "case.register.found_at_not_future": (
        registering(found_at=NOW + timedelta(minutes=1)),
        "found_at",
    ),
    "case.register.grid_path_required": (registering(grid_path=()), "grid_path"),
    "case.register.hazard_id_required": (registering(hazard_id=" "), "hazard_id"),
    "case.register.listing_level_needs_listed_mode": (
        registering(listing_level=ListingLevel.COUNTY),
        "listing_level",
    ),
    "case.register.listing_level_required": (
        registering(actor=SUPERVISOR, mode=RectificationMode.LISTED),
        "listing_level",
    ),
    "case.register.location_required": (registering(location=""), "location"),
    "case.report.already_reported": (lambda: case(reported(), REPORT)(), None),
    "case.report.summary_required": (
        lambda: case(general(), replace(REPORT, summary=" "))(),
        "summary",
    ),
    "case.verify.supervisor_only": (
        lambda: case(reported(), VerifyRectification(ENTERPRISE_ACTOR, True))(),
        "actor.role",
    ),
}


@pytest.mark.parametrize("rule", sorted(CASE_REFUSALS))
def test_a_case_refuses_a_command_naming_the_rule_it_breaks(rule: str):
    attempt, field = CASE_REFUSALS[rule]
    with pytest.raises(DomainError) as e:
        attempt()
    assert e.value.rule == rule
    if field is not None:
        assert e.value.field == field


# --- credit ---------------------------------------------------------------------------------


def credit_run(steps: list[tuple[CreditCommand, datetime]]) -> CreditState:
    state: CreditState | None = None
    for command, now in steps:
        state = fold_credit(decide_credit(state, command, now, DEFAULT, CALENDAR), state)
    assert state is not None
    return state


OPEN = OpenCreditRecord(SUPERVISOR, ENTERPRISE.credit_code, ENTERPRISE.name)


def opened() -> CreditState:
    return credit_run([(OPEN, NOW)])


def in_proceeding() -> CreditState:
    return credit_run([(OPEN, NOW), (OpenProceeding(SUPERVISOR, "较大事故", "令11号"), NOW)])


def window_closed() -> tuple[CreditState, datetime]:
    state = in_proceeding()
    assert state.proceeding is not None and state.proceeding.objection_until is not None
    end = state.proceeding.objection_until
    key = f"objection:{state.proceeding.proceeding_no}"
    return credit_run(
        [
            (OPEN, NOW),
            (OpenProceeding(SUPERVISOR, "较大事故", "令11号"), NOW),
            (FireCreditTimer(SYSTEM, key), end),
        ]
    ), end


def listed() -> tuple[CreditState, datetime]:
    state, end = window_closed()
    after = fold_credit(
        decide_credit(state, DecideListing(SUPERVISOR, True, "令11号"), end, DEFAULT, CALENDAR),
        state,
    )
    assert after is not None
    return after, end


def applied() -> tuple[CreditState, datetime]:
    state, end = listed()
    later = end + timedelta(days=400)
    after = fold_credit(
        decide_credit(
            state, ApplyEarlyRemoval(ENTERPRISE_ACTOR, "已整改"), later, DEFAULT, CALENDAR
        ),
        state,
    )
    assert after is not None
    return after, later


def removed_early() -> tuple[CreditState, datetime]:
    state, now = applied()
    approve = DecideEarlyRemoval(SUPERVISOR, True, "信用修复")
    after = fold_credit(decide_credit(state, approve, now, DEFAULT, CALENDAR), state)
    assert after is not None and not after.is_blacklisted
    return after, now


def listed_a_year_on() -> tuple[CreditState, datetime]:
    state, end = listed()
    return state, end + timedelta(days=400)


def credit(
    state_at: Callable[[], tuple[CreditState | None, datetime]], command: CreditCommand
) -> Callable[[], object]:
    def attempt() -> object:
        state, now = state_at()
        return decide_credit(state, command, now, DEFAULT, CALENDAR)

    return attempt


def at_now(
    build: Callable[[], CreditState | None],
) -> Callable[[], tuple[CreditState | None, datetime]]:
    return lambda: (build(), NOW)


CREDIT_REFUSALS: dict[str, tuple[Callable[[], object], str | None]] = {
    "credit.already_opened": (credit(at_now(opened), OPEN), None),
    "credit.auditor.read_only": (
        credit(at_now(opened), replace(OPEN, actor=AUDITOR)),
        "actor.role",
    ),
    "credit.command.unknown": (credit(at_now(opened), Teleport(SUPERVISOR)), None),
    "credit.not_opened": (credit(at_now(lambda: None), FileObjection(ENTERPRISE_ACTOR, "x")), None),
    "credit.decide.basis_required": (
        credit(window_closed, DecideListing(SUPERVISOR, True, " ")),
        "basis",
    ),
    "credit.decide.no_proceeding": (
        credit(at_now(opened), DecideListing(SUPERVISOR, True, "b")),
        None,
    ),
    "credit.decide.supervisor_only": (
        credit(window_closed, DecideListing(ENTERPRISE_ACTOR, True, "b")),
        "actor.role",
    ),
    "credit.early_removal.already_applied": (
        credit(applied, ApplyEarlyRemoval(ENTERPRISE_ACTOR, "again")),
        None,
    ),
    "credit.early_removal.enterprise_only": (
        credit(applied, ApplyEarlyRemoval(SUPERVISOR, "x")),
        "actor.role",
    ),
    "credit.early_removal.none_pending": (
        credit(listed, DecideEarlyRemoval(SUPERVISOR, True, "ok")),
        None,
    ),
    "credit.early_removal.not_listed": (
        credit(at_now(opened), ApplyEarlyRemoval(ENTERPRISE_ACTOR, "x")),
        None,
    ),
    "credit.early_removal.reason_required": (
        credit(applied, DecideEarlyRemoval(SUPERVISOR, False, " ")),
        "reason",
    ),
    "credit.early_removal.statement_required": (
        credit(
            lambda: (listed()[0], listed()[1] + timedelta(days=400)),
            ApplyEarlyRemoval(ENTERPRISE_ACTOR, ""),
        ),
        "statement",
    ),
    "credit.early_removal.supervisor_decides": (
        credit(applied, DecideEarlyRemoval(ENTERPRISE_ACTOR, True)),
        "actor.role",
    ),
    "credit.evolve.already_opened": (
        lambda: evolve_credit(opened(), CreditRecordOpened(ENTERPRISE.credit_code, "x", NOW)),
        None,
    ),
    "credit.evolve.not_opened": (
        lambda: evolve_credit(None, HazardTeleported(NOW)),
        None,
    ),
    "credit.evolve.unknown_event": (lambda: evolve_credit(opened(), HazardTeleported(NOW)), None),
    "credit.objection.enterprise_only": (
        credit(at_now(in_proceeding), FileObjection(SUPERVISOR, "x")),
        "actor.role",
    ),
    "credit.objection.no_proceeding": (
        credit(at_now(opened), FileObjection(ENTERPRISE_ACTOR, "x")),
        None,
    ),
    "credit.objection.statement_required": (
        credit(at_now(in_proceeding), FileObjection(ENTERPRISE_ACTOR, " ")),
        "statement",
    ),
    "credit.proceeding.already_listed": (
        credit(listed, OpenProceeding(SUPERVISOR, "另一事故", "令11号")),
        None,
    ),
    "credit.proceeding.basis_required": (
        credit(at_now(opened), OpenProceeding(SUPERVISOR, "事故", "")),
        "basis",
    ),
    "credit.proceeding.ground_required": (
        credit(at_now(opened), OpenProceeding(SUPERVISOR, " ", "令11号")),
        "ground",
    ),
    "credit.proceeding.supervisor_only": (
        credit(at_now(opened), OpenProceeding(ENTERPRISE_ACTOR, "事故", "令11号")),
        "actor.role",
    ),
    "credit.record.system_only": (
        credit(
            at_now(opened),
            RecordCreditEvent(
                SUPERVISOR,
                ENTERPRISE.credit_code,
                ENTERPRISE.name,
                "H-1",
                CreditEventKind.REFUSAL,
                NOW,
            ),
        ),
        "actor.role",
    ),
    "credit.revoke.not_removed_early": (
        credit(listed, RevokeEarlyRemoval(SUPERVISOR, "弄虚作假")),
        None,
    ),
    "credit.revoke.reason_required": (
        credit(removed_early, RevokeEarlyRemoval(SUPERVISOR, " ")),
        "reason",
    ),
    "credit.revoke.supervisor_only": (
        credit(listed, RevokeEarlyRemoval(ENTERPRISE_ACTOR, "x")),
        "actor.role",
    ),
    "credit.timer.not_pending": (
        credit(at_now(opened), FireCreditTimer(SYSTEM, "expiry:x")),
        "key",
    ),
    "credit.timer.system_only": (
        credit(at_now(in_proceeding), FireCreditTimer(SUPERVISOR, "objection:x")),
        "actor.role",
    ),
}


@pytest.mark.parametrize("rule", sorted(CREDIT_REFUSALS))
def test_a_credit_record_refuses_a_command_naming_the_rule_it_breaks(rule: str):
    attempt, field = CREDIT_REFUSALS[rule]
    with pytest.raises(DomainError) as e:
        attempt()
    assert e.value.rule == rule
    if field is not None:
        assert e.value.field == field


# --- data, durations, grid --------------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    at: datetime


DATA_REFUSALS: dict[str, tuple[Callable[[], object], str | None]] = {
    "data.command_type_unknown": (lambda: command_from_data("Teleport", 1, {}), "command_type"),
    "data.event_type_unknown": (lambda: event_from_data("HazardTeleported", 1, {}), "event_type"),
    "data.invalid": (
        lambda: event_from_data(
            "CaseClosed",
            1,
            {**event_to_data(CaseClosed(CloseBasis.VERIFIED, NOW)), "basis": "lost"},
        ),
        "basis",
    ),
    "data.missing_key": (lambda: event_from_data("CaseClosed", 1, {"basis": "verified"}), "at"),
    "data.naive_datetime": (lambda: to_data(Stamp(datetime(2025, 3, 3))), None),
    "data.unknown_key": (
        lambda: from_data(Stamp, {"at": NOW.isoformat(), "x": 1}, strict=True),
        "x",
    ),
    "data.unsupported": (lambda: to_data(object()), None),
    "duration.calendar_only": (
        lambda: PolicyDuration.parse("P2WD").subtract_calendar(NOW, DEFAULT.tz),
        "duration",
    ),
    "duration.positive": (lambda: PolicyDuration.parse("P0D", "deadline"), "deadline"),
    "duration.syntax": (lambda: PolicyDuration.parse("two weeks", "deadline"), "deadline"),
    "enterprise.name_required": (
        lambda: Enterprise(ENTERPRISE.credit_code, " ", "机械", VILLAGE.code),
        "name",
    ),
    "evidence.uri_required": (lambda: Evidence(" ", "a" * 64), "uri"),
    "evidence.size_invalid": (lambda: Evidence("duban-file:" + "a" * 64, "a" * 64, -1), "size"),
    "grid.unit.code_required": (lambda: replace(VILLAGE, code=""), "code"),
    "grid.unit.responsible_person_required": (
        lambda: replace(VILLAGE, responsible_person=" "),
        "responsible_person",
    ),
    "grid.unit_unknown": (lambda: GridTree(PATH).unit("nowhere"), "grid_code"),
}


@pytest.mark.parametrize("rule", sorted(DATA_REFUSALS))
def test_bad_data_is_refused_naming_the_rule_and_the_field(rule: str):
    attempt, field = DATA_REFUSALS[rule]
    with pytest.raises(DomainError) as e:
        attempt()
    assert e.value.rule == rule
    if field is not None:
        assert e.value.field == field


def test_credit_data_of_an_unknown_type_or_version_is_refused():
    with pytest.raises(DomainError) as e:
        credit_event_from_data("HazardTeleported", 1, {})
    assert e.value.rule == "data.event_type_unknown"
    with pytest.raises(DomainError) as e:
        credit_command_from_data("OpenCreditRecord", 2, {})
    assert e.value.rule == "data.command_type_unknown"


# --- the policy file --------------------------------------------------------------------------

POLICY_REFUSALS: dict[str, tuple[str, str, str]] = {
    # rule: (text to replace, replacement, key named)
    "policy.toml_syntax": ("[deadlines]", "[deadlines", ""),
    "policy.name_required": ('name = "default"', 'name = " "', "name"),
    "policy.time_zone": ('time_zone = "Asia/Shanghai"', 'time_zone = "Asia/Atlantis"', "time_zone"),
    "policy.range": ("hour = 9", "hour = 24", "reports.hour"),
    "policy.reminder_calendar": (
        'before_deadline = ["P3D", "P1D"]',
        'before_deadline = ["P3D", "P1WD"]',
        "reminders.before_deadline[1]",
    ),
    "policy.reminder_unique": (
        'before_deadline = ["P3D", "P1D"]',
        'before_deadline = ["P3D", "P3D"]',
        "reminders.before_deadline[1]",
    ),
    "policy.non_negative": (
        "max_extensions = 1",
        "max_extensions = -1",
        "extension.max_extensions",
    ),
    "policy.ladder_ascends": (
        'grid_level = "city"',
        'grid_level = "county"',
        "escalation.ladder[2].grid_level",
    ),
    "policy.steps": (
        'steps = ["supervision_letter"]              # practice: 督办函',
        "steps = []",
        "escalation.ladder[0].steps",
    ),
    "policy.listing_raise_level": (
        'steps = ["supervision_letter"]              # practice: 督办函',
        'steps = ["listing_level_raise"]',
        "escalation.ladder[0].listing_level",
    ),
    "policy.grades": (
        'blacklisted_grade = "D"',
        'blacklisted_grade = "E"',
        "credit.rating.blacklisted_grade",
    ),
    "policy.grades_order": (
        '{ grade = "B", min_points = 75,',
        '{ grade = "B", min_points = 95,',
        "credit.rating.grades[1].min_points",
    ),
    "policy.deduction_kind": (
        "refusal = 20",
        "refusal = 20\nsnoring = 1",
        "credit.rating.deductions.snoring",
    ),
}


@pytest.mark.parametrize("rule", sorted(POLICY_REFUSALS))
def test_a_policy_file_that_breaks_a_rule_is_refused_naming_the_key(rule: str):
    old, new, key = POLICY_REFUSALS[rule]
    changed = DEFAULT_TEXT.replace(old, new, 1)
    assert changed != DEFAULT_TEXT
    with pytest.raises(PolicyError) as e:
        parse_policy(changed)
    assert (e.value.rule, e.value.key) == (rule, key)


def test_a_policy_needs_a_ladder_and_distinct_grades_and_knows_its_own_keys():
    data = DEFAULT.to_data()
    with pytest.raises(PolicyError) as e:
        Policy.from_data({**data, "escalation": {**data["escalation"], "ladder": []}})
    assert (e.value.rule, e.value.key) == ("policy.ladder_non_empty", "escalation.ladder")
    grades = data["credit"]["rating"]["grades"]
    twice = {**data["credit"]["rating"], "grades": [grades[0], grades[0]]}
    with pytest.raises(PolicyError) as e:
        Policy.from_data({**data, "credit": {**data["credit"], "rating": twice}})
    assert (e.value.rule, e.value.key) == ("policy.grades", "credit.rating.grades")
    with pytest.raises(PolicyError) as e:
        Policy.from_data({**data, "_fingerprint": "0" * 64})
    assert e.value.rule == "policy.unknown_key"
    with pytest.raises(PolicyError) as e:
        Policy.from_data({**data, "shoe_size": 42})
    assert (e.value.rule, e.value.key) == ("policy.data.unknown_key", "shoe_size")


# --- every rule is named by a test ------------------------------------------------------------

# Position of the rule argument in each raising helper of domain/.
_RULE_ARGUMENT = {
    "DomainError": 0,
    "__init__": 0,  # super().__init__(rule, …) of an error class
    "PolicyError": 2,
    "_check": 3,
    "_check_at_most": 4,
    "require_role": 2,
    "require_text": 1,
}
DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    """The calls in ``tree``, leaving out the mutants of a function that make mutation's copy of
    domain/ holds beside it (mutmut's ``x_name__mutmut_3``: a rule id changed on purpose)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef) and re.search(r"__mutmut_\d+$", node.name):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def domain_rules() -> set[str]:
    """Every rule id the domain's source passes to a raising helper."""
    rules: set[str] = set()
    # The case and credit packages included; domain/documents/ has rules of its own, which
    # tests/documents names.
    for path in (p for p in DOMAIN.rglob("*.py") if "documents" not in p.relative_to(DOMAIN).parts):
        for node in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in _RULE_ARGUMENT:
                continue
            position = _RULE_ARGUMENT[name]
            argument = node.args[position] if len(node.args) > position else None
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                rules.add(argument.value)
    return rules


def test_every_rule_of_the_domain_is_named_by_a_test():
    rules = domain_rules()
    assert len(rules) > 150 and all(re.fullmatch(r"[a-z_0-9]+(\.[a-z_0-9]+)+", r) for r in rules)
    tests = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py"))
    unnamed = sorted(r for r in rules if f'"{r}"' not in tests)
    assert not unnamed, f"rules no test names: {unnamed}"


def test_the_rule_scan_sees_rules_in_every_raising_form():
    rules = domain_rules()
    assert {
        "case.timer.due_first",  # DomainError, in domain/case/
        "calendar.year_missing",  # DomainError
        "policy.unknown_key",  # PolicyError
        "policy.range",  # _check
        "policy.listed_deadline_exceeds_max",  # _check_at_most
        "case.verify.supervisor_only",  # require_role
        "case.withdraw.reason_required",  # require_text
        "credit.objection.statement_required",  # require_text, in domain/credit/
    } <= rules
