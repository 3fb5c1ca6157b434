"""Real cases and a real credit record, driven through ``domain.case.decide`` and
``domain.credit.decide_credit`` with real commands, whose recorded events the documents are
built from. Timers fire as the workflow fires them (``catch_up`` before each command)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from activities.documents import load_document_rules
from domain.case import CaseState, catch_up, decide, fold
from domain.case.commands import (
    CaseCommand,
    DecideExtension,
    RecordRefusal,
    ReportRectification,
    RequestExtension,
    SubmitGovernancePlan,
    VerifyRectification,
)
from domain.case.events import CaseEvent, CreditTriggerRaised, Evidence
from domain.credit import (
    CreditState,
    decide_credit,
    fold_credit,
)
from domain.credit.commands import (
    ApplyEarlyRemoval,
    CreditCommand,
    DecideEarlyRemoval,
    DecideListing,
    FileObjection,
    FireCreditTimer,
    RecordCreditEvent,
    RevokeEarlyRemoval,
)
from domain.credit.events import CreditEvent
from domain.documents import (
    CaseDocumentContext,
    CreditDocumentContext,
    DocumentDraft,
    DocumentKind,
    DocumentModel,
    Verification,
    case_documents,
    credit_documents,
    issue,
)
from domain.documents.rules import DocumentRules
from domain.policy import Policy
from tests.domain.domain_builders import (
    CALENDAR,
    COUNTY,
    COUNTY_SUPERVISOR,
    DEFAULT,
    ENTERPRISE,
    ENTERPRISE_ACTOR,
    FIVE,
    LEGACY,
    NOW,
    PLAN,
    SYSTEM,
    register,
    register_major,
)

AFTER_PHOTO = Evidence("s3://evidence/after-1.jpg", "b" * 64)


@cache
def rules() -> DocumentRules:
    return load_document_rules()


def case_context(policy: Policy = DEFAULT) -> CaseDocumentContext:
    return CaseDocumentContext(policy, CALENDAR, rules())


def credit_context(policy: Policy = DEFAULT) -> CreditDocumentContext:
    return CreditDocumentContext(policy, CALENDAR, rules(), COUNTY)


@dataclass
class CaseRun:
    """A case as its workflow runs it: due timers fire before each command."""

    policy: Policy = DEFAULT
    state: CaseState | None = None
    history: list[CaseEvent] = field(default_factory=list)

    def at(self, now: datetime) -> CaseRun:
        self.state, fired = catch_up(self.state, now, self.policy, CALENDAR)
        self.history += fired
        return self

    def do(self, command: CaseCommand, now: datetime) -> CaseRun:
        self.at(now)
        events = decide(self.state, command, now, self.policy, CALENDAR)
        self.history += events
        self.state = fold(events, self.state)
        return self

    @property
    def deadline(self) -> datetime:
        assert self.state is not None and self.state.deadline is not None
        return self.state.deadline

    def documents(self) -> list[DocumentDraft]:
        return case_documents(self.history, case_context(self.policy))


def report(summary: str = "已更换配电箱并整理线路, 附整改后照片") -> ReportRectification:
    return ReportRectification(ENTERPRISE_ACTOR, summary, (AFTER_PHOTO,))


@cache
def registered_case() -> CaseRun:
    """A general hazard found on patrol, registered with a deadline (整改通知书)."""
    return CaseRun().do(register(), NOW)


def _escalated(policy: Policy) -> CaseRun:
    run = CaseRun(policy).do(register(hazard_id="H-ESC-1"), NOW)
    while run.state is not None and not run.state.referred:
        run.at(run.deadline)
    return run


@cache
def escalated_case() -> CaseRun:
    """Every deadline missed: up the ladder township → county (县级挂牌) → city (市级挂牌) →
    province (省级挂牌), then referred to enforcement at the top."""
    return _escalated(DEFAULT)


@cache
def legacy_escalated_case() -> CaseRun:
    """The same under the first edition's rules (as cases recorded before edition 2 run)."""
    return _escalated(LEGACY)


@cache
def extension_case() -> CaseRun:
    """An extension refused, asked again and granted (延期审批决定 both ways)."""
    run = CaseRun().do(register(hazard_id="H-EXT-1"), NOW)
    asked = NOW + timedelta(days=1)
    run.do(
        RequestExtension(
            ENTERPRISE_ACTOR, run.deadline + timedelta(days=30), "设备供货延迟", "停用配电箱"
        ),
        asked,
    )
    run.do(DecideExtension(COUNTY_SUPERVISOR, False, "理由不充分, 可先行临时整改"), asked)
    again = asked + timedelta(days=1)
    run.do(
        RequestExtension(
            ENTERPRISE_ACTOR,
            run.deadline + timedelta(days=20),
            "配电箱厂家出具延期供货证明",
            "停用配电箱, 设置警示标志, 专人看守",
        ),
        again,
    )
    run.do(DecideExtension(COUNTY_SUPERVISOR, True, "供货证明属实"), again + timedelta(hours=2))
    return run


