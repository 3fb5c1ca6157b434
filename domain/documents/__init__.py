"""Official documents (公文) from a case's and a credit record's events: what each says.

``model`` holds the data (``DocumentDraft`` → ``issue`` → ``DocumentModel``), ``rules`` the
naming, basis and rights rules (``parse_document_rules``), ``builders`` which event gives rise
to which document, ``case_notices`` / ``case_decisions`` / ``credit_documents`` one function
per kind. Pure, as the rest of ``domain``: the renderer is ``activities/documents``.
"""

from domain.documents.builders import (
    case_documents,
    credit_documents,
    documents_for_case_event,
    documents_for_credit_event,
)
from domain.documents.case_facts import CaseDocumentContext
from domain.documents.credit_documents import CreditDocumentContext
from domain.documents.model import (
    Authority,
    Citation,
    Deadline,
    DocumentDraft,
    DocumentKind,
    DocumentModel,
    DocumentNumber,
    Paragraph,
    ParagraphStyle,
    Right,
    Verification,
    issue,
)
from domain.documents.rules import DocumentRules, parse_document_rules

__all__ = [
    "Authority",
    "CaseDocumentContext",
    "Citation",
    "CreditDocumentContext",
    "Deadline",
    "DocumentDraft",
    "DocumentKind",
    "DocumentModel",
    "DocumentNumber",
    "DocumentRules",
    "Paragraph",
    "ParagraphStyle",
    "Right",
    "Verification",
    "case_documents",
    "credit_documents",
    "documents_for_case_event",
    "documents_for_credit_event",
    "issue",
    "parse_document_rules",
]
