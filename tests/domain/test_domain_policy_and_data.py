"""The policy file and the JSON data shapes of cases."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.calendar import WorkingCalendar, parse_calendar_toml
from domain.case import (
    NOTICE_KEY,
    command_from_data,
    command_to_data,
    decide,
    event_from_data,
    event_to_data,
    state_from_data,
    state_to_data,
)
from domain.case.commands import (
    COMMAND_CLASSES,
    AcceptSelfReport,
    AcknowledgeService,
    CaseCommand,
    DecideExtension,
    FireTimer,
    ListHazard,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.events import EVENT_CLASSES, CaseEvent, HazardSource, RectificationMode
from domain.durations import PolicyDuration
from domain.errors import DomainError, PolicyError
from domain.policy import ListingLevel, Policy, parse_policy
from tests.domain.domain_builders import (
    CALENDAR,
    CITY_SUPERVISOR,
    DEFAULT,
    DEFAULT_TEXT,
    DRILL,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    LEGACY,
    NOW,
    PHOTO,
    PLAN,
    SHANGHAI,
    SUPERVISOR,
    SYSTEM,
    register,
    register_major,
    run,
)

LADDER_2 = "escalation.ladder[2].deadline"
HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def test_the_shipped_policies_load_and_differ():
    assert DEFAULT.name == "default" and DRILL.name == "drill"
    assert DEFAULT.fingerprint != DRILL.fingerprint
    assert re.fullmatch(r"[0-9a-f]{64}", DEFAULT.fingerprint)


SOURCES = (
    "Reward Measures",
    "Order 16",
    "Order 11",
    "Civil Code",
    "Safety Law",
    "Qingdao",
    "Hubei",
    "Huzhou",
    "provincial rule",
    "seed 003",
    "seed 004",
    "seeds 003/004",
    "practice",
    "duban:",  # a setting of the program (name, version, edition), not a rule of supervision
)


def cited_source(line: str) -> str | None:
    """The recognised source a policy line's comment names, if any."""
    _, _, comment = line.partition("#")
    return next((s for s in SOURCES if s in comment), None)


def test_every_value_in_the_default_policy_cites_a_recognised_source_on_its_line():
    values = 0
    for number, line in enumerate(DEFAULT_TEXT.splitlines(), 1):
        code = line.partition("#")[0].strip()
        if "=" not in code or code.startswith("["):
            continue  # comments, blank lines, table headers
        values += 1
        assert cited_source(line), f"line {number} cites no recognised source: {line}"
    assert values >= 60  # every key = value and every grade of the rating scheme was checked


def test_the_source_check_refuses_a_value_without_a_source_or_with_an_unknown_one():
    assert cited_source('general = "P15D"  # practice: 7–30 days') == "practice"
    assert cited_source('general = "P15D"') is None
    assert cited_source('general = "P15D"  # what the director said') is None
    assert cited_source('note = "see Qingdao"  # no source here') is None


def test_the_drill_policy_has_no_working_day_durations_and_runs_in_seconds():
    assert "WD" not in json.dumps(DRILL.to_data())
    assert all(r.deadline.seconds and not r.deadline.days for r in DRILL.escalation.ladder)


def test_a_policy_round_trips_through_json_with_the_same_fingerprint():
    data = json.loads(json.dumps(DEFAULT.to_data()))
    again = Policy.from_data(data)
    assert again == DEFAULT and again.fingerprint == DEFAULT.fingerprint


