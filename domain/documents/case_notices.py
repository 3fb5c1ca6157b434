"""The notices of a case: 事故隐患整改通知书 (registration with a deadline), 督办通知书 and
督办函 (each escalation step), 挂牌督办通知书 and its 公告, and the 摘牌公告.

One function per kind, each taking the ``CaseView`` of the event it is issued for.
"""

from __future__ import annotations

from domain.case.events import (
    CaseEscalated,
    DelistBasis,
    HazardClass,
    HazardDelisted,
    HazardListed,
    HazardSource,
    ListingPublished,
    RectificationNoticeIssued,
)
from domain.documents.case_facts import CaseView
from domain.documents.model import DocumentDraft, DocumentKind, Paragraph, Right
from domain.documents.wording import (
    HAZARD_SOURCE,
    LISTING_LEVEL,
    STEP,
    basis_words,
    clause,
    date_words,
    deadline_of,
    deadline_sentence,
    duration_words,
    ordinal,
    rights_paragraph,
    sentence,
    until_words,
)
from domain.editions import (
    extension_limits_depend_on_listing,
    listing_maximum_counts_from_first_listing,
)
from domain.policy import Step

_GOVERNANCE_PLAN = (
    "该隐患为重大事故隐患。你单位应当制定并实施事故隐患治理方案，治理方案应当包括治理的目标"
    "和任务、采取的方法和措施、经费和物资的落实、负责治理的机构和人员、治理的时限和要求、安全"
    "措施和应急预案；治理期间应当采取相应的安全防范措施，防止事故发生。"
)


def rectification_notice(view: CaseView) -> DocumentDraft:
    """事故隐患整改通知书: the hazard, the deadline, the measures, the responsible person."""
    event = view.event
    assert isinstance(event, RectificationNoticeIssued)
    policy, r = view.context.policy, view.registered
    kind = DocumentKind.RECTIFICATION_NOTICE
    listing = view.before.listing
    rule_key, rule = (
        (
            f"deadlines.listed.{listing.level.value}",
            policy.deadlines.listed.for_level(listing.level),
        )
        if listing is not None
        else ("deadlines.general", policy.deadlines.general)
    )
    deadline = deadline_of(
        event.deadline, view.tz, counted_from=event.at, rule=rule, calendar=view.context.calendar
    )
    found = (
        "经你单位自查"
        if r.source is HazardSource.SELF_INSPECTION
        else f"经{HAZARD_SOURCE[r.source]}"
    )
    body = [
        Paragraph(
            f"{date_words(view.local_date(r.found_at))}，{found}，发现你单位（统一社会"
            f"信用代码：{r.credit_code}）存在下列事故隐患："
        ),
        *view.hazard_items(),
        Paragraph(
            f"依据{basis_words(view.rules.basis(kind))}的规定，现责令你单位于"
            f"{deadline_sentence(deadline)}整改完毕，消除事故隐患。"
        ),
    ]
    if event.measures.strip():
        body.append(Paragraph(f"整改措施和要求：{sentence(event.measures)}"))
    if event.responsible_person.strip():
        body.append(Paragraph(f"整改责任人：{sentence(event.responsible_person)}"))
    if r.hazard_class is HazardClass.MAJOR:
        body.append(Paragraph(_GOVERNANCE_PLAN))
    body.append(
        Paragraph(
            "整改完成后，你单位应当及时向本机关书面报告整改情况并申请复查。本机关自收到复查申请"
            f"之日起{duration_words(policy.verification.review_within)}内进行复查。"
        )
    )
    rights = _extension_right(view)
    if rights:
        body.append(Paragraph(rights_paragraph(rights)))
    body.append(Paragraph("逾期未完成整改的，将依照逐级督办的规定提请上级督办。"))
    return view.draft(
        kind,
        authority=view.supervising_issuer,
        title="事故隐患整改通知书",
        addressees=(view.enterprise,),
        body=body,
        deadline=deadline,
        rights=rights,
        rule_keys=(rule_key, "verification.review_within", "extension.request_before"),
    )


