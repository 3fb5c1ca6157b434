"""The dossier's words and summary, built from real cases' events (driven through the domain's
``decide`` as the workflow drives them): Chinese throughout — no event type, timer key, role
code or grid code — every instant in the policy's time zone, and a summary that is true at
every stage: listed, de-listed, superseded by a higher listing, referred, closed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from activities.audit.dossier_html import render_html
from activities.audit.dossier_view import DossierView, build_view
from activities.eventstore import RecordedEvent
from domain.case import event_to_data
from domain.case.events import EVENT_CLASSES
from domain.case.words import (
    EVENT_KINDS,
    actor_words,
    duration_words,
    missing_event_kinds,
    timer_words,
)
from tests.documents.scenarios import (
    CaseRun,
    escalated_case,
    listed_major_case,
    refused_case,
    registered_case,
    verified_case,
)

ZONE = "Asia/Shanghai"
# What must never show: the event types, the codes of roles, levels, steps, bases, timers.
CODES = re.compile(
    r"[A-Z][a-z]+[A-Z][A-Za-z]+|reminder:|deadline:|review:|decision:|system（|\bP\d+D\b|PT\d+S"
    r"|inspector|supervisor\b|enterprise\b|township|county\b|supervision_letter|overdue_at_top"
    r"|\d{4}-\d\d-\d\dT\d\d"
)


def recorded(run: CaseRun) -> list[RecordedEvent]:
    """The run's events as the store would hold them, with who did each: the timers' events
    by the system actor, the others by a person."""
    events = []
    for n, event in enumerate(run.history, start=1):
        timer = "timer_key" in event_to_data(event) or event.EVENT_TYPE in (
            "CaseEscalated",
            "EnforcementReferred",
            "HazardListed",
            "ListingPublished",
            "CreditTriggerRaised",
        )
        actor = ("system", "system") if timer and n > 1 else ("zhao-ke", "supervisor")
        events.append(
            RecordedEvent(
                n,
                "case-X",
                n,
                uuid.uuid4(),
                event.EVENT_TYPE,
                event.SCHEMA_VERSION,
                event_to_data(event),
                {"actor_id": actor[0], "actor_role": actor[1]},
                event.at,
                event.at,
                bytes(32),
                bytes([n % 256]) * 32,
            )
        )
    return events


def view_of(run: CaseRun, hazard_id: str) -> DossierView:
    return build_view(hazard_id, recorded(run), ZONE, exported_at=datetime(2026, 12, 8, tzinfo=UTC))


def summary(view: DossierView) -> dict[str, str]:
    return dict(view.summary)


def test_every_event_kind_the_case_records_has_its_chinese_name():
    assert missing_event_kinds() == []
    assert {cls.EVENT_TYPE for cls in EVENT_CLASSES} <= set(EVENT_KINDS)
    for name in EVENT_KINDS.values():
        assert not re.search(r"[A-Za-z]{3,}", name), name


def test_timers_durations_and_actors_read_in_the_words_of_the_rules():
    assert timer_words("reminder:1:PT10S") == "第1个整改期限届满前10秒的提醒"
    assert timer_words("reminder:2:P3D") == "第2个整改期限届满前3日的提醒"
    assert timer_words("deadline:3") == "第3个整改期限"
    assert timer_words("review:1") == "第1次验收申请的复查时限"
    assert timer_words("decision:2:3") == "第2次延期申请的审批时限（第3次催办）"
    assert duration_words("P20WD") == "20个工作日" and duration_words("PT1H30M") == "1小时30分钟"
    assert actor_words("system", "system") == "时限届满自动办理"
    assert actor_words("张三", "inspector") == "张三（检查员（网格员））"


def test_a_case_listed_and_then_de_listed_never_reads_as_never_listed():
    view = view_of(listed_major_case(), "H-MAJ-1")
    facts = summary(view)
    assert facts["挂牌督办"] != "未挂牌"
    assert "县级挂牌督办" in facts["挂牌督办"] and "摘牌（验收合格）" in facts["挂牌督办"]
    assert "挂牌中" not in facts["挂牌督办"]
    assert facts["当前状态"] == "已销号" and facts["办结情况"].endswith("销号（验收合格）")
    # The authority's name as the registration's grid path recorded it, not its code.
    assert "，诸城市，" in facts["挂牌督办"]
    assert "P37-C07-X82（" not in facts["挂牌督办"] and "名称未登记" not in facts["挂牌督办"]


def test_a_case_escalated_to_the_top_shows_each_listing_superseded_and_the_referral():
    view = view_of(escalated_case(), "H-ESC-1")
    facts = summary(view)
    listings = facts["挂牌督办"].split("；")
    assert [text[:2] for text in listings] == ["县级", "市级", "省级"]
    assert "提级取代" in listings[0] and "提级取代" in listings[1]
    assert listings[2].endswith("挂牌中")
    assert facts["当前状态"] == "已移送执法"
    assert facts["移送执法"].startswith("20") and "至最高层级仍逾期未整改" in facts["移送执法"]
    assert facts["升级次数"] == f"{escalated_case().state.escalation_index}次"  # type: ignore[union-attr]
    assert facts["办结情况"] == "尚在办理中"


@pytest.mark.parametrize(
    "run,hazard_id,status",
    [
        (registered_case, "H-REG", "整改中"),
        (refused_case, "H-REF-1", "已移送执法"),
        (verified_case, "H-VER-1", "已销号"),
    ],
)
def test_the_summary_states_the_stage_the_case_is_at(run, hazard_id, status):
    facts = summary(view_of(run(), hazard_id))
    assert facts["当前状态"] == status
    assert facts["挂牌督办"] == "未挂牌"
    assert (facts["移送执法"] == "未移送") == (hazard_id != "H-REF-1")


@pytest.mark.parametrize(
    "run", [registered_case, escalated_case, listed_major_case, refused_case, verified_case]
)
def test_the_dossier_html_has_no_code_and_every_time_in_the_named_zone(run):
    view = view_of(run(), "H-X")
    page = render_html(view)
    text = re.sub(r"<[^>]+>", " ", page)
    found = CODES.findall(text.replace("SHA-256", ""))
    assert not found, found
    assert "Asia/Shanghai（UTC+08:00）" in page
    assert "本案卷所有时间均为 Asia/Shanghai（UTC+08:00） 时间" in page
    for row in view.timeline:  # local wall-clock time, to the second
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row.when)


def test_timeline_times_are_the_policys_local_time():
    view = view_of(registered_case(), "H-REG")
    first = recorded(registered_case())[0].recorded_at
    assert view.timeline[0].when == first.astimezone(
        __import__("zoneinfo").ZoneInfo(ZONE)
    ).strftime("%Y-%m-%d %H:%M:%S")


def test_escalation_rows_name_the_unit_the_steps_and_the_timer_in_chinese():
    view = view_of(escalated_case(), "H-ESC-1")
    escalations = [row for row in view.timeline if row.kind == "逐级升级督办"]
    assert escalations, [row.kind for row in view.timeline]
    details = dict(escalations[0].details)
    assert details["督办层级"] == "乡镇（街道）级"
    assert "下达督办函" in details["督办措施"]
    assert details["升级次数"] == "第1次"
    missed = [row for row in view.timeline if row.kind == "逾期未整改"]
    assert dict(missed[0].details)["时限"] == "第1个整改期限"
    automatic = {row.actor for row in missed}
    assert automatic == {"时限届满自动办理"}
