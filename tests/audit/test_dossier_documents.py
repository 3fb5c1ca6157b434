"""The case's issued documents (已印发文书) in its dossier: each PDF is in the archive under its
short code, with the SHA-256 its DocumentIssued event records, listed in the manifest and in the
dossier's 文书目录 with its 文号, title and 成文日期; the offline verifier checks each against
the event (which it recomputes and finds in the signed chain) and names a PDF altered or
removed in the archive."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path

from activities.blobs import open_blob_store
from activities.documents import load_document_rules
from activities.documents.issuing import DocumentIssuer, PolicyBook
from domain.documents.issued import DOCUMENT_ISSUED
from tests.audit.conftest import AuditScene
from tests.audit.test_dossier import export, offline_check, public_key_file
from tests.audit.test_dossier_files import rewrite


def issue_documents(scene: AuditScene) -> int:
    issuer = DocumentIssuer(
        scene.store,
        open_blob_store(scene.settings),
        load_document_rules(),
        PolicyBook.from_settings(scene.settings),
        public_url="https://duban.example.gov.cn",
    )
    issued = issuer.catch_up()
    assert issuer.not_issued == {}, issuer.not_issued
    return issued


def issued_of(scene: AuditScene, hazard_id: str) -> list[dict]:
    with scene.store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT data FROM events WHERE event_type = %(t)s AND data->>'subject' = %(h)s"
            " ORDER BY position",
            {"t": DOCUMENT_ISSUED, "h": hazard_id},
        ).all()
    return [row[0] for row in rows]


async def exported_case(scene: AuditScene, tmp_path: Path) -> tuple[str, list[dict], Path]:
    hazard_id = f"H-dosd-{uuid.uuid4().hex[:8]}"
    await scene.close_case(hazard_id)
    assert issue_documents(scene) >= 1
    documents = issued_of(scene, hazard_id)
    assert documents, "the closed case was issued its documents"
    await scene.run_audit_job()  # the checkpoint now covers the DocumentIssued events
    archive = tmp_path / "dossier.zip"
    export(scene, hazard_id, archive, blobs=open_blob_store(scene.settings))
    return hazard_id, documents, archive


async def test_the_dossier_carries_the_cases_issued_documents_and_they_verify_offline(
    audit_scene: AuditScene, tmp_path: Path
):
    hazard_id, documents, archive = await exported_case(audit_scene, tmp_path)
    assert {d["subject"] for d in documents} == {hazard_id}
    blobs = open_blob_store(audit_scene.settings)
    with zipfile.ZipFile(archive) as zipped:
        manifest = json.loads(zipped.read("MANIFEST.json"))
        html = zipped.read("timeline.html").decode()
        carried = [json.loads(line) for line in zipped.read("documents-events.jsonl").splitlines()]
        for d in documents:
            member = f"documents/{d['short_code']}.pdf"
            pdf = zipped.read(member)
            assert pdf == blobs.get(d["sha256"]) and pdf.startswith(b"%PDF")
            assert manifest["files"][member] == d["sha256"]
            assert d["number"] in html and d["title"] in html and d["sha256"] in html
            assert d["signed_on"] in html
    assert [e["data_text"] and json.loads(e["data_text"])["sha256"] for e in carried] == [
        d["sha256"] for d in documents
    ]
    assert [(m["number"], m["sha256"], m["included"]) for m in manifest["issued_documents"]] == [
        (d["number"], d["sha256"], True) for d in documents
    ]
    assert "已印发文书" in html
    pinned = str(public_key_file(audit_scene, tmp_path))
    checked = offline_check(archive, "--public-key", pinned)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (
        f"{len(documents)} issued documents match the SHA-256 their DocumentIssued events record"
        in checked.stdout
    )


async def test_a_tampered_or_removed_document_pdf_is_named_offline(
    audit_scene: AuditScene, tmp_path: Path
):
    _, documents, archive = await exported_case(audit_scene, tmp_path)
    pinned = str(public_key_file(audit_scene, tmp_path))
    first = f"documents/{documents[0]['short_code']}.pdf"
    with zipfile.ZipFile(archive) as zipped:
        original = zipped.read(first)
    forged = rewrite(archive, tmp_path / "forged.zip", {first: original.replace(b"%PDF", b"%PDX")})
    checked = offline_check(forged, "--public-key", pinned)
    assert checked.returncode != 0
    assert f"DOCUMENT: {first} ({documents[0]['number']}" in checked.stdout
    assert "altered (its SHA-256 differs from the DocumentIssued event's)" in checked.stdout
    removed = rewrite(archive, tmp_path / "removed.zip", {first: None})
    checked = offline_check(removed, "--public-key", pinned)
    assert checked.returncode != 0
    assert f"DOCUMENT: {first}" in checked.stdout and "missing from the dossier" in checked.stdout
    # An event dropped from documents-events.jsonl: the manifest's hash of it no longer holds.
    dropped = rewrite(archive, tmp_path / "dropped.zip", {"documents-events.jsonl": b""})
    checked = offline_check(dropped, "--public-key", pinned)
    assert checked.returncode != 0
    assert "documents-events.jsonl" in checked.stdout + checked.stderr
