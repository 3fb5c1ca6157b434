"""An issued document as the event store keeps it (``DocumentIssued``): the document as issued
(its ``DocumentModel``, so that a reprint renders exactly what was issued), where it comes from,
its 发文字号 and the SHA-256 of its PDF.

The number is drawn from the issuing authority's sequence for the year of the 成文日期: the
stream ``documents-<year>-<authority's grid unit>`` of the event store, whose versions are
gap-free by construction, so serial n is the stream's version n (``activities/documents/
issuing.py`` appends with ``expected_version`` = n - 1).

The short code is derived from the document's key alone (``short_code_for``): issuing the same
document again prints the same code and the same QR code, so the PDF's bytes do not change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain._codec import from_data, to_data
from domain.documents.model import DocumentKind, DocumentModel, Verification

DOCUMENT_ISSUED = "DocumentIssued"
DOCUMENT_ISSUED_SCHEMA = 1
PDF_MEDIA_TYPE = "application/pdf"
VERIFY_PATH = "/v/"  # the public verification page: <public URL>/v/<short code>


# Crockford's base32: digits and letters without I, L, O and U, so that a code typed from paper
# cannot confuse 0 with O or 1 with I and L (``normal_short_code`` reads them as meant).
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def short_code_for(key: str) -> str:
    """``ZG7Q-4K2M-AB3C``: 60 bits of the key's SHA-256 in Crockford's base32, three groups of
    four. Even among ten million documents two share a code with a chance below one in ten
    thousand; the read model keeps the first document of a code, never a second."""
    value = int.from_bytes(hashlib.sha256(("duban-document:" + key).encode()).digest()[:8]) >> 4
    text = "".join(_CODE_ALPHABET[(value >> (55 - 5 * i)) & 31] for i in range(12))
    return f"{text[:4]}-{text[4:8]}-{text[8:]}"


def normal_short_code(code: str) -> str:
    """A short code as typed (any case, O for 0, I or L for 1) as it is printed."""
    return code.strip().upper().translate(_READ_AS)


def verification_for(key: str, public_url: str) -> Verification:
    code = short_code_for(key)
    return Verification(code, public_url.rstrip("/") + VERIFY_PATH + code)


@dataclass(frozen=True)
class IssuedDocument:
    """The ``DocumentIssued`` event's data."""

    key: str
    kind: DocumentKind
    subject: str  # the hazard id, or the enterprise's credit code
    source_stream: str
    source_version: int  # the stream version of the event the document comes from
    source_event: str
    authority_unit_code: str
    authority_name: str
    number: str  # 发文字号 as printed
    year: int
    serial: int
    title: str
    signed_on: date
    short_code: str
    verify_url: str
    sha256: str  # of the PDF as issued
    size: int
    media_type: str
    model: DocumentModel

    @staticmethod
    def of(
        model: DocumentModel, source_stream: str, source_version: int, sha256: str, size: int
    ) -> IssuedDocument:
        d = model.draft
        return IssuedDocument(
            key=d.key,
            kind=d.kind,
            subject=d.subject,
            source_stream=source_stream,
            source_version=source_version,
            source_event=d.source_event,
            authority_unit_code=d.authority.unit_code,
            authority_name=d.authority.name,
            number=model.number.text,
            year=model.number.year,
            serial=model.number.serial,
            title=d.title,
            signed_on=d.signed_on,
            short_code=model.verification.short_code,
            verify_url=model.verification.url,
            sha256=sha256,
            size=size,
            media_type=PDF_MEDIA_TYPE,
            model=model,
        )

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = to_data(self)
        return data

    @staticmethod
    def from_data(data: dict[str, Any]) -> IssuedDocument:
        issued: IssuedDocument = from_data(IssuedDocument, data)
        return issued
