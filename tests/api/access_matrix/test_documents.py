"""The access matrix, documents: a case registered through the API (its workflow on the
time-skipping server) gets its 整改通知书 issued by the follower; its list and its PDF answer
exactly the case's readers; its verification answers everyone, with no personal data. A credit
record's 告知书 answers the readers of the enterprise's record."""

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


async def test_a_credit_record_s_notice_answers_the_enterprise_s_readers(
    isolated_api: ApiHarness, tmp_path: Path
):
    """A record a supervisor opened (no case): its 告知书 is issued by the authority of the
    enterprise's county (``[credit] decided_by_level``), listed and served to the readers of
    the enterprise's record."""
    require_poppler()
    api, grid = isolated_api, isolated_api.grid
    blobs = DirectoryBlobStore(tmp_path / "blobs")
    api.services.blobs = blobs
    a = grid.enterprise_a
    opened = await api.client.post(
        f"/api/v1/enterprises/{a}/credit/proceedings",
        json={"ground": "发生重大生产安全责任事故", "basis": "应急管理部令第11号 第五条"},
        headers=grid.headers("supervisor_county"),
    )
    assert opened.status_code == 200, opened.text
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
    matrix = Matrix(api)
    listed: dict[str, Any] = {}

    def the_notice(body: Any) -> None:
        (item,) = body["items"]
        assert item["kind"] == "credit_listing_notice", item
        assert item["authority_name"] == "诸城市应急管理局", item
        assert item["number"].startswith("诸应急〔") and item["number"].endswith("〕1号"), item
        assert item["pdf"] == f"/api/v1/enterprises/{a}/documents/{item['short_code']}/pdf"
        listed.update(item)

    await matrix.row(
        "GET",
        f"/api/v1/enterprises/{a}/documents",
        answers(403, **each(READERS_OF_A, (200, the_notice))),
    )
    seen = await matrix.row("GET", listed["pdf"], answers(403, **each(READERS_OF_A, 200)))
    assert hashlib.sha256(seen["enterprise_a"].content).hexdigest() == listed["sha256"]
    text = pdf_text(seen["auditor"].content)
    assert listed["number"] in text and "诸城市应急管理局" in text
    assert "列入安全生产严重失信主体名单告知书" in text
    assert "发生重大生产安全责任事故" in text  # the ground as the supervisor recorded it
    # Another enterprise's path does not reach it (its readers are told it is not there).
    await matrix.row(
        "GET",
        f"/api/v1/enterprises/{grid.enterprise_b}/documents/{listed['short_code']}/pdf",
        answers(403, **each(("inspector_b", "supervisor_b", "enterprise_b"), 404))
        | each(("supervisor_county", "auditor", "admin"), 404),
    )
