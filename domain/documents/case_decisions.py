"""The decisions and opinions of a case: 延期审批决定书 (approve/reject), 复查意见书 (pass/fail),
摘牌销号 / 销号通知书, and the 案件移送书 to the enforcement body.

One function per kind, each taking the ``CaseView`` of the event it is issued for.
"""

from __future__ import annotations

from domain.case.events import (
    CaseClosed,
    CloseBasis,
    EnforcementReferred,
    ExtensionApproved,
    ExtensionRejected,
    ExtensionRequested,
    HazardDelisted,
    RectificationReported,
    ReferralGround,
    RefusalRecorded,
    VerificationFailed,
    VerificationPassed,
)
from domain.documents.case_facts import CaseView
from domain.documents.model import DocumentDraft, DocumentKind, Paragraph, Right
from domain.documents.wording import (
    LISTING_LEVEL,
    REFERRAL_GROUND,
    basis_words,
    clause,
    date_words,
    deadline_of,
    deadline_sentence,
    deadline_words,
    ordinal,
    rights_paragraph,
    sentence,
    until_words,
)


def extension_decision(view: CaseView) -> DocumentDraft:
    """延期审批决定书: the request, the decision, the deadline that holds; a refusal states the
    rights of review and litigation."""
    event = view.event
    assert isinstance(event, ExtensionApproved | ExtensionRejected)
    kind = DocumentKind.EXTENSION_DECISION
    request = view.last_before(ExtensionRequested)
    assert request is not None, "a decision answers a request"
    r, tz = view.registered, view.tz
    body = [
        Paragraph(
            f"你单位于{date_words(view.local_date(request.at))}提出的{view.hazard_short()}（隐患"
            f"编号：{r.hazard_id}）延期整改申请收悉。你单位申请将整改期限延长至"
            f"{deadline_words(request.requested_deadline, tz)}，理由为：{sentence(request.reasons)}"
        )
    ]
    basis = basis_words(view.rules.basis(kind))
    rights: tuple[Right, ...] = ()
    deadline = None
    if isinstance(event, ExtensionApproved):
        deadline = deadline_of(event.deadline, tz)
        body += [
            Paragraph(
                f"{_reviewed(event.reason)}依据{basis}的规定，本机关决定同意延期，整改期限延长至"
                f"{deadline_sentence(deadline)}。"
            ),
            Paragraph(
                "延期期间，你单位应当落实申请中提出的临时安全防范措施："
                f"{sentence(request.interim_safeguards)}"
            ),
            Paragraph("逾期仍未完成整改的，将依照逐级督办的规定进行督办。"),
        ]
    else:
        rights = view.rules.rights_of(kind)
        body.append(Paragraph(f"{_reviewed(event.reason)}依据{basis}的规定，本机关决定不予延期。"))
        current = view.before.deadline
        if current is not None and event.at >= current:
            body.append(
                Paragraph(
                    f"原整改期限已于{until_words(current, tz)}届满，本案件依照逐级督办的"
                    "规定进行督办。"
                )
            )
        elif current is not None:
            deadline = deadline_of(current, tz)
            body.append(
                Paragraph(f"整改期限仍为{deadline_sentence(deadline)}，你单位应当按期完成整改。")
            )
        if rights:
            body.append(Paragraph(rights_paragraph(rights)))
    return view.draft(
        kind,
        authority=view.supervising_issuer,
        title="延期整改审批决定书",
        addressees=(view.enterprise,),
        body=body,
        deadline=deadline,
        rights=rights,
        rule_keys=("extension.decide_within", "extension.max_extensions"),
    )


def verification_opinion(view: CaseView) -> DocumentDraft:
    """复查意见书: the report, the verification, and what follows (销号, or a new deadline, or
    escalation when the deadline had passed)."""
    event = view.event
    assert isinstance(event, VerificationPassed | VerificationFailed)
    kind = DocumentKind.VERIFICATION_OPINION
    report = view.last_before(RectificationReported)
    assert report is not None, "a verification answers a report"
    before, r, tz = view.before, view.registered, view.tz
    authority = (
        view.issuer_for(before.listing.authority_unit_code)
        if before.listing is not None
        else view.supervising_issuer
    )
    body = [
        Paragraph(
            f"你单位于{date_words(view.local_date(report.at))}报告{view.hazard_short()}（隐患"
            f"编号：{r.hazard_id}）整改完成并申请复查，报告的整改情况为："
            f"{sentence(report.summary)}本机关于{date_words(view.signed_on)}进行了复查。"
        )
    ]
    basis = basis_words(view.rules.basis(kind))
    deadline = None
    rule_keys: tuple[str, ...] = ()
    if event.comments.strip():
        body.append(Paragraph(f"复查情况：{sentence(event.comments)}"))
    if isinstance(event, VerificationPassed):
        outcome = "予以摘牌、销号" if before.listing is not None else "予以销号"
        body.append(
            Paragraph(f"复查意见：该事故隐患已整改完毕，复查合格。依据{basis}的规定，{outcome}。")
        )
    else:
        body.append(Paragraph("复查意见：该事故隐患未整改到位，复查不合格。"))
        if event.counts_as_missed:
            body.append(
                Paragraph(
                    f"整改期限已于{until_words(event.deadline, tz)}届满，依据{basis}的规定，"
                    "本案件依照逐级督办的规定进行督办。"
                )
            )
        else:
            deadline = deadline_of(event.deadline, tz)
            rule_keys = ("verification.rework",)
            body.append(
                Paragraph(
                    f"依据{basis}的规定，现责令你单位于{deadline_sentence(deadline)}重新整改"
                    "到位，并再次申请复查。"
                )
            )
    return view.draft(
        kind,
        authority=authority,
        title="事故隐患整改复查意见书",
        addressees=(view.enterprise,),
        body=body,
        deadline=deadline,
        rule_keys=rule_keys,
    )


