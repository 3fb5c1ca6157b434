"""The documents of an enterprise's credit record (安全生产信用记录): 列入严重失信主体名单
告知书 (the notice with the right to state its case), 决定书 (the listing decision), and the
信用修复 decisions (提前移出 approved or refused, or revoked for false statements).

A credit record has no grid path of its own: the caller names the unit that decides its
proceedings (``[credit] decided_by_level`` on the enterprise's grid path), whose authority
issues its documents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from domain.calendar import WorkingCalendar
from domain.credit import (
    trigger_reasons,
)
from domain.credit.events import (
    BlacklistPublished,
    CreditEvent,
    CreditRecordOpened,
    EarlyRemovalApplied,
    EarlyRemovalApproved,
    EarlyRemovalRejected,
    EarlyRemovalRevoked,
    ListingDecided,
    ObjectionFiled,
    ProceedingNoticeIssued,
    ProceedingOpened,
)
from domain.documents.model import (
    Citation,
    Deadline,
    DocumentDraft,
    DocumentKind,
    Paragraph,
    Right,
)
from domain.documents.rules import DocumentRules
from domain.documents.wording import (
    basis_words,
    clause,
    date_words,
    deadline_of,
    deadline_sentence,
    duration_words,
    local_day,
    official,
    rights_paragraph,
    sentence,
    until_words,
)
from domain.durations import PolicyDuration
from domain.errors import DomainError
from domain.grid import GridUnit
from domain.policy import CreditEventKind, Policy

C = TypeVar("C", bound=CreditEvent)


@dataclass(frozen=True)
class CreditDocumentContext:
    policy: Policy
    calendar: WorkingCalendar
    rules: DocumentRules
    deciding_unit: GridUnit  # whose authority issues the record's documents


@dataclass(frozen=True)
class CreditView:
    history: tuple[CreditEvent, ...]
    index: int
    context: CreditDocumentContext

    @staticmethod
    def of(
        history: Sequence[CreditEvent], index: int, context: CreditDocumentContext
    ) -> CreditView:
        if not 0 <= index < len(history) or not isinstance(history[0], CreditRecordOpened):
            raise DomainError(
                "document.event_index",
                f"the credit record has no event {index + 1} after its opening",
                "index",
            )
        return CreditView(tuple(history), index, context)

    @property
    def event(self) -> CreditEvent:
        return self.history[self.index]

    @property
    def opened(self) -> CreditRecordOpened:
        first = self.history[0]
        assert isinstance(first, CreditRecordOpened)
        return first

    def last_before(self, kind: type[C], proceeding_no: str | None = None) -> C | None:
        return next(
            (
                e
                for e in reversed(self.history[: self.index])
                if isinstance(e, kind)
                and (proceeding_no is None or getattr(e, "proceeding_no", None) == proceeding_no)
            ),
            None,
        )

    def after(self, kind: type[C]) -> C | None:
        """The event of ``kind`` recorded by the same decision, after this one."""
        at = self.event.at
        for e in self.history[self.index + 1 :]:
            if e.at != at:
                return None
            if isinstance(e, kind):
                return e
        return None

    def draft(
        self,
        kind: DocumentKind,
        *,
        title: str,
        body: list[Paragraph],
        basis: tuple[Citation, ...],
        rights: tuple[Right, ...] = (),
        deadline: Deadline | None = None,
        rule_keys: tuple[str, ...] = (),
    ) -> DocumentDraft:
        ctx, tz = self.context, self.context.policy.tz
        return DocumentDraft(
            kind=kind,
            key=f"{self.opened.credit_code}:{self.index + 1}:{kind.value}",
            subject=self.opened.credit_code,
            source_event=self.event.EVENT_TYPE,
            source_at=self.event.at,
            authority=ctx.rules.authority_of(ctx.deciding_unit),
            title=title,
            addressees=(self.opened.enterprise_name,),
            body=tuple(body),
            basis=basis,
            deadline=deadline,
            rights=rights,
            signed_on=local_day(self.event.at, tz),
            rule_keys=rule_keys,
        )


_TRIGGER_WORDS = {
    CreditEventKind.MAJOR_OVERDUE_AT_TOP.value: "重大事故隐患经逐级督办至最高层级仍逾期未整改",
    CreditEventKind.OVERDUE_AT_TOP.value: "事故隐患经逐级督办至最高层级仍逾期未整改",
    CreditEventKind.REFUSAL.value: "拒不执行事故隐患整改要求",
    CreditEventKind.ENFORCEMENT_REFERRAL.value: "事故隐患整改不力，已移送执法",
}
_ESCALATIONS = re.compile(r"^escalations_(\d+)_within_(P\w+)$")


def facts_and_reasons(opened: ProceedingOpened, recorded: str, policy: Policy) -> str:
    """事实和理由. A proceeding a case's trigger opened is worded here from the trigger (the
    event recorded ``domain.credit.trigger_reasons``, whose period reads ``P12M``); one a
    supervisor opened states the ground as the supervisor recorded it."""
    if opened.case_id is None:
        return recorded or opened.trigger
    words = _TRIGGER_WORDS.get(opened.trigger)
    escalations = _ESCALATIONS.match(opened.trigger)
    if words is None and escalations is not None:
        period = duration_words(PolicyDuration.parse(escalations.group(2)))
        words = f"{period}内事故隐患逾期升级{escalations.group(1)}次"
    if words is None:
        words = official(recorded or trigger_reasons(opened.trigger, opened.case_id, policy))
        return words
    return f"{words}（隐患编号：{opened.case_id}）"


def _recorded_basis(view: CreditView, recorded: str, kind: DocumentKind) -> tuple[Citation, ...]:
    """The basis a person or the policy recorded with the event, then those of the rules'
    own citations whose rule it does not already name."""
    texts = [recorded.strip()] if recorded.strip() else []
    for citation in view.context.rules.basis(kind):
        title = citation.text[: citation.text.find("》") + 1] or citation.text
        if not any(title in t for t in texts):
            texts.append(citation.text)
    return tuple(Citation(t) for t in texts)


def credit_listing_notice(view: CreditView) -> DocumentDraft:
    """列入严重失信主体名单告知书: facts and reasons, basis, the right to state its case and
    object (陈述申辩) until the window closes (Order 11)."""
    event = view.event
    assert isinstance(event, ProceedingNoticeIssued)
    kind = DocumentKind.CREDIT_LISTING_NOTICE
    policy, tz = view.context.policy, view.context.policy.tz
    opened = view.last_before(ProceedingOpened, event.proceeding_no)
    assert opened is not None, "a notice follows its proceeding"
    reasons = facts_and_reasons(opened, event.reasons, policy)
    policy_notice = policy.credit.notice
    basis = _recorded_basis(
        view, official(event.basis or (policy_notice.basis if policy_notice else "")), kind
    )
    window = deadline_of(
        event.objection_until,
        tz,
        counted_from=event.at,
        rule=policy.credit.objection_window,
        calendar=view.context.calendar,
    )
    stated = _statement_right_text(event, policy)
    right = Right(
        "statement",
        f"{clause(official(stated))}。陈述、申辩（异议）的期限为{deadline_sentence(window)}",
        view.context.rules.right("statement").citation,
    )
    c = policy.credit
    body = [
        Paragraph(
            f"经查，你单位（统一社会信用代码：{view.opened.credit_code}）{sentence(reasons)}"
        ),
        Paragraph(
            f"依据{basis_words(basis)}的规定，本机关拟将你单位列入安全生产严重失信主体名单"
            f"（程序编号：{event.proceeding_no}）。"
        ),
        Paragraph(rights_paragraph((right,))),
        Paragraph(
            f"列入名单的，管理期限为{duration_words(c.list_period)}，期满移出；列入名单满"
            f"{duration_words(c.early_removal_after)}后，可以依照规定申请提前移出（信用修复）。"
        ),
    ]
    return view.draft(
        kind,
        title="列入安全生产严重失信主体名单告知书",
        body=body,
        basis=basis,
        rights=(right,),
        deadline=window,
        rule_keys=("credit.objection_window", "credit.notice", "credit.list_period"),
    )


def _statement_right_text(event: ProceedingNoticeIssued, policy: Policy) -> str:
    """The right as the notice recorded it (policy edition 2), without the machine-readable
    deadline the event appends to it (the document states the deadline in words)."""
    if event.rights:
        return event.rights.split(" (截止 ", 1)[0]
    if policy.credit.notice is not None:
        return policy.credit.notice.rights
    return "贵单位有权在告知后提出陈述、申辩（异议）；逾期未提出的，视为放弃"


def credit_listing_decision(view: CreditView) -> DocumentDraft:
    """列入 (or 不予列入) 严重失信主体名单决定书."""
    event = view.event
    assert isinstance(event, ListingDecided)
    kind = DocumentKind.CREDIT_LISTING_DECISION
    policy, tz = view.context.policy, view.context.policy.tz
    notice = view.last_before(ProceedingNoticeIssued, event.proceeding_no)
    opened = view.last_before(ProceedingOpened, event.proceeding_no)
    assert notice is not None and opened is not None, "a decision follows its notice"
    reasons = facts_and_reasons(opened, notice.reasons, policy)
    objections = sum(
        1
        for e in view.history[: view.index]
        if isinstance(e, ObjectionFiled) and e.proceeding_no == event.proceeding_no
    )
    heard = (
        f"你单位在陈述、申辩期限内提出了{objections}份陈述、申辩意见，本机关已予复核。"
        if objections
        else "你单位在陈述、申辩期限内未提出陈述、申辩意见。"
    )
    basis = _recorded_basis(view, event.basis, kind)
    body = [
        Paragraph(
            f"本机关于{date_words(local_day(notice.at, tz))}告知你单位（统一社会信用代码："
            f"{view.opened.credit_code}）拟列入安全生产严重失信主体名单，事实和理由为："
            f"{sentence(reasons)}{heard}"
        )
    ]
    rights: tuple[Right, ...] = ()
    if not event.listed:
        body.append(
            Paragraph(
                f"依据{basis_words(basis)}的规定，本机关决定不将你单位列入安全生产严重失信主体"
                "名单。"
            )
        )
        title = "不予列入安全生产严重失信主体名单决定书"
    else:
        published = view.after(BlacklistPublished)
        body.append(
            Paragraph(
                f"依据{basis_words(basis)}的规定，本机关决定将你单位列入安全生产严重失信主体"
                f"名单（程序编号：{event.proceeding_no}）。"
            )
        )
        rights = view.context.rules.rights_of(kind)
        if published is not None:
            body.append(
                Paragraph(
                    f"管理期限自{date_words(local_day(published.at, tz))}起至"
                    f"{until_words(published.expires_at, tz)}止，期满移出。本决定依照规定"
                    "予以公示。"
                )
            )
            rights = (
                Right(
                    "early_removal",
                    f"自{date_words(local_day(published.early_removal_from, tz))}起，你单位"
                    "可以依照规定申请提前移出（信用修复）",
                    view.context.rules.right("early_removal").citation,
                ),
                *rights,
            )
        body.append(Paragraph(rights_paragraph(rights)))
        title = "列入安全生产严重失信主体名单决定书"
    return view.draft(
        kind,
        title=title,
        body=body,
        basis=basis,
        rights=rights,
        rule_keys=("credit.list_period", "credit.early_removal_after", "credit.publish_within"),
    )


def credit_repair_decision(view: CreditView) -> DocumentDraft:
    """信用修复 decisions: 准予 / 不予提前移出, and 撤销提前移出 (false statements)."""
    event = view.event
    assert isinstance(event, EarlyRemovalApproved | EarlyRemovalRejected | EarlyRemovalRevoked)
    kind = DocumentKind.CREDIT_REPAIR_DECISION
    tz = view.context.policy.tz
    applied = view.last_before(EarlyRemovalApplied)
    assert applied is not None, "a decision answers an application"
    basis = view.context.rules.basis(kind)
    body = [
        Paragraph(
            f"你单位（统一社会信用代码：{view.opened.credit_code}）于"
            f"{date_words(local_day(applied.at, tz))}申请提前移出安全生产严重失信主体名单"
            "（信用修复）。"
        )
    ]
    rights: tuple[Right, ...] = ()
    if isinstance(event, EarlyRemovalApproved):
        title = "准予提前移出安全生产严重失信主体名单决定书"
        body.append(
            Paragraph(
                f"{_examined(event.reason)}依据{basis_words(basis)}的规定，本机关决定准予你单位"
                "提前移出安全生产严重失信主体名单，停止公示。"
            )
        )
    elif isinstance(event, EarlyRemovalRejected):
        title = "不予提前移出安全生产严重失信主体名单决定书"
        rights = view.context.rules.rights_of(kind)
        body += [
            Paragraph(
                f"{_examined(event.reason)}依据{basis_words(basis)}的规定，本机关决定不予提前移出。"
            ),
            Paragraph(rights_paragraph(rights)),
        ]
    else:
        title = "撤销提前移出安全生产严重失信主体名单决定书"
        rights = view.context.rules.rights_of(kind)
        body += [
            Paragraph(
                "经查，你单位申请提前移出时存在隐瞒真实情况、弄虚作假的情形："
                f"{sentence(event.reason)}"
            ),
            Paragraph(
                f"依据{basis_words(basis)}的规定，本机关决定撤销提前移出决定，恢复列入安全生产"
                f"严重失信主体名单，管理期限至{until_words(event.expires_at, tz)}止。"
            ),
            Paragraph(rights_paragraph(rights)),
        ]
    return view.draft(kind, title=title, body=body, basis=basis, rights=rights)


def _examined(reason: str) -> str:
    return f"经审核，{clause(reason)}。" if reason.strip() else "经审核，"
