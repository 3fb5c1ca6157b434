"""Every notice duban sends reads in Chinese and in English, from real notifications: the domain's
``decide`` drives cases and credit records through every step that tells someone, the
notifications are queued as the workflows queue them, and each renders with its own words,
the case's facts, the deadline on the policy's clock and the link to the console."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.case import CaseState, decide, event_to_data, evolve, notifications_for, pending_timers
from domain.case.commands import (
    AcknowledgeService,
    CaseCommand,
    DecideExtension,
    FireTimer,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
    WithdrawCase,
)
from domain.case.events import CaseEvent, HazardRegistered
from domain.credit import (
    CreditState,
    credit_event_to_data,
    decide_credit,
    evolve_credit,
    pending_credit_timers,
)
from domain.credit.commands import (
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FireCreditTimer,
    RecordCreditEvent,
    RevokeEarlyRemoval,
)
from domain.credit.events import CreditEvent
from domain.errors import DomainError
from domain.notice_texts import TEMPLATES
from domain.notices import (
    CaseFacts,
    CreditFacts,
    QueuedNotice,
    console_path,
    format_duration,
    format_instant,
    render_notice,
)
from domain.policy import CreditEventKind, ListingLevel
from tests.domain.domain_builders import (
    CALENDAR,
    COUNTY_SUPERVISOR,
    DEFAULT,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    FIVE,
    NOW,
    PHOTO,
    PLAN,
    SHANGHAI,
    SUPERVISOR,
    SYSTEM,
    register,
    register_major,
)
from workflows.credit_notices import TOLD, _reason  # what the credit workflow queues, and why
from workflows.ids import credit_stream_id

PUBLIC_URL = "https://duban.example.gov.cn"


def queued(case_id: str, notification: Any, event_type: str, extra: dict[str, Any]) -> dict:
    """The outbox payload, as ``enqueue_notifications`` writes it."""
    return {
        "step_key": notification.step_key,
        "case_id": case_id,
        "recipient": {"kind": notification.recipient_kind, "id": notification.recipient_id},
        "reason": notification.reason,
        "event_type": event_type,
        **extra,
    }


@dataclass
class Case:
    """A case driven by ``decide`` that keeps what the case workflow would queue."""

    state: CaseState | None = None
    payloads: list[dict[str, Any]] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)

    def do(self, command: CaseCommand, now: datetime) -> list[CaseEvent]:
        events = decide(self.state, command, now, DEFAULT, CALENDAR)
        for event in events:
            hazard_id = self.state.hazard_id if self.state else getattr(event, "hazard_id", "")
            for n in notifications_for(self.state, event):
                payload = {"event": event_to_data(event)}
                self.payloads.append(queued(hazard_id, n, event.EVENT_TYPE, payload))
            self.state = evolve(self.state, event)
        self.events += events
        return events

    def fire_until(self, until: datetime, stop: str | None = None) -> None:
        """Fire the earliest timer at its due instant until ``until`` (or an event ``stop``)."""
        while True:
            timers = pending_timers(self.state, DEFAULT, CALENDAR)
            if not timers or timers[0].due_at > until:
                return
            events = self.do(FireTimer(SYSTEM, timers[0].key), timers[0].due_at)
            if stop in [e.EVENT_TYPE for e in events]:
                return

    @property
    def facts(self) -> CaseFacts:
        first = self.events[0]
        assert isinstance(first, HazardRegistered)
        return CaseFacts.of_registration(first)

    @property
    def deadline(self) -> datetime:
        assert self.state is not None and self.state.deadline is not None
        return self.state.deadline


@dataclass
class Credit:
    state: CreditState | None = None
    payloads: list[dict[str, Any]] = field(default_factory=list)

    def do(self, command: CreditCommand, now: datetime) -> list[CreditEvent]:
        events = decide_credit(self.state, command, now, DEFAULT, CALENDAR)
        for i, event in enumerate(events):
            self.state = evolve_credit(self.state, event)
            for kind in TOLD.get(type(event), ()):
                recipient = {"enterprise": ENTERPRISE.credit_code, "grid_unit": "P37-C07-X82"}
                self.payloads.append(
                    {
                        "step_key": f"{credit_stream_id(ENTERPRISE.credit_code)}:e{i}:{kind}",
                        "case_id": credit_stream_id(ENTERPRISE.credit_code),
                        "recipient": {"kind": kind, "id": recipient[kind]},
                        "reason": _reason(event),
                        "event_type": event.EVENT_TYPE,
                        "credit_code": ENTERPRISE.credit_code,
                        "enterprise_name": ENTERPRISE.name,
                        "event": credit_event_to_data(event),
                    }
                )
        return events

    def fire(self, kind: str) -> None:
        assert self.state is not None
        timer = next(t for t in pending_credit_timers(self.state, DEFAULT) if t.kind == kind)
        self.do(FireCreditTimer(SYSTEM, timer.key), timer.due_at)


def overdue_general_case() -> Case:
    """A general hazard nobody rectifies: reminders, missed deadlines, escalation up the
    ladder with its listings and publications, the referral at the top."""
    case = Case()
    case.do(register(hazard_id="H-0001"), NOW)
    case.fire_until(NOW + timedelta(days=3 * 365), stop="EnforcementReferred")
    return case


def major_listed_case() -> Case:
    """A major hazard listed at county level through plan, extension, a failed and a passed
    verification, de-listing and closing."""
    case = Case()
    case.do(
        register_major(
            hazard_id="H-0002", listing_level=ListingLevel.COUNTY, listing_measures=FIVE
        ),
        NOW,
    )
    case.do(SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW + timedelta(days=1))
    later = case.deadline + timedelta(days=30)
    case.do(
        RequestExtension(ENTERPRISE_ACTOR, later, "设备到货延迟", "停用打磨工位"),
        NOW + timedelta(days=2),
    )
    case.do(DecideExtension(COUNTY_SUPERVISOR, True, "同意延期"), NOW + timedelta(days=3))
    case.do(
        ReportRectification(ENTERPRISE_ACTOR, "已更换除尘系统", (PHOTO,)), NOW + timedelta(days=6)
    )
    case.do(
        VerifyRectification(COUNTY_SUPERVISOR, False, "锁气卸灰装置未安装"), NOW + timedelta(days=7)
    )
    case.do(
        ReportRectification(ENTERPRISE_ACTOR, "已安装锁气卸灰装置", (PHOTO,)),
        NOW + timedelta(days=8),
    )
    case.do(VerifyRectification(COUNTY_SUPERVISOR, True, "整改到位"), NOW + timedelta(days=9))
    case.fire_until(NOW + timedelta(days=60))  # the de-listing's publication
    return case


def undecided_and_unverified_case() -> Case:
    """An extension nobody decides in time (alerts up the grid), then refused, then a report
    nobody verifies."""
    case = Case()
    case.do(register(hazard_id="H-0003"), NOW)
    case.do(
        RequestExtension(
            ENTERPRISE_ACTOR, case.deadline + timedelta(days=20), "停产检修", "专人值守"
        ),
        NOW + timedelta(hours=1),
    )
    case.fire_until(NOW + timedelta(days=3), stop="ExtensionDecisionOverdue")
    case.do(DecideExtension(SUPERVISOR, False, "理由不充分"), NOW + timedelta(days=3))
    case.do(ReportRectification(ENTERPRISE_ACTOR, "已整改", (PHOTO,)), NOW + timedelta(days=4))
    case.fire_until(NOW + timedelta(days=60), stop="VerificationOverdue")
    return case


def refused_case() -> Case:
    case = Case()
    case.do(register(hazard_id="H-0004"), NOW)
    case.do(RecordRefusal(SUPERVISOR, "企业负责人拒绝签收整改通知书"), NOW + timedelta(days=1))
    return case


def withdrawn_case() -> Case:
    case = Case()
    case.do(register(hazard_id="H-0005"), NOW)
    served = f"H-0005:2:RectificationNoticeIssued:enterprise:{ENTERPRISE.credit_code}"
    case.do(AcknowledgeService(ENTERPRISE_ACTOR, served, "rectification_notice"), NOW)
    case.do(WithdrawCase(SUPERVISOR, "登记错误：非本企业隐患"), NOW + timedelta(days=1))
    return case


def credit_records() -> list[Credit]:
    """A proceeding that ends in a listing, early removal, its revocation and the expiry; and
    one whose early removal is refused, and one not listed."""

    def record(kind: CreditEventKind, at: datetime) -> RecordCreditEvent:
        return RecordCreditEvent(
            SYSTEM, ENTERPRISE.credit_code, ENTERPRISE.name, "H-0001", kind, at
        )

    records = []
    for approve in (True, False):
        credit = Credit()
        credit.do(record(CreditEventKind.MAJOR_OVERDUE_AT_TOP, NOW), NOW)
        credit.fire("objection_window")
        assert credit.state is not None and credit.state.proceeding is not None
        decided = credit.state.proceeding.objection_until + timedelta(days=1)
        credit.do(
            DecideListing(SUPERVISOR, True, "《安全生产严重失信主体名单管理办法》第X条"), decided
        )
        year = decided + timedelta(days=400)
        credit.do(ApplyEarlyRemoval(ENTERPRISE_ACTOR, "已整改并培训"), year)
        credit.do(DecideEarlyRemoval(SUPERVISOR, approve, "" if approve else "整改不彻底"), year)
        if approve:
            credit.do(RevokeEarlyRemoval(SUPERVISOR, "申请材料弄虚作假"), year + timedelta(days=1))
            credit.fire("expiry")
        records.append(credit)
    not_listed = Credit()
    not_listed.do(record(CreditEventKind.REFUSAL, NOW), NOW)
    not_listed.fire("objection_window")
    assert not_listed.state is not None and not_listed.state.proceeding is not None
    end = not_listed.state.proceeding.objection_until
    not_listed.do(DecideListing(SUPERVISOR, False, "企业已整改到位"), end + timedelta(days=1))
    records.append(not_listed)
    return records


def all_rendered(language: str) -> list[tuple[dict[str, Any], Any]]:
    rendered = []
    cases = [
        overdue_general_case(),
        major_listed_case(),
        undecided_and_unverified_case(),
        refused_case(),
        withdrawn_case(),
    ]
    for case in cases:
        for payload in case.payloads:
            notice = QueuedNotice.from_payload(payload)
            text = render_notice(notice, case.facts, language=language, public_url=PUBLIC_URL)
            rendered.append((payload, text))
    credit_facts = CreditFacts(ENTERPRISE.credit_code, ENTERPRISE.name, "Asia/Shanghai")
    for credit in credit_records():
        for payload in credit.payloads:
            notice = QueuedNotice.from_payload(payload)
            text = render_notice(notice, credit_facts, language=language, public_url=PUBLIC_URL)
            rendered.append((payload, text))
    return rendered


@pytest.fixture(scope="module", params=["zh", "en"])
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[tuple[dict[str, Any], Any]]]:
    return request.param, all_rendered(request.param)


def test_every_kind_the_domain_produces_has_its_own_words_and_every_template_is_used(rendered):
    _language, notices = rendered
    used = {text.template for _payload, text in notices}
    assert "generic" not in used, [p["reason"] for p, t in notices if t.template == "generic"]
    assert used == set(TEMPLATES), f"never produced: {set(TEMPLATES) - used}"


def test_every_notice_is_filled_in_with_the_facts_and_the_link(rendered):
    language, notices = rendered
    for payload, text in notices:
        for part in (text.subject, text.text, text.markdown):
            assert "{" not in part and "}" not in part, (payload["reason"], part)
        assert text.language == language
        assert text.subject.startswith("【督办】" if language == "zh" else "[Duban] ")
        assert text.text.endswith(text.link) and f"]({text.link})" in text.markdown
        if payload["case_id"].startswith("credit-"):
            assert ENTERPRISE.credit_code in text.text and ENTERPRISE.name in text.text
            assert text.link == f"{PUBLIC_URL}/console/enterprises/{ENTERPRISE.credit_code}/credit"
        else:
            hazard_id = payload["case_id"]
            assert hazard_id in text.text and ENTERPRISE.name in text.text
            assert text.link == f"{PUBLIC_URL}/console/cases/{hazard_id}"


def test_each_deadline_a_notice_names_is_shown_on_the_policys_clock(rendered):
    language, notices = rendered
    checked = 0
    for payload, text in notices:
        for key in ("deadline", "decide_by", "review_by", "objection_until", "expires_at"):
            value = payload["event"].get(key)
            if value and f"{{{key}}}" in str(TEMPLATES.get(text.template)):
                local = datetime.fromisoformat(value).astimezone(SHANGHAI)
                shown = format_instant(value, "Asia/Shanghai", language)
                assert shown in text.text, (payload["reason"], key, text.text)
                if (local.hour, local.minute) != (0, 0):  # end-of-day deadlines read 24:00
                    assert f"{local:%H:%M}" in shown
                checked += 1
    assert checked > 20


def test_a_rectification_deadline_reads_as_the_bureau_writes_it():
    case = Case()
    deadline = datetime(2026, 12, 31, 17, 0, tzinfo=SHANGHAI)
    case.do(register(deadline=deadline), NOW)
    payload = next(p for p in case.payloads if p["reason"] == "rectification_notice")
    notice = QueuedNotice.from_payload(payload)
    zh = render_notice(notice, case.facts, public_url=PUBLIC_URL)
    en = render_notice(notice, case.facts, language="en", public_url=PUBLIC_URL)
    assert "请于2026年12月31日 17:00前完成整改" in zh.subject
    assert "整改期限：2026年12月31日 17:00" in zh.text
    assert "配电箱门未关闭, 线路裸露" in zh.text and "一般事故隐患" in zh.text
    assert "rectify by 31 December 2026, 17:00" in en.subject
    assert zh.text.splitlines()[-1] == f"查看案件：{PUBLIC_URL}/console/cases/H-0001"
    assert en.text.splitlines()[-1] == f"Open the case: {PUBLIC_URL}/console/cases/H-0001"


def test_instants_show_in_the_zone_given_and_the_end_of_a_day_as_24_00():
    assert format_instant("2026-12-31T09:00:00+00:00", "Asia/Shanghai") == "2026年12月31日 17:00"
    assert format_instant("2026-12-31T16:00:00+00:00", "Asia/Shanghai") == "2026年12月31日 24:00"
    assert format_instant("2026-12-31T16:00:00+00:00", "Asia/Shanghai", "en") == (
        "31 December 2026, 24:00"
    )
    assert format_instant("2026-12-31T09:00:00+00:00", "Asia/Urumqi") == (
        "2026年12月31日 15:00 (Asia/Urumqi)"
    )
    assert format_duration("P3D") == "3天" and format_duration("P2WD", "en") == "2 working days"
    assert format_duration("PT30S") == "30秒"


def test_a_notice_of_a_kind_without_words_is_still_rendered_never_dropped():
    notice = QueuedNotice(
        "H-9:3:Unknown:enterprise:x",
        "something_new:detail",
        "SomethingNew",
        "enterprise",
        "x",
        {"deadline": "2026-01-01T00:00:00+00:00"},
    )
    facts = CaseFacts(
        "H-9", ENTERPRISE.name, "描述", "位置", "general", "deadline", "Asia/Shanghai"
    )
    text = render_notice(notice, facts)
    assert text.template == "generic"
    assert "H-9" in text.subject and "SomethingNew" in text.text and "{" not in text.text


def test_a_notice_whose_event_lacks_a_value_falls_back_to_general_words():
    notice = QueuedNotice(
        "k", "rectification_notice", "RectificationNoticeIssued", "enterprise", "x"
    )
    facts = CaseFacts(
        "H-9", ENTERPRISE.name, "描述", "位置", "general", "deadline", "Asia/Shanghai"
    )
    assert render_notice(notice, facts).template == "generic"


def test_an_unknown_language_is_refused_naming_the_field():
    notice = QueuedNotice(
        "k", "case_closed", "CaseClosed", "enterprise", "x", {"basis": "verified"}
    )
    facts = CaseFacts(
        "H-9", ENTERPRISE.name, "描述", "位置", "general", "deadline", "Asia/Shanghai"
    )
    with pytest.raises(DomainError) as refused:
        render_notice(notice, facts, language="fr")
    assert refused.value.rule == "notice.language" and refused.value.field == "language"


def test_the_console_path_is_made_in_one_place_and_escapes_what_a_path_cannot_hold():
    facts = CaseFacts("H-0001", "e", "d", "l", "general", "deadline", "Asia/Shanghai")
    assert console_path(facts) == "/console/cases/H-0001"
    assert console_path(replace(facts, hazard_id="H 1/2")) == "/console/cases/H%201%2F2"
    assert console_path(CreditFacts("91370782MA3C123451", "e", "Asia/Shanghai")) == (
        "/console/enterprises/91370782MA3C123451/credit"
    )