def _extension_right(view: CaseView) -> tuple[Right, ...]:
    """延期申请, where the policy allows extensions: how long before the deadline to ask. The
    limits are those ``domain.case`` applies (listed supervision, or the unlisted limits where
    ``extension_limits_depend_on_listing``)."""
    policy = view.context.policy
    if policy.extension.max_extensions < 1:
        return ()
    listed = view.after_decision.listing is not None or not extension_limits_depend_on_listing(
        policy
    )
    before = policy.extension.limits(listed=listed).request_before
    text = (
        f"你单位因客观原因确实不能按期完成整改的，可以在整改期限届满{duration_words(before)}前"
        "向本机关书面申请延期，说明理由和整改期间的临时安全防范措施。"
    )
    return (Right("extension", text, view.rules.right("extension").citation),)


def _missed_deadline_words(view: CaseView) -> str:
    deadline = view.before.deadline
    return until_words(deadline, view.tz) if deadline is not None else ""


def supervision_notice(view: CaseView) -> DocumentDraft:
    """事故隐患督办通知书: the escalation step, to the enterprise, with the new deadline."""
    event = view.event
    assert isinstance(event, CaseEscalated)
    kind = DocumentKind.SUPERVISION_NOTICE
    rung_key = f"escalation.ladder[{event.escalation_index - 1}]"
    rung = view.context.policy.escalation.ladder[event.escalation_index - 1]
    deadline = deadline_of(
        event.deadline,
        view.tz,
        counted_from=event.at,
        rule=rung.deadline,
        calendar=view.context.calendar,
    )
    authority = view.issuer_for(event.unit_code)
    previous = view.supervising_issuer
    steps = "、".join(STEP[s] for s in event.steps)
    body = [
        Paragraph(
            f"你单位{view.hazard_short()}（隐患编号：{view.registered.hazard_id}），整改期限已于"
            f"{_missed_deadline_words(view)}届满，你单位逾期未完成整改。"
        ),
        Paragraph(
            f"依据{basis_words(view.rules.basis(kind))}的规定，按照逐级督办的要求，本机关对该"
            f"事故隐患实施第{ordinal(event.escalation_index)}级督办，督办措施为：{steps}。"
        ),
        Paragraph(
            f"现责令你单位于{deadline_sentence(deadline)}整改完毕，并将整改情况书面报告本机关。"
        ),
    ]
    if Step.SUSPENSION_ORDER in event.steps:
        body.append(
            Paragraph("在事故隐患消除前，你单位应当停止相关生产经营活动，落实安全防范措施。")
        )
    body.append(Paragraph("逾期仍未完成整改的，将依照逐级督办的规定继续督办直至移送执法。"))
    return view.draft(
        kind,
        authority=authority,
        title="事故隐患督办通知书",
        addressees=(view.enterprise,),
        body=body,
        deadline=deadline,
        copy_to=(previous.name,),
        rule_keys=(f"{rung_key}.deadline", f"{rung_key}.steps"),
    )


def supervision_letter_due(view: CaseView) -> bool:
    """A 督办函 goes down the grid when the step names one and the case moves to another
    authority than the one that supervised it (the same authority does not write to itself)."""
    event = view.event
    return (
        isinstance(event, CaseEscalated)
        and Step.SUPERVISION_LETTER in event.steps
        and view.issuer_for(event.unit_code).unit_code != view.supervising_issuer.unit_code
    )


