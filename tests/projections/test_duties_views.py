"""The read side of the grid's other duties: a self-reported major hazard's acceptance events
move its case row like any other event (none skipped), and a public report's row follows its
stream — received, alerted, substantiated with its cases, rewarded — and holds no identity."""

from __future__ import annotations

import uuid
from datetime import timedelta

from activities.eventstore import EventMetadata, NewEvent
from activities.projections import Projector, rebuild
from domain.case.commands import AcceptSelfReport, Actor, FireTimer, Role
from domain.case.events import HazardClass, HazardSource, RectificationMode
from domain.public_report import (
    DecideReward,
    FireReportTimer,
    ReceivePublicReport,
    SubstantiateReport,
    decide_report,
    evolve_report,
    report_event_to_data,
)
from tests.domain.domain_builders import (
    COUNTY_SUPERVISOR,
    DEFAULT,
    ENTERPRISE,
    NOW,
    PATH,
    SYSTEM,
    VILLAGE_SUPERVISOR,
    register_major,
)
from tests.projections.conftest import ReadSide
from tests.projections.scenario import History

METADATA = EventMetadata("test", "system")


def test_a_self_reported_major_hazards_acceptance_is_projected_without_a_skip(
    read_side: ReadSide,
) -> None:
    h = History(read_side.store)
    hazard_id = f"H-SELF-{uuid.uuid4().hex[:6]}"
    h.case(
        hazard_id,
        register_major(
            hazard_id=hazard_id,
            actor=Actor("ent-1", Role.ENTERPRISE),
            source=HazardSource.SELF_INSPECTION,
            mode=RectificationMode.DEADLINE,
            deadline=NOW + timedelta(days=60),
        ),
        NOW,
    )
    h.case(hazard_id, FireTimer(SYSTEM, "acceptance:1"), NOW + timedelta(days=3))
    h.case(hazard_id, AcceptSelfReport(COUNTY_SUPERVISOR, "已受理"), NOW + timedelta(days=3))
    Projector(read_side.store).catch_up()
    row = read_side.rows(
        "SELECT version, status FROM case_view WHERE hazard_id = %(h)s", h=hazard_id
    )
    assert row == [{"version": h.cases[hazard_id].version, "status": "rectifying"}]
    skipped = read_side.rows("SELECT skipped FROM projection_positions")
    assert all(r["skipped"] == 0 for r in skipped), skipped
    stats = read_side.rows(
        "SELECT sum(found_self_inspection) AS s FROM case_statistics WHERE unit_code = %(u)s",
        u=PATH[0].code,
    )
    assert stats == [{"s": 1}]


def test_a_public_reports_row_follows_its_stream_and_a_rebuild_gives_the_same(
    read_side: ReadSide,
) -> None:
    report_id = "R-" + uuid.uuid4().hex[:24]
    steps = [
        (
            ReceivePublicReport(
                Actor("public", Role.SYSTEM),
                report_id,
                PATH,
                ENTERPRISE.credit_code,
                ENTERPRISE.name,
                "一号车间后门",
                "消防通道堵塞",
                identity_digest="d" * 64,
            ),
            NOW,
        ),
        (FireReportTimer(SYSTEM, "reminder:1"), NOW + timedelta(days=27)),
        (FireReportTimer(SYSTEM, "overdue:1"), NOW + timedelta(days=30)),
        (SubstantiateReport(VILLAGE_SUPERVISOR, ("H-1", "H-2"), "属实"), NOW + timedelta(days=31)),
        (DecideReward(COUNTY_SUPERVISOR, HazardClass.GENERAL), NOW + timedelta(days=32)),
    ]
    state = None
    for command, now in steps:
        events = decide_report(state, command, now, DEFAULT)
        read_side.store.append(
            f"public-report-{report_id}",
            state.version if state else 0,
            [
                NewEvent(uuid.uuid4(), e.EVENT_TYPE, report_event_to_data(e), METADATA, e.at)
                for e in events
            ],
        )
        for event in events:
            state = evolve_report(state, event)
    Projector(read_side.store).catch_up()
    rows = read_side.rows(
        "SELECT status, assigned_unit_code, alerts, hazard_ids, reward_yuan, reward_basis"
        " FROM public_report_view WHERE report_id = %(r)s",
        r=report_id,
    )
    assert rows == [
        {
            "status": "rewarded",
            "assigned_unit_code": PATH[0].code,
            "alerts": 1,
            "hazard_ids": ["H-1", "H-2"],
            "reward_yuan": 300,
            "reward_basis": "general_fixed",
        }
    ]
    before = read_side.snapshot()
    rebuild(read_side.engine, batch_size=2)
    assert read_side.snapshot()["public_report_view"] == before["public_report_view"]