def test_changing_one_number_changes_the_fingerprint():
    data = DEFAULT.to_data()
    data["extension"]["max_extensions"] = 2
    assert Policy.from_data(data).fingerprint != DEFAULT.fingerprint


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (r'(grid_level = "city".*\n)deadline = "P10WD"', r'\1deadline = "ten days"', LADDER_2),
        ('grid_level = "city"', 'grid_level = "township"', "escalation.ladder[2].grid_level"),
        ("max_extensions = 1", 'max_extensions = "one"', "extension.max_extensions"),
        (
            "max_extensions = 1",
            "max_extensions = 1\nmax_extensionz = 2",
            "extension.max_extensionz",
        ),
        (
            'before_deadline = ["P3D", "P1D"]',
            'before_deadline = ["P3WD"]',
            "reminders.before_deadline[0]",
        ),
        ('time_zone = "Asia/Shanghai"', 'time_zone = "Mars/Olympus"', "time_zone"),
        ("refusal = 20", "refusal = 20\nsleeping = 3", "credit.rating.deductions.sleeping"),
        (
            '{ grade = "B", min_points = 75,',
            '{ grade = "B", min_points = 95,',
            "credit.rating.grades[1].min_points",
        ),
        ("monthly_day = 20", "monthly_day = 31", "reports.monthly_day"),
        ('major_level = "county"', 'major_level = "town"', "listing.major_level"),
    ],
)
def test_an_invalid_policy_names_the_exact_key(old: str, new: str, key: str):
    if old.startswith("("):  # a regular expression with a group
        changed = re.sub(old, new, DEFAULT_TEXT, count=1)
    else:
        changed = DEFAULT_TEXT.replace(old, new, 1)
    assert changed != DEFAULT_TEXT
    with pytest.raises(PolicyError) as e:
        parse_policy(changed)
    assert e.value.key == key


@pytest.mark.parametrize(
    ("old", "new", "key", "rule"),
    [
        ("edition = 5", "edition = 6", "edition", "policy.edition"),
        (
            'city = "P6M"',
            'city = "P13M"',
            "deadlines.listed.city",
            "policy.listed_deadline_exceeds_max",
        ),
        (
            'decide_within = "P2WD"',
            'decide_within = "P3WD"',
            "extension.unlisted.decide_within",
            "policy.extension_decision_fits",
        ),
        (
            'decide_within = "P10WD"',
            'decide_within = "P25WD"',
            "extension.decide_within",
            "policy.extension_decision_fits",
        ),
        (
            'decide_within = "P2WD"',
            'decide_within = "P2D"',
            "extension.unlisted.decide_within",
            "policy.extension_units",
        ),
        (
            '{ grade = "A", min_points = 90, inspections_per_year = 1 }',
            '{ grade = "A", min_points = 90 }',
            "credit.rating.grades[0].inspections_per_year",
            "policy.inspections_required",
        ),
        (
            "min_points = 0, inspections_per_year = 4",
            "min_points = 0, inspections_per_year = 2",
            "credit.rating.grades[3].inspections_per_year",
            "policy.inspections_order",
        ),
        (
            "min_points = 90, inspections_per_year = 1",
            "min_points = 90, inspections_per_year = -1",
            "credit.rating.grades[0].inspections_per_year",
            "policy.non_negative",
        ),
        ("edition = 5", "edition = 1", "notice", "policy.edition_required"),
        ('basis = "《', 'basis = " " #《', "credit.notice.basis", "policy.notice_text"),
    ],
)
def test_an_edition_2_policy_is_cross_checked_and_names_the_key(
    old: str, new: str, key: str, rule: str
):
    changed = DEFAULT_TEXT.replace(old, new, 1)
    assert changed != DEFAULT_TEXT
    with pytest.raises(PolicyError) as e:
        parse_policy(changed)
    assert (e.value.key, e.value.rule) == (key, rule)


def test_an_edition_1_policy_is_not_held_to_the_edition_2_cross_checks():
    data = LEGACY.to_data()
    data["extension"]["decide_within"] = "P30WD"  # longer than request_before: let through
    assert Policy.from_data(data).extension.decide_within == PolicyDuration.parse("P30WD")


def test_the_policy_captured_in_a_running_case_parses_with_the_fingerprint_it_recorded():
    history = json.loads((HISTORIES / "case-rectified-on-time.json").read_text())
    snapshot = recorded_payload(history, "ACTIVITY_TASK_COMPLETED", "result")
    appended = recorded_payload(history, "ACTIVITY_TASK_SCHEDULED", "input", "append_events")
    policy = Policy.from_data(snapshot["policy"])
    assert policy.edition == 1 and policy.extension.unlisted is None and policy.notice is None
    assert policy.fingerprint == appended["events"][0]["data"]["policy_fingerprint"]
    assert policy.to_data() == snapshot["policy"]  # nothing added to what was recorded


