"""The case page lists the case's issued documents (已印发文书: 文号, title, 成文日期) with a
link to each PDF, served on the console's session by the API's own service: the bytes as issued
(the recorded SHA-256) to the case's readers, refused to a reader outside the case's scope and
to a wrong role, and sent to sign in without a session."""

from __future__ import annotations

import hashlib
from pathlib import Path

from activities.blobs import DirectoryBlobStore
from activities.documents import load_document_rules
from activities.documents.issuing import DocumentIssuer, PolicyBook
from activities.projections.read_models.documents import list_documents
from tests.api.matrix import register
from tests.console.conftest import ConsoleHarness


async def test_the_case_page_lists_its_issued_documents_with_their_pdfs(
    console: ConsoleHarness, tmp_path: Path
):
    api = console.api
    api.services.blobs = DirectoryBlobStore(tmp_path / "blobs")
    hazard_id = await register(api, "inspector_a")
    page_path = f"/console/cases/{hazard_id}"
    supervisor = await console.sign_in("supervisor_a")
    before = await supervisor.get(page_path)
    assert before.status_code == 200 and "尚无印发的文书" in before.text

    issuer = DocumentIssuer(
        api.store,
        api.services.blobs,
        load_document_rules(),
        PolicyBook.from_settings(api.settings),
        public_url="https://duban.example.gov.cn",
    )
    assert issuer.catch_up() == 1
    api.project()
    (row,) = list_documents(api.services.engine, hazard_id).items
    pdf_path = f"{page_path}/documents/{row['short_code']}/pdf"

    page = await supervisor.get(page_path)
    assert page.status_code == 200
    for shown in (row["number"], row["title"], str(row["signed_on"]), f'href="{pdf_path}"'):
        assert shown in page.text, shown

    for who in ("supervisor_a", "inspector_a", "enterprise_a"):
        client = supervisor if who == "supervisor_a" else await console.sign_in(who)
        answer = await client.get(pdf_path)
        assert answer.status_code == 200, (who, answer.text[:300])
        assert answer.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(answer.content).hexdigest() == row["sha256"]
        assert answer.headers["x-content-sha256"] == row["sha256"]

    outside = await (await console.sign_in("inspector_b")).get(pdf_path)
    assert outside.status_code == 403 and "access.forbidden" in outside.text
    unknown = await supervisor.get(f"{page_path}/documents/ZZZZ-ZZZZ-ZZZZ/pdf")
    assert unknown.status_code == 404
    anonymous = await console.client().get(pdf_path)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/console/sign-in?next=")
