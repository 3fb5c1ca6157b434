"""Documents of a case its workflow runs (the time-skipping server): the deadline passes, the
case escalates, and the follower issues the 督办通知书 after the 整改通知书, numbered on from the
same authority's sequence; its PDF says the number, the authority, the new deadline and the
basis, and the API serves those very bytes."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from activities.blobs import DirectoryBlobStore
from activities.documents import load_document_rules
from activities.documents.issuing import DocumentIssuer, PolicyBook
from domain.documents.issued import DOCUMENT_ISSUED, IssuedDocument
from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import hazard
from tests.documents.pdf_checks import pdf_text, require_poppler
from workflows.ids import case_stream_id, document_stream_id


async def test_an_escalated_case_gets_its_supervision_notice_numbered_after_its_notice(
    isolated_api: ApiHarness, tmp_path: Path
):
    require_poppler()
    api, grid = isolated_api, isolated_api.grid
    blobs = DirectoryBlobStore(tmp_path / "blobs")
    api.services.blobs = blobs
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(grid, deadline=deadline.isoformat()),
        headers=grid.headers("inspector_a"),
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    await api.env.sleep(timedelta(days=3))  # the deadline passes: the case escalates
    for _ in range(400):
        if "CaseEscalated" in api.stream_types(case_stream_id(hazard_id)):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(api.stream_types(case_stream_id(hazard_id)))

    issuer = DocumentIssuer(
        api.store,
        blobs,
        load_document_rules(),
        PolicyBook.from_settings(api.settings),
        public_url="https://duban.example.gov.cn",
    )
    assert await asyncio.to_thread(issuer.catch_up) == 2
    issued = [
        IssuedDocument.from_data(e.data)
        for e in api.store.iter_all()
        if e.event_type == DOCUMENT_ISSUED
    ]
    notice, supervision = issued
    assert (notice.kind.value, supervision.kind.value) == (
        "rectification_notice",
        "supervision_notice",
    )
    # One authority (the township: the village above the enterprise issues nothing), one
    # sequence: the second document is number 2.
    assert notice.authority_name == supervision.authority_name == "密州街道办事处"
    year = supervision.signed_on.year
    assert (notice.serial, supervision.serial) == (1, 2)
    assert supervision.number == f"密街办〔{year}〕2号"
    stream = document_stream_id(year, grid.township_a)
    assert [e.data["number"] for e in api.store.read_stream(stream)] == [
        notice.number,
        supervision.number,
    ]

    draft = supervision.model.draft
    assert draft.deadline is not None and draft.source_event == "CaseEscalated"
    text = pdf_text(blobs.get(supervision.sha256))
    assert supervision.number in text and text.count("密州街道办事处") >= 2
    assert draft.deadline.words in text
    for citation in draft.basis:
        assert citation.text in text

    api.project()
    listed = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/documents", headers=grid.headers("supervisor_a")
    )
    assert listed.status_code == 200, listed.text
    assert [i["number"] for i in listed.json()["items"]] == [notice.number, supervision.number]
    second = listed.json()["items"][1]["pdf"]
    pdf = await api.client.get(second, headers=grid.headers("enterprise_a"))
    assert pdf.status_code == 200, pdf.text
    assert hashlib.sha256(pdf.content).hexdigest() == supervision.sha256
