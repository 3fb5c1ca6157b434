"""Issued documents (公文): a case's documents and their PDFs for the readers of the case, and
the public verification of a printed short code (核验).

Sync: the routes that call these are plain ``def`` (FastAPI runs them in its thread pool).
"""

from __future__ import annotations

from activities.documents.issuing import pdf_of
from activities.projections.read_models.documents import (
    DocumentPage,
    document_by_code,
    list_documents,
)
from activities.projections.read_models.rows import Row
from api.auth import Principal
from api.services.access import AccessRules
from api.services.refusals import not_found
from domain.documents.issued import IssuedDocument, normal_short_code


class DocumentServices(AccessRules):
    def case_documents(
        self, principal: Principal, hazard_id: str, *, limit: int = 50, offset: int = 0
    ) -> DocumentPage:
        """The documents issued for a case, for whoever may read the case."""
        facts = self.require_read(principal, hazard_id)
        return list_documents(self.engine, facts.hazard_id, limit=limit, offset=offset)

    def case_document_pdf(
        self, principal: Principal, hazard_id: str, short_code: str
    ) -> tuple[Row, bytes]:
        """One document of the case and its PDF as issued (the bytes whose SHA-256 the issue
        event recorded)."""
        facts = self.require_read(principal, hazard_id)
        return self._pdf(facts.hazard_id, short_code)

    def enterprise_documents(
        self, principal: Principal, credit_code: str, *, limit: int = 50, offset: int = 0
    ) -> DocumentPage:
        """The documents of an enterprise's credit record (告知书, 决定书, 信用修复决定), for
        whoever may read the enterprise's record."""
        code = credit_code.upper()
        self.require_enterprise_access(principal, code)
        return list_documents(self.engine, code, limit=limit, offset=offset)

    def enterprise_document_pdf(
        self, principal: Principal, credit_code: str, short_code: str
    ) -> tuple[Row, bytes]:
        code = credit_code.upper()
        self.require_enterprise_access(principal, code)
        return self._pdf(code, short_code)

    def _pdf(self, subject: str, short_code: str) -> tuple[Row, bytes]:
        row = document_by_code(self.engine, normal_short_code(short_code))
        if row is None or row["subject"] != subject:
            raise not_found(f"document {short_code} of {subject}")
        recorded = self.store.read_stream(
            row["stream_id"], row["stream_version"], row["stream_version"]
        )
        document = IssuedDocument.from_data(recorded[0].data)
        return row, pdf_of(document, self.blobs)

    def verify_document(self, short_code: str) -> Row:
        """What a printed short code leads to (no sign-in): the document's number, authority,
        title, date and hash; nothing about the addressee."""
        row = document_by_code(self.engine, normal_short_code(short_code))
        if row is None:
            raise not_found(f"document {short_code}")
        return row
