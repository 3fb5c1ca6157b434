"""What each document says, built from real cases' and a real credit record's events (pure,
no rendering): authority, number, addressee, facts, deadline, basis, rights."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain._codec import from_data, to_data
from domain.case.events import (
    CaseEscalated,
    CaseEvent,
    CreditTriggerRaised,
    RectificationNoticeIssued,
)
from domain.credit.commands import RecordCreditEvent
from domain.documents import (
    DocumentKind,
    DocumentModel,
    DocumentNumber,
    Verification,
    case_documents,
    documents_for_case_event,
)
from domain.documents.rules import UnitAuthority
from domain.errors import DomainError
from domain.grid import GridLevel, GridUnit
from tests.documents.scenarios import (
    CreditRun,
    all_drafts,
    case_context,
    escalated_case,
    extension_case,
    first_of,
    issued,
    legacy_escalated_case,
    listed_major_case,
    refused_case,
    registered_case,
    rules,
    verified_case,
)
from tests.domain.domain_builders import ENTERPRISE, LEGACY, PATH, SYSTEM


def body(draft: object) -> str:
    return "".join(p.text for p in draft.body)  # type: ignore[attr-defined]


def test_every_kind_of_document_comes_from_a_real_case_or_credit_record() -> None:
    assert {d.kind for d in all_drafts()} == set(DocumentKind)


def test_each_draft_has_a_key_of_its_own_and_the_same_events_give_the_same_drafts() -> None:
    drafts = all_drafts()
    assert len({d.key for d in drafts}) == len(drafts)
    run = escalated_case()
    assert case_documents(run.history, case_context()) == run.documents()


def test_the_rectification_notice_states_the_hazard_the_deadline_the_measures_and_the_basis() -> (
    None
):
    notice = registered_case().documents()[0]
    assert notice.kind is DocumentKind.RECTIFICATION_NOTICE
    # A village case is issued by the township above it (a 网格员 issues no 公文).
    assert notice.authority.name == "密州街道办事处"
    assert notice.authority.abbreviation == "密街办"
    assert notice.addressees == (ENTERPRISE.name,)
    assert notice.signed_on == date(2025, 3, 3)
    assert notice.deadline is not None
    # P15D from Monday 3 March 2025 09:00: a legal period ending at 24:00 on the 18th.
    assert notice.deadline.words == "2025年3月18日（星期二）24时前"
    assert notice.deadline.counted == ""  # deadlines.general counts calendar days
    text = body(notice)
    for fact in ("一号车间", "配电箱门未关闭", "H-0001", ENTERPRISE.credit_code, "车间主任 刘"):
        assert fact in text
    assert "《中华人民共和国安全生产法》第六十五条" in text
    assert "现责令你单位于2025年3月18日（星期二）24时前整改完毕" in text
    # The right to ask for an extension, with the policy's cut-off and the rule's source.
    assert [r.key for r in notice.rights] == ["extension"]
    assert "整改期限届满3个工作日前" in text
    assert "deadlines.general" in notice.rule_keys


def test_a_major_hazard_s_notice_states_the_governance_plan_and_the_checklist_clause() -> None:
    drafts = listed_major_case().documents()
    notice = next(d for d in drafts if d.kind is DocumentKind.RECTIFICATION_NOTICE)
    assert notice.authority.name == "诸城市应急管理局"  # listed at the county: its bureau issues
    assert "治理方案" in body(notice)
    assert "工贸企业重大事故隐患判定标准 第十四条(一)" in body(notice)
    assert "整改期限届满20个工作日前" in body(notice)  # listed: the Qingdao cut-off


def test_each_escalation_step_gives_a_supervision_notice_with_working_days_counted() -> None:
    run = escalated_case()
    notices = [d for d in run.documents() if d.kind is DocumentKind.SUPERVISION_NOTICE]
    escalations = [e for e in run.history if isinstance(e, CaseEscalated)]
    assert len(notices) == len(escalations) == 4
    assert [n.authority.name for n in notices] == [
        "密州街道办事处",
        "诸城市应急管理局",
        "潍坊市应急管理局",
        "山东省应急管理厅",
    ]
    assert [n.authority.abbreviation for n in notices] == ["密街办", "诸应急", "潍应急", "鲁应急"]
    first = notices[0]
    assert first.deadline is not None
    assert first.deadline.words == "2025年4月2日（星期三）24时前"
    assert first.deadline.counted == "10个工作日"  # the rung's P10WD
    assert "整改期限已于2025年3月18日（星期二）24时届满" in body(first)
    assert "第一级督办" in body(first)
    # The county's notice is copied to the township that supervised before it.
    assert notices[1].copy_to == ("密州街道办事处",)
    assert "责令停产整顿" in body(notices[3])  # the province's rung names 停产整顿


def test_a_supervision_letter_goes_down_to_the_authority_that_supervised_before() -> None:
    letters = [d for d in escalated_case().documents() if d.kind is DocumentKind.SUPERVISION_LETTER]
    # The township's own step writes no letter to itself; county, city and province do.
    assert [(d.authority.name, d.addressees) for d in letters] == [
        ("诸城市应急管理局", ("密州街道办事处",)),
        ("潍坊市应急管理局", ("诸城市应急管理局",)),
        ("山东省应急管理厅", ("潍坊市应急管理局",)),
    ]
    assert letters[0].title == f"关于督促{ENTERPRISE.name}限期整改事故隐患的函"


def test_listing_gives_a_notice_and_a_public_announcement_with_the_listing_number() -> None:
    drafts = listed_major_case().documents()
    notice = next(d for d in drafts if d.kind is DocumentKind.LISTING_NOTICE)
    announcement = next(d for d in drafts if d.kind is DocumentKind.LISTING_ANNOUNCEMENT)
    assert notice.title == "重大事故隐患挂牌督办通知书"
    assert "县级挂牌督办" in body(notice)
    assert "GP-COUNTY-" in body(notice) and "GP-COUNTY-" in body(announcement)
    assert "五落实" in body(notice) and "企业自筹 20 万元" in body(notice)
    assert announcement.addressees == ()  # a 公告 has no 主送
    assert "12350" in body(announcement)


def test_de_listing_gives_an_opinion_an_announcement_and_a_delisting_notice() -> None:
    drafts = listed_major_case().documents()
    kinds = [d.kind for d in drafts]
    assert kinds[-3:] == [
        DocumentKind.VERIFICATION_OPINION,
        DocumentKind.DELISTING_ANNOUNCEMENT,
        DocumentKind.DELISTING_NOTICE,
    ]
    assert drafts[-1].title == "事故隐患摘牌销号通知书"
    assert "予以摘牌" in body(drafts[-1])
    plain = [d for d in verified_case().documents() if d.kind is DocumentKind.DELISTING_NOTICE]
    assert [d.title for d in plain] == ["事故隐患销号通知书"]


def test_a_failed_verification_sets_a_new_deadline_and_a_passed_one_writes_off() -> None:
    opinions = [
        d for d in verified_case().documents() if d.kind is DocumentKind.VERIFICATION_OPINION
    ]
    failed, passed = opinions
    assert "复查不合格" in body(failed) and "线路仍有裸露" in body(failed)
    assert failed.deadline is not None and failed.deadline.words.startswith("2025年3月")
    assert "复查合格" in body(passed) and "予以销号" in body(passed)
    assert passed.deadline is None


def test_a_refused_extension_states_review_and_litigation_and_a_granted_one_does_not() -> None:
    refused, granted = [
        d for d in extension_case().documents() if d.kind is DocumentKind.EXTENSION_DECISION
    ]
    assert [r.key for r in refused.rights] == ["review", "litigation"]
    assert "六十日内依法申请行政复议" in body(refused)
    assert "《中华人民共和国行政复议法》第二十条" in body(refused)
    assert "六个月内依法向人民法院提起行政诉讼" in body(refused)
    assert "本机关决定不予延期" in body(refused)
    assert granted.rights == ()
    assert "本机关决定同意延期" in body(granted)
    assert granted.deadline is not None and "停用配电箱" in body(granted)


def test_a_referral_goes_to_the_enforcement_body_of_the_policy_s_level() -> None:
    referral = next(
        d for d in refused_case().documents() if d.kind is DocumentKind.ENFORCEMENT_REFERRAL
    )
    assert referral.addressees == ("诸城市应急管理综合行政执法大队",)
    assert "拒不执行事故隐患整改要求" in body(referral)
    assert "企业负责人拒绝签收" in body(referral)
    assert "《中华人民共和国安全生产法》第一百零二条" in body(referral)


def test_the_credit_notice_states_the_right_to_object_until_the_window_closes() -> None:
    notice = first_of(DocumentKind.CREDIT_LISTING_NOTICE)
    assert notice.authority.name == "诸城市应急管理局"
    assert notice.subject == ENTERPRISE.credit_code
    assert notice.deadline is not None and notice.deadline.counted == "5个工作日"
    assert [r.key for r in notice.rights] == ["statement"]
    assert "陈述、申辩" in body(notice) and notice.deadline.words in body(notice)
    assert "拒不执行事故隐患整改要求" in body(notice)  # the trigger's facts and reasons
    assert "(" not in body(notice)  # the policy's words set in full-width punctuation


def test_the_listing_decision_states_the_period_early_removal_and_remedies() -> None:
    decision = first_of(DocumentKind.CREDIT_LISTING_DECISION)
    assert decision.title == "列入安全生产严重失信主体名单决定书"
    assert [r.key for r in decision.rights] == ["early_removal", "review", "litigation"]
    assert "提出了1份陈述、申辩意见" in body(decision)
    # The basis the supervisor recorded names Order 11: the rules' citation is not repeated.
    assert body(decision).count("安全生产严重失信主体名单管理办法》") == 2  # basis + right


def test_the_early_removal_decisions_say_granted_refused_and_revoked() -> None:
    titles = [d.title for d in all_drafts() if d.kind is DocumentKind.CREDIT_REPAIR_DECISION]
    assert titles == [
        "不予提前移出安全生产严重失信主体名单决定书",
        "准予提前移出安全生产严重失信主体名单决定书",
        "撤销提前移出安全生产严重失信主体名单决定书",
    ]


def test_issuing_numbers_the_document_after_gb_t_9704() -> None:
    model = issued(registered_case().documents()[0], serial=12)
    assert model.number.text == "密街办〔2025〕12号"
    with pytest.raises(DomainError) as refused:
        DocumentNumber("密街办", 2025, 0)
    assert refused.value.rule == "document.number.serial_positive"
    with pytest.raises(DomainError) as other:
        DocumentModel(model.draft, DocumentNumber("诸应急", 2025, 1), model.verification)
    assert other.value.rule == "document.number.other_authority"


@pytest.mark.parametrize(
    ("code", "url", "rule"),
    [
        ("ab", "https://x/v", "document.verification.short_code"),
        ("ZG7Q 4K2M", "https://x/v", "document.verification.short_code"),
        ("ZG7Q-4K2M", "ftp://x/v", "document.verification.url"),
        ("ZG7Q-4K2M", "https://x/" + "v" * 91, "document.verification.url"),
    ],
)
def test_a_bad_verification_code_or_url_is_refused_naming_the_field(
    code: str, url: str, rule: str
) -> None:
    with pytest.raises(DomainError) as refused:
        Verification(code, url)
    assert refused.value.rule == rule
    assert refused.value.field in ("short_code", "url")


def test_an_issued_document_round_trips_through_json_for_its_issue_event() -> None:
    for draft in all_drafts():
        model = issued(draft)
        assert from_data(DocumentModel, to_data(model)) == model


def test_documents_are_built_for_one_event_at_a_time() -> None:
    run = registered_case()
    index = next(i for i, e in enumerate(run.history) if isinstance(e, RectificationNoticeIssued))
    assert [d.kind for d in documents_for_case_event(run.history, index, case_context())] == [
        DocumentKind.RECTIFICATION_NOTICE
    ]
    assert documents_for_case_event(run.history, 0, case_context()) == []  # the registration
    with pytest.raises(DomainError) as refused:
        documents_for_case_event(run.history, len(run.history), case_context())
    assert refused.value.rule == "document.event_index"


def test_the_deadline_of_a_drill_policy_reads_with_its_clock_time() -> None:
    run = registered_case()
    notice_at = next(
        i for i, e in enumerate(run.history) if isinstance(e, RectificationNoticeIssued)
    )
    event = run.history[notice_at]
    assert isinstance(event, RectificationNoticeIssued)
    # 2025-03-03 09:30:20 in Shanghai (a deadline a drill sets in seconds).
    odd = replace(event, deadline=datetime(2025, 3, 3, 1, 30, 20, tzinfo=UTC))
    history: list[CaseEvent] = [*run.history[:notice_at], odd]
    (notice,) = documents_for_case_event(history, notice_at, case_context())
    assert notice.deadline is not None
    assert notice.deadline.words == "2025年3月3日（星期一）9时30分20秒前"


def test_a_grid_unit_is_named_by_the_rules_or_by_its_own_entry() -> None:
    r = rules()
    province = GridUnit("Z33", "浙江省", GridLevel.PROVINCE, None, "省厅 钱")
    assert r.authority_of(province).name == "浙江省应急管理厅"
    assert r.authority_of(province).abbreviation == "浙应急"
    county = GridUnit(
        "DEMO-37-07-82", "示范县", GridLevel.COUNTY, "DEMO-37-07", "县应急管理局 赵局长"
    )
    assert (r.authority_of(county).name, r.authority_of(county).abbreviation) == (
        "示范县应急管理局",
        "示应急",
    )
    town = GridUnit("T1", "河东镇", GridLevel.TOWNSHIP, "X", "安监站 钱站长")
    assert r.authority_of(town).name == "河东镇人民政府"
    named = replace(r, units={"T1": UnitAuthority("河东镇政府", "河政")})
    assert named.authority_of(town).name == "河东镇政府"
    with pytest.raises(DomainError) as refused:
        r.issuing_authority(PATH, "NOT-ON-PATH")
    assert refused.value.rule == "document.authority.outside_path"


def test_drafts_of_a_later_event_see_the_events_before_it_only() -> None:
    """A document issued again from the same events says the same, whatever came later."""
    run = escalated_case()
    index = next(i for i, e in enumerate(run.history) if isinstance(e, CaseEscalated))
    early = documents_for_case_event(run.history[: index + 3], index, case_context())
    late = documents_for_case_event(run.history, index, case_context())
    assert early == late
    assert early[0].signed_on == (run.history[index].at + timedelta(hours=8)).date()


def test_a_case_and_a_credit_record_kept_under_edition_1_give_their_documents_too() -> None:
    """Cases recorded under the first edition's rules: no publication events (no 公告), a
    credit notice that recorded only its window (reasons from the trigger, the right from the
    rules)."""
    case = legacy_escalated_case()
    kinds = {d.kind for d in case.documents()}
    assert DocumentKind.LISTING_NOTICE in kinds and DocumentKind.ENFORCEMENT_REFERRAL in kinds
    assert DocumentKind.LISTING_ANNOUNCEMENT not in kinds
    record = CreditRun(LEGACY)
    for trigger in (e for e in case.history if isinstance(e, CreditTriggerRaised)):
        record.do(
            RecordCreditEvent(
                SYSTEM, ENTERPRISE.credit_code, ENTERPRISE.name, "H-ESC-1", trigger.kind, trigger.at
            ),
            trigger.at,
        )
    (notice,) = record.documents()  # the third escalation within 12 months opens a proceeding
    assert notice.kind is DocumentKind.CREDIT_LISTING_NOTICE
    assert "12个月内事故隐患逾期升级3次（隐患编号：H-ESC-1）" in body(notice)
    assert "陈述、申辩" in body(notice) and notice.deadline is not None