def recorded_payload(
    history: dict[str, Any], event_type: str, part: str, activity: str | None = None
) -> dict[str, Any]:
    """The first payload of the first ``event_type`` in a recorded workflow history."""
    for event in history["events"]:
        if event["eventType"] != f"EVENT_TYPE_{event_type}":
            continue
        attributes = next(v for k, v in event.items() if k.endswith("Attributes"))
        if activity is not None and attributes["activityType"]["name"] != activity:
            continue
        data: dict[str, Any] = json.loads(base64.b64decode(attributes[part]["payloads"][0]["data"]))
        return data
    raise AssertionError(f"no {event_type} in the history")


def test_a_missing_section_is_named():
    with pytest.raises(PolicyError) as e:
        parse_policy('name = "x"\nversion = "1"\ntime_zone = "Asia/Shanghai"\n')
    assert e.value.key == "deadlines"


def test_a_rung_that_raises_the_listing_must_say_to_which_level():
    text = re.sub(r'listing_level = "city".*\n', "", DEFAULT_TEXT, count=1)
    with pytest.raises(PolicyError) as e:
        parse_policy(text)
    assert e.value.key == "escalation.ladder[2].listing_level"


def _all_case_events() -> list[CaseEvent]:
    later = NOW + timedelta(days=1)
    extend = RequestExtension(ENTERPRISE_ACTOR, NOW + timedelta(days=150), "r", "s")
    report = ReportRectification(ENTERPRISE_ACTOR, "done", (PHOTO,))
    _, a = run(
        [
            (register_major(), NOW),
            (extend, NOW),
            (DecideExtension(SUPERVISOR, True), NOW),
            (SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW),
            (report, NOW),
            (VerifyRectification(SUPERVISOR, False), NOW),
            (RecordRefusal(SUPERVISOR, "拒绝"), NOW),
            (FireTimer(SYSTEM, "reminder:3:P3D"), NOW + timedelta(days=13)),
            (FireTimer(SYSTEM, "reminder:3:P1D"), NOW + timedelta(days=15)),
            (FireTimer(SYSTEM, "deadline:3"), NOW + timedelta(days=16)),
            (report, later + timedelta(days=16)),
            (FireTimer(SYSTEM, "review:2"), NOW + timedelta(days=30)),
            (VerifyRectification(CITY_SUPERVISOR, True), NOW + timedelta(days=30)),
        ]
    )
    _, b = run(
        [
            (register_major(), NOW),
            (extend, NOW),
            (FireTimer(SYSTEM, "decision:1"), NOW + timedelta(days=20)),
            (DecideExtension(SUPERVISOR, False, "no"), NOW + timedelta(days=20)),
        ]
    )
    served = f"H-0001:2:RectificationNoticeIssued:enterprise:{ENTERPRISE.credit_code}"
    _, c = run(
        [
            (register(), NOW),
            (AcknowledgeService(ENTERPRISE_ACTOR, served, "rectification_notice"), NOW),
            (WithdrawCase(SUPERVISOR, "错误"), NOW),
        ]
    )
    # Edition 4: a reminder still unsent when its deadline has passed is recorded as lapsed.
    _, d = run([(register(), NOW), (FireTimer(SYSTEM, "reminder:1:P3D"), NOW + timedelta(days=20))])
    # A notice that waits for next year's holidays, and its issue once they are loaded.
    late = datetime(2026, 12, 28, 9, tzinfo=SHANGHAI)
    waiting, d_wait = run([(register_major(found_at=late), late)])
    with_2027 = WorkingCalendar(parse_calendar_toml('[2027]\nholidays = ["2027-01-01"]\n'))
    d += d_wait
    d += decide(waiting, FireTimer(SYSTEM, NOTICE_KEY), late, DEFAULT, with_2027)
    # Edition 5: a self-reported major hazard awaits acceptance, alerted, then accepted.
    self_found = register_major(
        actor=ENTERPRISE_ACTOR,
        source=HazardSource.SELF_INSPECTION,
        mode=RectificationMode.DEADLINE,
        deadline=NOW + timedelta(days=60),
    )
    _, e = run(
        [
            (self_found, NOW),
            (FireTimer(SYSTEM, "acceptance:1"), NOW + timedelta(days=3)),
            (AcceptSelfReport(SUPERVISOR, "已受理"), NOW + timedelta(days=3)),
        ]
    )
    return a + b + c + d + e


