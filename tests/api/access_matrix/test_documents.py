"""The access matrix, documents: a case registered through the API (its workflow on the
time-skipping server) gets its 整改通知书 issued by the follower; its list and its PDF answer
exactly the case's readers; its verification answers everyone, with no personal data."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from activities.blobs import DirectoryBlobStore
from activities.documents import load_document_rules
from activities.documents.issuing import DocumentIssuer, PolicyBook
from tests.api.conftest import ApiHarness
from tests.api.matrix import READERS_OF_A, Matrix, answers, each, register
from tests.documents.pdf_checks import pdf_text, require_poppler


async def test_a_case_s_documents_answer_its_readers_and_their_verification_everyone(
    isolated_api: ApiHarness, tmp_path: Path
):
    require_poppler()
    api, grid = isolated_api, isolated_api.grid
    blobs = DirectoryBlobStore(tmp_path / "blobs")
    api.services.blobs = blobs
    matrix = Matrix(api)
    in_a = await register(api, "inspector_a")
    issuer = DocumentIssuer(
        api.store,
        blobs,
        load_document_rules(),
        PolicyBook.from_settings(api.settings),
        public_url="https://duban.example.gov.cn",
    )
    assert issuer.catch_up() == 1
    assert issuer.not_issued == {}
    api.project()

    listed: dict[str, Any] = {}

    def one_notice(body: Any) -> None:
        assert body["total"] == 1, body
        item = body["items"][0]
        assert item["kind"] == "rectification_notice" and item["title"] == "事故隐患整改通知书"
        assert item["authority_name"] == "密州街道办事处", item  # the township's, by name
        assert item["number"] == "密街办〔" + item["signed_on"][:4] + "〕1号", item
        assert item["source_event"] == "RectificationNoticeIssued"
        assert item["deadline"] is not None
        listed.update(item)

    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/documents",
        answers(403, **each(READERS_OF_A, (200, one_notice))),
    )
    code = listed["short_code"]
    pdf_path = f"/api/v1/hazards/{in_a}/documents/{code}/pdf"
    assert listed["pdf"] == pdf_path
    seen = await matrix.row("GET", pdf_path, answers(403, **each(READERS_OF_A, 200)))
    for who in READERS_OF_A:
        answer = seen[who]
        assert answer.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(answer.content).hexdigest() == listed["sha256"]
        assert answer.headers["x-content-sha256"] == listed["sha256"]
    text = pdf_text(seen["admin"].content)
    assert listed["number"] in text and "密州街道办事处" in text and code in text
    assert "诸城某机械有限公司" in text  # the addressee, for the case's readers

    # Another case's path does not reach the document.
    await matrix.row(
        "GET",
        f"/api/v1/hazards/H-no-such-case/documents/{code}/pdf",
        answers(404),
    )

    def verified(body: Any) -> None:
        assert body == {
            "short_code": code,
            "number": listed["number"],
            "authority_name": "密州街道办事处",
            "title": "事故隐患整改通知书",
            "signed_on": listed["signed_on"],
            "sha256": listed["sha256"],
            "size": listed["size"],
        }, body

    await matrix.row(
        "GET",
        f"/api/v1/public/documents/{code}",
        answers((200, verified), anonymous=(200, verified)),
    )
    await matrix.row(
        "GET",
        f"/api/v1/public/documents/{code.lower()}",
        answers((200, verified), anonymous=(200, verified)),
    )
    await matrix.row("GET", "/api/v1/public/documents/ZZZZ-ZZZZ", answers(404, anonymous=404))
    page = await api.client.get(f"/v/{code}")
    assert page.status_code == 200, page.text
    assert listed["number"] in page.text and listed["sha256"] in page.text
    assert "诸城某机械有限公司" not in page.text and grid.enterprise_a not in page.text
    missing = await api.client.get("/v/ZZZZ-ZZZZ")
    assert missing.status_code == 404 and "未对应" in missing.text
    assert len(matrix.rows) == 6
