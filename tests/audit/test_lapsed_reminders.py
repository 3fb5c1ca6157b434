"""A reminder that lapsed while duban was down is on the record (policy edition 4): the
auditor's replay and the dossier's timeline say, in Chinese, which reminder was never sent,
when it was due and when duban noticed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from activities.audit.dossier import timeline_html
from activities.audit.replay import replay_case
from activities.eventstore import EventStore
from domain.case.commands import ReportRectification
from tests.domain.domain_builders import ENTERPRISE_ACTOR, NOW, PHOTO, SHANGHAI, register
from tests.projections.scenario import History
from workflows.ids import case_stream_id

DEADLINE = datetime(2025, 3, 19, tzinfo=SHANGHAI)  # 24:00 on 18 March (P15D from 3 March)


def test_the_replay_and_the_dossier_show_a_lapsed_reminder_in_chinese(store: EventStore):
    hazard_id = f"H-lapse-{uuid.uuid4().hex[:8]}"
    h = History(store)
    h.case(hazard_id, register(hazard_id=hazard_id), NOW)
    # duban was down from before the first reminder (3 days before) until 20 March: the
    # enterprise's report is decided after the catch-up, which records the lapses first.
    back = DEADLINE + timedelta(days=1, hours=9)
    h.case(hazard_id, ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,)), back)

    replay = replay_case(store, hazard_id)
    lapsed = [e for e in replay.timeline if e.event_type == "ReminderLapsed"]
    assert [e.label for e in lapsed] == ["到期提醒未发出（系统未运行，期限已过）"] * 2
    assert [e.details["timer_key"] for e in lapsed] == ["reminder:1:P3D", "reminder:1:P1D"]
    assert datetime.fromisoformat(lapsed[0].details["due_at"]) == DEADLINE - timedelta(days=3)
    assert datetime.fromisoformat(lapsed[0].occurred_at) == back  # when duban noticed
    assert replay.state is not None and replay.state.fired_timers[:2] == (
        "reminder:1:P3D",
        "reminder:1:P1D",
    )

    html = timeline_html(hazard_id, store.read_stream(case_stream_id(hazard_id)), "Asia/Shanghai")
    rows = [line for line in html.splitlines() if "到期提醒未发出" in line]
    assert len(rows) == 2
    assert "应提醒时间：2025-03-16 00:00" in rows[0] and "整改期限：2025-03-19 00:00" in rows[0]
    assert "应提醒时间：2025-03-18 00:00" in rows[1]
    assert "ReminderLapsed" not in html and "due_at" not in html