def supervision_letter(view: CaseView) -> DocumentDraft:
    """督办函: from the authority the case escalated to, to the authority that supervised it."""
    event = view.event
    assert isinstance(event, CaseEscalated)
    kind = DocumentKind.SUPERVISION_LETTER
    rung_key = f"escalation.ladder[{event.escalation_index - 1}]"
    rung = view.context.policy.escalation.ladder[event.escalation_index - 1]
    deadline = deadline_of(
        event.deadline,
        view.tz,
        counted_from=event.at,
        rule=rung.deadline,
        calendar=view.context.calendar,
    )
    r = view.registered
    addressee = view.supervising_issuer
    body = [
        Paragraph(
            f"你单位辖区内{r.enterprise_name}（统一社会信用代码：{r.credit_code}）"
            f"{view.hazard_short()}（隐患编号：{r.hazard_id}），整改期限已于"
            f"{_missed_deadline_words(view)}届满，该单位逾期未完成整改。"
        ),
        Paragraph(
            f"依据{basis_words(view.rules.basis(kind))}的规定，按照逐级督办的要求，本机关对该"
            f"事故隐患实施第{ordinal(event.escalation_index)}级督办。请你单位督促该单位于"
            f"{deadline_sentence(deadline)}整改完毕，落实整改期间的安全防范措施，并及时将整改"
            "和复查情况报告本机关。"
        ),
        Paragraph("特此函告。"),
    ]
    return view.draft(
        kind,
        authority=view.issuer_for(event.unit_code),
        title=f"关于督促{r.enterprise_name}限期整改事故隐患的函",
        addressees=(addressee.name,),
        body=body,
        deadline=deadline,
        rule_keys=(f"{rung_key}.deadline", f"{rung_key}.steps"),
    )


def listing_notice(view: CaseView) -> DocumentDraft:
    """挂牌督办通知书: the listing level, its number, the deadline and the 五落实."""
    event = view.event
    assert isinstance(event, HazardListed)
    kind = DocumentKind.LISTING_NOTICE
    policy = view.context.policy
    level = LISTING_LEVEL[event.level]
    deadline_at = view.after_decision.deadline
    r = view.registered
    escalated = view.in_decision(CaseEscalated)
    if r.hazard_class is HazardClass.MAJOR and escalated is None:
        why = "该隐患为重大事故隐患"
    elif escalated is not None:
        why = f"该隐患逾期未完成整改，经第{ordinal(escalated.escalation_index)}级督办"
    else:
        why = "经本机关研究"
    body = [
        Paragraph(
            f"你单位{view.hazard_short()}（隐患编号：{r.hazard_id}；隐患等级："
            f"{view.hazard_class_words()}）。{why}，依据{basis_words(view.rules.basis(kind))}"
            f"的规定，本机关决定对该事故隐患实施{level}挂牌督办，挂牌编号：{event.listing_no}。"
        )
    ]
    if event.supersedes:
        body.append(Paragraph(f"本次挂牌取代原挂牌督办（挂牌编号：{event.supersedes}）。"))
    deadline = None
    if deadline_at is not None:
        deadline = deadline_of(deadline_at, view.tz)
        body.append(Paragraph(f"整改期限：{deadline_sentence(deadline)}。"))
    measures = event.listing_measures
    if measures is not None:
        body.append(Paragraph("请你单位按照“五落实”的要求做好事故隐患治理工作："))
        for i, (name, text) in enumerate(
            (
                ("责任落实", measures.responsibility),
                ("措施落实", measures.measures),
                ("资金落实", measures.funds),
                ("时限落实", measures.time_limit),
                ("应急预案落实", measures.emergency_plan),
            ),
            start=1,
        ):
            body.append(Paragraph(f"（{ordinal(i)}）{name}：{sentence(text)}"))
    elif event.measures.strip() and escalated is None:  # an escalation's are in its 督办通知书
        body.append(Paragraph(f"督办要求：{sentence(event.measures)}"))
    first = "首次挂牌" if listing_maximum_counts_from_first_listing(policy) else "本次挂牌"
    body += [
        Paragraph(
            f"挂牌督办期限自{first}之日起最长不超过{duration_words(policy.listing.max_duration)}。"
            "事故隐患整改完成后，你单位应当书面申请复查，经本机关复查合格的，予以摘牌销号。"
        ),
        Paragraph("挂牌督办情况依照规定向社会公告。"),
    ]
    return view.draft(
        kind,
        authority=view.issuer_for(event.authority_unit_code),
        title=f"{'重大' if r.hazard_class is HazardClass.MAJOR else ''}事故隐患挂牌督办通知书",
        addressees=(view.enterprise,),
        body=body,
        deadline=deadline,
        rule_keys=("listing.max_duration", "listing.publish_within"),
    )


