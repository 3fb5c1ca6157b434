"""Which documents each recorded event gives rise to (one rule per kind, in one table).

``documents_for_case_event(history, index, context)`` answers for the event at ``index`` of a
case's history (the history from its registration); ``documents_for_credit_event`` the same
for a credit record. The drafts come in a stable order, each with a stable ``key``
(``<subject>:<event number>:<kind>``), so that issuing them again draws no second number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.case.events import (
    CaseEscalated,
    CaseEvent,
    EnforcementReferred,
    ExtensionApproved,
    ExtensionRejected,
    HazardListed,
    ListingPublished,
    PublicationKind,
    RectificationNoticeIssued,
    VerificationFailed,
    VerificationPassed,
)
from domain.credit.events import (
    CreditEvent,
    EarlyRemovalApproved,
    EarlyRemovalRejected,
    EarlyRemovalRevoked,
    ListingDecided,
    ProceedingNoticeIssued,
)
from domain.documents.case_decisions import (
    delisting_notice,
    delisting_notice_due,
    enforcement_referral,
    extension_decision,
    verification_opinion,
)
from domain.documents.case_facts import CaseDocumentContext, CaseView
from domain.documents.case_notices import (
    delisting_announcement,
    listing_announcement,
    listing_notice,
    rectification_notice,
    supervision_letter,
    supervision_letter_due,
    supervision_notice,
)
from domain.documents.credit_documents import (
    CreditDocumentContext,
    CreditView,
    credit_listing_decision,
    credit_listing_notice,
    credit_repair_decision,
)
from domain.documents.model import DocumentDraft


def _always(_: CaseView) -> bool:
    return True


def _publication(kind: PublicationKind) -> Callable[[CaseView], bool]:
    def due(view: CaseView) -> bool:
        event = view.event
        return isinstance(event, ListingPublished) and event.kind is kind

    return due


# (event class, when it applies, builder): the documents of an event in this order.
CASE_DOCUMENTS: tuple[
    tuple[type[CaseEvent], Callable[[CaseView], bool], Callable[[CaseView], DocumentDraft]], ...
] = (
    (RectificationNoticeIssued, _always, rectification_notice),
    (CaseEscalated, _always, supervision_notice),
    (CaseEscalated, supervision_letter_due, supervision_letter),
    (HazardListed, _always, listing_notice),
    (ListingPublished, _publication(PublicationKind.LISTING), listing_announcement),
    (ListingPublished, _publication(PublicationKind.DELISTING), delisting_announcement),
    (ExtensionApproved, _always, extension_decision),
    (ExtensionRejected, _always, extension_decision),
    (VerificationPassed, _always, verification_opinion),
    (VerificationFailed, _always, verification_opinion),
    (CaseEvent, delisting_notice_due, delisting_notice),
    (EnforcementReferred, _always, enforcement_referral),
)


def documents_for_case_event(
    history: Sequence[CaseEvent], index: int, context: CaseDocumentContext
) -> list[DocumentDraft]:
    """The documents the event at ``index`` of a case's history gives rise to."""
    view = CaseView.of(history, index, context)
    return [
        build(view)
        for event_class, due, build in CASE_DOCUMENTS
        if isinstance(view.event, event_class) and due(view)
    ]


def case_documents(
    history: Sequence[CaseEvent], context: CaseDocumentContext
) -> list[DocumentDraft]:
    """Every document of a case's history, in the order of its events."""
    return [d for i in range(len(history)) for d in documents_for_case_event(history, i, context)]


CREDIT_DOCUMENTS: tuple[tuple[type[CreditEvent], Callable[[CreditView], DocumentDraft]], ...] = (
    (ProceedingNoticeIssued, credit_listing_notice),
    (ListingDecided, credit_listing_decision),
    (EarlyRemovalApproved, credit_repair_decision),
    (EarlyRemovalRejected, credit_repair_decision),
    (EarlyRemovalRevoked, credit_repair_decision),
)


def documents_for_credit_event(
    history: Sequence[CreditEvent], index: int, context: CreditDocumentContext
) -> list[DocumentDraft]:
    """The documents the event at ``index`` of a credit record's history gives rise to."""
    view = CreditView.of(history, index, context)
    return [
        build(view)
        for event_class, build in CREDIT_DOCUMENTS
        if isinstance(view.event, event_class)
    ]


def credit_documents(
    history: Sequence[CreditEvent], context: CreditDocumentContext
) -> list[DocumentDraft]:
    return [d for i in range(len(history)) for d in documents_for_credit_event(history, i, context)]
