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
        row = document_by_code(self.engine, normal_short_code(short_code))
        if row is None or row["subject"] != facts.hazard_id:
            raise not_found(f"document {short_code} of hazard {hazard_id}")
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
