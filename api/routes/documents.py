"""Issued documents (公文): a case's documents and their PDFs (for whoever may read the case),
and the public verification of a printed short code or QR code (核验, no token).

The verification answers what the document itself prints for anyone to see — its number,
issuing authority, title, date — and the SHA-256 of the PDF as issued, never its addressee or
its facts: a reader compares the hash with the file in hand.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from api.deps import CreditCode, HazardId, Limit, Offset, PrincipalDep, ServicesDep
from api.presenters import page_of
from api.schemas import Page
from api.services.refusals import Refused
from domain.documents.issued import normal_short_code

router = APIRouter(tags=["documents"])
page_router = APIRouter(tags=["documents"])  # the QR code's page, outside /api/v1

ShortCode = Annotated[
    str,
    Path(
        min_length=4,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{3,31}$",
        description="the short code printed at the document's foot (核验码), e.g. ZG7Q-4K2M-AB3C",
    ),
]


class DocumentCheckOut(BaseModel):
    """What a document's verification shows: what the document prints for anyone, and the
    hash of its PDF as issued."""

    short_code: str
    number: str = Field(description="发文字号, e.g. 诸应急〔2026〕12号")
    authority_name: str = Field(description="发文机关")
    title: str
    signed_on: date = Field(description="成文日期")
    sha256: str = Field(description="SHA-256 of the PDF as issued")
    size: int = Field(description="bytes of the PDF as issued")


class DocumentOut(DocumentCheckOut):
    """An issued document of a case, as its readers see it in the list."""

    kind: str
    source_event: str = Field(description="the event the document comes from")
    source_version: int = Field(description="that event's number in the case's stream")
    authority_unit_code: str
    deadline: datetime | None = Field(description="the deadline the document states, if any")
    pdf: str = Field(description="the path of its PDF")


def _document(row: dict[str, Any]) -> DocumentOut:
    owner = "enterprises" if row["source_stream"].startswith("credit-") else "hazards"
    return DocumentOut.model_validate(
        {**row, "pdf": f"/api/v1/{owner}/{row['subject']}/documents/{row['short_code']}/pdf"}
    )


def pdf_response(row: dict[str, Any], pdf: bytes) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{row["short_code"]}.pdf"',
            "X-Content-SHA256": row["sha256"],
            "Cache-Control": "private, max-age=3600",
        },
    )


@router.get("/hazards/{hazard_id}/documents", response_model=Page[DocumentOut])
def case_documents(
    hazard_id: HazardId,
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DocumentOut]:
    """The documents issued for the case (整改通知书, 督办通知书, …), in the order of its
    events: each with its number, authority, date, deadline and the SHA-256 of its PDF."""
    page = services.case_documents(principal, hazard_id, limit=limit, offset=offset)
    return page_of(page.items, page.total, page.limit, page.offset, _document)


@router.get(
    "/hazards/{hazard_id}/documents/{short_code}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def case_document_pdf(
    hazard_id: HazardId, short_code: ShortCode, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """The document's PDF, byte for byte as issued (its SHA-256 is the recorded one)."""
    row, pdf = services.case_document_pdf(principal, hazard_id, short_code)
    return pdf_response(row, pdf)


@router.get("/enterprises/{credit_code}/documents", response_model=Page[DocumentOut])
def enterprise_documents(
    credit_code: CreditCode,
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DocumentOut]:
    """The documents of the enterprise's credit record (列入严重失信主体名单告知书, 决定书,
    信用修复决定), for whoever may read the record."""
    page = services.enterprise_documents(principal, credit_code, limit=limit, offset=offset)
    return page_of(page.items, page.total, page.limit, page.offset, _document)


@router.get(
    "/enterprises/{credit_code}/documents/{short_code}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def enterprise_document_pdf(
    credit_code: CreditCode, short_code: ShortCode, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """The PDF of a document of the enterprise's credit record, byte for byte as issued."""
    row, pdf = services.enterprise_document_pdf(principal, credit_code, short_code)
    return pdf_response(row, pdf)


@router.get("/public/documents/{short_code}", response_model=DocumentCheckOut, tags=["public"])
def verify_document(short_code: ShortCode, services: ServicesDep) -> DocumentCheckOut:
    """核验: what a printed short code leads to, no token — the document's number, issuing
    authority, title, date and the SHA-256 of its PDF."""
    return DocumentCheckOut.model_validate(services.verify_document(short_code))


_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>文书核验 {code}</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}}
dt{{color:#555;margin-top:.8em}}dd{{margin:0;font-size:1.1em;word-break:break-all}}</style>
</head><body><main>
<h1>文书核验</h1>
{body}
</main></body></html>
"""


@page_router.get("/v/{short_code}", response_class=HTMLResponse, include_in_schema=False)
def verification_page(short_code: ShortCode, services: ServicesDep) -> HTMLResponse:
    """The page the QR code opens: the same facts as ``GET /api/v1/public/documents/{code}``."""
    code = html.escape(normal_short_code(short_code))
    try:
        row = services.verify_document(short_code)
    except Refused as exc:  # shown as a page, not as the API's JSON
        if exc.status != 404:
            raise
        body = f"<p>核验码 {code} 未对应任何已发文书。请核对核验码。</p>"
        return HTMLResponse(_PAGE.format(code=code, body=body), status_code=404)
    check = DocumentCheckOut.model_validate(row)
    items = [
        ("核验码", check.short_code),
        ("发文字号", check.number),
        ("发文机关", check.authority_name),
        ("标题", check.title),
        ("成文日期", f"{check.signed_on.year}年{check.signed_on.month}月{check.signed_on.day}日"),
        ("文件 SHA-256", check.sha256),
        ("文件大小", f"{check.size} 字节"),
    ]
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items)
    body = (
        f"<p>本文书已由发文机关签发并登记。</p><dl>{rows}</dl>"
        "<p>手中文件的 SHA-256 与上列一致，即为签发的原件。</p>"
    )
    return HTMLResponse(_PAGE.format(code=code, body=body))