def test_every_case_event_type_round_trips_through_json_data():
    events = _all_case_events()
    assert {type(e) for e in events} == set(EVENT_CLASSES)
    for event in events:
        data = json.loads(json.dumps(event_to_data(event), ensure_ascii=False))
        assert event_from_data(event.EVENT_TYPE, event.SCHEMA_VERSION, data) == event


def test_every_case_command_type_round_trips_through_json_data():
    commands: list[CaseCommand] = [
        register(),
        register_major(deadline=NOW + timedelta(days=30), listing_level=ListingLevel.CITY),
        SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN),
        ReportRectification(ENTERPRISE_ACTOR, "done", (PHOTO,)),
        VerifyRectification(SUPERVISOR, False, "x", NOW + timedelta(days=3)),
        RequestExtension(ENTERPRISE_ACTOR, NOW, "r", "s"),
        DecideExtension(SUPERVISOR, True, "ok"),
        ListHazard(SUPERVISOR, ListingLevel.CITY, "m", NOW),
        RecordRefusal(SUPERVISOR, "d"),
        WithdrawCase(SUPERVISOR, "r"),
        FireTimer(SYSTEM, "deadline:1"),
        AcknowledgeService(ENTERPRISE_ACTOR, "H-0001:2:X:enterprise:c", "rectification_notice"),
        AcceptSelfReport(SUPERVISOR, "已受理"),
    ]
    assert {type(c) for c in commands} == set(COMMAND_CLASSES)
    for command in commands:
        data = json.loads(json.dumps(command_to_data(command)))
        assert command_from_data(command.COMMAND_TYPE, 1, data) == command


def test_the_state_round_trips_and_shows_its_status():
    state, _ = run([(register_major(), NOW)])
    data = json.loads(json.dumps(state_to_data(state)))
    assert data["status"] == "rectifying" and data["deadline"].endswith("+00:00")
    assert state_from_data(data) == state


def test_corrupt_stored_data_fails_naming_the_field():
    event = _all_case_events()[0]
    data = event_to_data(event)
    data["found_at"] = "2025-03-03T09:00:00"  # no offset
    with pytest.raises(DomainError) as e:
        event_from_data(event.EVENT_TYPE, 1, data)
    assert e.value.field == "found_at"
    bad_hash = event_to_data(event)
    bad_hash["evidence"][0]["sha256"] = "xyz"
    with pytest.raises(DomainError) as e:
        event_from_data(event.EVENT_TYPE, 1, bad_hash)
    assert e.value.rule == "evidence.sha256_hex"
    with pytest.raises(DomainError) as e:
        event_from_data(event.EVENT_TYPE, 2, event_to_data(event))
    assert e.value.rule == "data.schema_version_unknown"


def test_a_policy_from_data_rejects_a_smuggled_fingerprint():
    with pytest.raises(PolicyError):
        Policy.from_data({**DEFAULT.to_data(), "_fingerprint": "0" * 64})
    assert replace(DEFAULT, version="x").fingerprint != DEFAULT.fingerprint
    assert CALENDAR.has_year(2025)


def test_evidence_of_an_uploaded_file_keeps_size_type_and_name_and_older_data_reads_as_it_was():
    """Evidence recorded before uploads (a uri and a sha256) writes and reads byte for byte
    as before; an uploaded file's evidence carries its size, type and name."""
    from domain._codec import from_data as read
    from domain._codec import to_data as write
    from domain.case.events import Evidence, stored_file_uri

    typed = Evidence("s3://evidence/1.jpg", "A" * 64)
    assert write(typed) == {"uri": "s3://evidence/1.jpg", "sha256": "a" * 64}
    assert not typed.stored
    uploaded = Evidence(stored_file_uri("b" * 64), "b" * 64, 1234, "image/jpeg", "现场.jpg")
    data = write(uploaded)
    assert data == {
        "uri": "duban-file:" + "b" * 64,
        "sha256": "b" * 64,
        "size": 1234,
        "media_type": "image/jpeg",
        "name": "现场.jpg",
    }
    assert read(Evidence, data) == uploaded and uploaded.stored
    assert read(Evidence, {"uri": "s3://x", "sha256": "c" * 64}).size is None