@cache
def verified_case() -> CaseRun:
    """A report failed on review (复查不合格), reported again and passed (销号)."""
    run = CaseRun().do(register(hazard_id="H-VER-1"), NOW)
    first = NOW + timedelta(days=3)
    run.do(report(), first)
    run.do(VerifyRectification(COUNTY_SUPERVISOR, False, "线路仍有裸露"), first + timedelta(days=1))
    second = first + timedelta(days=5)
    run.do(report("线路已全部穿管保护"), second)
    run.do(VerifyRectification(COUNTY_SUPERVISOR, True, "整改到位"), second + timedelta(days=1))
    return run


@cache
def listed_major_case() -> CaseRun:
    """A major hazard, listed at the county at registration, rectified, passed, de-listed."""
    run = CaseRun().do(register_major(hazard_id="H-MAJ-1", listing_measures=FIVE), NOW)
    run.do(SubmitGovernancePlan(ENTERPRISE_ACTOR, PLAN), NOW + timedelta(days=5))
    reported = NOW + timedelta(days=40)
    run.do(report("除尘系统已更换并加装锁气卸灰装置"), reported)
    run.do(
        VerifyRectification(COUNTY_SUPERVISOR, True, "经现场复查整改到位"),
        reported + timedelta(days=3),
    )
    return run


@cache
def refused_case() -> CaseRun:
    """The enterprise refuses to rectify: recorded, referred to enforcement (移送)."""
    run = CaseRun().do(register(hazard_id="H-REF-1"), NOW)
    run.do(
        RecordRefusal(COUNTY_SUPERVISOR, "企业负责人拒绝签收整改通知书并拒不整改"),
        NOW + timedelta(days=2),
    )
    return run


@dataclass
class CreditRun:
    policy: Policy = DEFAULT
    state: CreditState | None = None
    history: list[CreditEvent] = field(default_factory=list)

    def do(self, command: CreditCommand, now: datetime) -> CreditRun:
        events = decide_credit(self.state, command, now, self.policy, CALENDAR)
        self.history += events
        self.state = fold_credit(events, self.state)
        return self

    def documents(self) -> list[DocumentDraft]:
        return credit_documents(self.history, credit_context(self.policy))


@cache
def credit_record() -> CreditRun:
    """The refused case's credit trigger opens a listing proceeding: notice, an objection, the
    listing decision; a year on, early removal refused, granted, then revoked."""
    case = refused_case()
    trigger = next(e for e in case.history if isinstance(e, CreditTriggerRaised))
    run = CreditRun().do(
        RecordCreditEvent(
            SYSTEM, ENTERPRISE.credit_code, ENTERPRISE.name, "H-REF-1", trigger.kind, trigger.at
        ),
        trigger.at,
    )
    assert run.state is not None and run.state.proceeding is not None
    proceeding = run.state.proceeding
    run.do(
        FileObjection(ENTERPRISE_ACTOR, "已开始整改, 请求不予列入"), trigger.at + timedelta(days=1)
    )
    assert proceeding.objection_until is not None
    closed = proceeding.objection_until
    run.do(FireCreditTimer(SYSTEM, f"objection:{proceeding.proceeding_no}"), closed)
    run.do(
        DecideListing(COUNTY_SUPERVISOR, True, "《安全生产严重失信主体名单管理办法》"),
        closed + timedelta(hours=1),
    )
    assert run.state.blacklist is not None
    year = run.state.blacklist.early_removal_from + timedelta(days=1)
    run.do(ApplyEarlyRemoval(ENTERPRISE_ACTOR, "已完成整改并接受信用修复培训"), year)
    run.do(
        DecideEarlyRemoval(COUNTY_SUPERVISOR, False, "整改复查材料不全"), year + timedelta(days=2)
    )
    run.do(ApplyEarlyRemoval(ENTERPRISE_ACTOR, "补充整改复查材料"), year + timedelta(days=10))
    run.do(DecideEarlyRemoval(COUNTY_SUPERVISOR, True, "材料齐全"), year + timedelta(days=12))
    run.do(RevokeEarlyRemoval(COUNTY_SUPERVISOR, "整改照片系伪造"), year + timedelta(days=40))
    return run


def all_drafts() -> list[DocumentDraft]:
    drafts: list[DocumentDraft] = []
    for run in (
        registered_case(),
        escalated_case(),
        extension_case(),
        verified_case(),
        listed_major_case(),
        refused_case(),
    ):
        drafts += run.documents()
    return drafts + credit_record().documents()


def first_of(kind: DocumentKind) -> DocumentDraft:
    return next(d for d in all_drafts() if d.kind is kind)


def issued(draft: DocumentDraft, serial: int = 7) -> DocumentModel:
    code = "ZG7Q-4K2M"
    return issue(draft, serial, Verification(code, f"https://duban.example/v/{code}"))


def showcase(kind: DocumentKind) -> DocumentDraft:
    """The document of a kind the PDF tests render: the first, except for the 督办通知书, where
    the county bureau's (a 抄送 in its 版记) says more than the township's."""
    if kind is DocumentKind.SUPERVISION_NOTICE:
        return next(d for d in all_drafts() if d.kind is kind and d.copy_to)
    return first_of(kind)


def one_of_each() -> dict[DocumentKind, DocumentModel]:
    """One issued document of every kind, from the scenarios above."""
    return {kind: issued(showcase(kind), serial) for serial, kind in enumerate(DocumentKind, 1)}