def delisting_notice_due(view: CaseView) -> bool:
    """A 摘牌销号 / 销号 notice follows a passed verification (立改立销 closes without one)."""
    event = view.event
    return isinstance(event, CaseClosed) and event.basis is CloseBasis.VERIFIED


def delisting_notice(view: CaseView) -> DocumentDraft:
    """摘牌销号通知书 (a listed hazard: by the listing authority) or 销号通知书."""
    event = view.event
    assert isinstance(event, CaseClosed)
    kind = DocumentKind.DELISTING_NOTICE
    r = view.registered
    delisted = view.in_decision(HazardDelisted)
    passed = view.in_decision(VerificationPassed)
    when = date_words(view.local_date(passed.at if passed else event.at))
    if delisted is not None:
        authority = view.issuer_for(delisted.authority_unit_code)
        what = f"予以摘牌（挂牌编号：{delisted.listing_no}）并销号"
        title = "事故隐患摘牌销号通知书"
    else:
        authority = view.supervising_issuer
        what = "予以销号"
        title = "事故隐患销号通知书"
    body = [
        Paragraph(
            f"你单位{view.hazard_short()}（隐患编号：{r.hazard_id}）已整改完毕，经本机关于"
            f"{when}复查合格。依据{basis_words(view.rules.basis(kind))}的规定，本机关决定"
            f"{what}。"
        ),
        Paragraph("特此通知。"),
    ]
    return view.draft(
        kind,
        authority=authority,
        title=title,
        addressees=(view.enterprise,),
        body=body,
    )


def enforcement_referral(view: CaseView) -> DocumentDraft:
    """案件移送书: to the enforcement body of the policy's enforcement level, with the ground."""
    event = view.event
    assert isinstance(event, EnforcementReferred)
    kind = DocumentKind.ENFORCEMENT_REFERRAL
    before, r, tz = view.before, view.registered, view.tz
    authority = view.supervising_issuer
    addressee = view.rules.enforcement_body(view.unit(event.authority_unit_code))
    body = [
        Paragraph(
            f"{r.enterprise_name}（统一社会信用代码：{r.credit_code}）{view.hazard_short()}"
            f"（隐患编号：{r.hazard_id}；隐患等级：{view.hazard_class_words()}），"
            f"{REFERRAL_GROUND[event.ground]}。"
        )
    ]
    refusal = view.in_decision(RefusalRecorded)
    if event.ground is ReferralGround.REFUSAL and refusal is not None:
        body.append(Paragraph(f"拒不整改的情况：{sentence(refusal.details)}"))
    history = []
    if before.escalation_index:
        history.append(f"该隐患已经{ordinal(before.escalation_index)}级督办")
    if before.listing is not None:
        history.append(
            f"现为{LISTING_LEVEL[before.listing.level]}挂牌督办（挂牌编号："
            f"{before.listing.listing_no}）"
        )
    if before.deadline is not None:
        history.append(f"最近一次整改期限为{deadline_words(before.deadline, tz)}")
    if history:
        body.append(Paragraph("，".join(history) + "。"))
    body += [
        Paragraph(
            f"依据{basis_words(view.rules.basis(kind))}的规定，现将该案件移送你单位依法处理。"
            "案件的全部记录可凭隐患编号在督办系统中调阅。"
        ),
        Paragraph("请将处理结果及时函告本机关。"),
    ]
    return view.draft(
        kind,
        authority=authority,
        title="事故隐患案件移送书",
        addressees=(addressee,),
        body=body,
        rule_keys=("escalation.enforcement_grid_level",),
    )


def _reviewed(reason: str) -> str:
    """``经审查，<the authority's reason>。`` (or ``经审查，`` when it gave none)."""
    return f"经审查，{clause(reason)}。" if reason.strip() else "经审查，"