def listing_announcement(view: CaseView) -> DocumentDraft:
    """挂牌督办公告: the listing published (ListingPublished of kind listing)."""
    event = view.event
    assert isinstance(event, ListingPublished)
    kind = DocumentKind.LISTING_ANNOUNCEMENT
    r = view.registered
    authority = view.issuer_for(event.authority_unit_code)
    deadline_at = view.after_decision.deadline
    deadline = deadline_of(deadline_at, view.tz) if deadline_at is not None else None
    items = [
        f"挂牌编号：{event.listing_no}。",
        f"生产经营单位：{r.enterprise_name}（统一社会信用代码：{r.credit_code}）。",
        f"隐患位置和情况：{clause(r.location)}，{clause(r.description)}。",
        f"隐患等级：{view.hazard_class_words()}。",
        f"挂牌督办级别：{LISTING_LEVEL[event.level]}。",
    ]
    if deadline is not None:
        items.append(f"整改期限：{deadline_sentence(deadline)}。")
    body = [
        Paragraph(
            f"依据{basis_words(view.rules.basis(kind))}的规定，本机关决定对下列事故隐患实施"
            f"{LISTING_LEVEL[event.level]}挂牌督办，现予公告："
        ),
        *(Paragraph(f"（{ordinal(i)}）{text}") for i, text in enumerate(items, start=1)),
        Paragraph(
            "欢迎社会各界监督。发现该单位未按要求整改的，可以向本机关反映，或者拨打12350安全"
            "生产举报投诉电话。"
        ),
        Paragraph("特此公告。"),
    ]
    return view.draft(
        kind,
        authority=authority,
        title=f"关于对{r.enterprise_name}事故隐患实施挂牌督办的公告",
        addressees=(),
        body=body,
        deadline=deadline,
        rule_keys=("listing.publish_within",),
    )


def delisting_announcement(view: CaseView) -> DocumentDraft:
    """摘牌公告: the de-listing published (ListingPublished of kind delisting)."""
    event = view.event
    assert isinstance(event, ListingPublished)
    kind = DocumentKind.DELISTING_ANNOUNCEMENT
    r = view.registered
    delisted = view.in_decision(HazardDelisted)
    withdrawn = delisted is not None and delisted.basis is DelistBasis.WITHDRAWN
    facts = (
        "本机关决定撤销对该事故隐患的挂牌督办"
        if withdrawn
        else "经复查，该事故隐患已整改完毕，复查合格，本机关决定予以摘牌"
    )
    listed = next(
        e
        for e in reversed(view.history[: view.index])
        if isinstance(e, HazardListed) and e.listing_no == event.listing_no
    )
    body = [
        Paragraph(
            f"{r.enterprise_name}（统一社会信用代码：{r.credit_code}）{view.hazard_short()}"
            f"（挂牌编号：{event.listing_no}）自{date_words(view.local_date(listed.at))}起实施"
            f"{LISTING_LEVEL[event.level]}挂牌督办。{facts}。"
        ),
        Paragraph(f"依据{basis_words(view.rules.basis(kind))}的规定，现予公告。"),
        Paragraph("特此公告。"),
    ]
    return view.draft(
        kind,
        authority=view.issuer_for(event.authority_unit_code),
        title=f"关于对{r.enterprise_name}事故隐患予以摘牌的公告",
        addressees=(),
        body=body,
        rule_keys=("listing.publish_within",),
    )
