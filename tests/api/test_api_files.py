"""Evidence files through the API: an upload is checked (type from the bytes, size, name) and
stored content-addressed, or refused with nothing stored; a command cites it and its event
records the hash, size, type and name; a reader of the case reads the file and its thumbnail."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from activities.blobs import DirectoryBlobStore
from activities.documents import load_document_rules
from activities.documents.issuing import DocumentIssuer, PolicyBook
from domain.documents.issued import DOCUMENT_ISSUED, IssuedDocument
from tests.api.conftest import ApiHarness
from tests.api.test_api_hazards import hazard
from tests.blobs.samples import jpeg, png
from workflows.ids import case_stream_id

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def upload(api: ApiHarness, who: str, data: bytes, name: str, ctype: str = "image/jpeg"):  # type: ignore[no-untyped-def]
    return await api.client.post(
        "/api/v1/files", files={"file": (name, data, ctype)}, headers=api.grid.headers(who)
    )


def stored(api: ApiHarness, digest: str) -> bool:
    assert api.services.blobs is not None
    return api.services.blobs.exists(digest)


def nothing_incoming(api: ApiHarness) -> bool:
    blobs = api.services.blobs
    assert isinstance(blobs, DirectoryBlobStore)
    incoming = blobs.root / ".incoming"
    return not incoming.exists() or not any(incoming.iterdir())


def refusal(answer: Any, status: int, rule: str, field: str) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["rule"], error["field"]) == (rule, field), error


async def test_an_uploaded_photo_is_cited_by_a_registration_and_read_back_by_the_case_readers(
    api: ApiHarness,
):
    photo = jpeg(120, 80)
    answer = await upload(api, "inspector_a", photo, "现场照片.jpg")
    assert answer.status_code == 201, answer.text
    ref = answer.json()
    assert ref == {
        "sha256": sha(photo),
        "size": len(photo),
        "media_type": "image/jpeg",
        "name": "现场照片.jpg",
        "uri": f"duban-file:{sha(photo)}",
    }
    assert stored(api, sha(photo))

    body = hazard(api.grid, evidence=[{"sha256": ref["sha256"], "name": ref["name"]}])
    created = await api.client.post(
        "/api/v1/hazards", json=body, headers=api.grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    first = api.store.read_stream(case_stream_id(hazard_id))[0]
    assert first.data["evidence"] == [ref]  # hash, size, type, name and the uri

    listed = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/files", headers=api.grid.headers("enterprise_a")
    )
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [ref], "total": 1, "limit": 50, "offset": 0}

    got = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/files/{ref['sha256']}",
        headers=api.grid.headers("supervisor_county"),
    )
    assert got.status_code == 200, got.text
    assert got.content == photo
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "filename*=UTF-8''%E7%8E%B0" in got.headers["content-disposition"]

    thumb = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/files/{ref['sha256']}/thumbnail",
        headers=api.grid.headers("auditor"),
    )
    assert thumb.status_code == 200, thumb.text
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= api.settings.thumbnail_size

    outside = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/files/{ref['sha256']}",
        headers=api.grid.headers("enterprise_b"),
    )
    refusal(outside, 403, "access.forbidden", None)  # type: ignore[arg-type]


async def test_a_report_cites_an_uploaded_pdf_and_a_typed_reference_side_by_side(api: ApiHarness):
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(api.grid), headers=api.grid.headers("inspector_a")
    )
    hazard_id = created.json()["hazard_id"]
    pdf = PDF + b"% report " + hazard_id.encode() + b"\n"
    ref = (
        await upload(api, "enterprise_a", pdf, r"C:\Users\张三\整改报告.pdf", "text/plain")
    ).json()
    assert ref["media_type"] == "application/pdf" and ref["name"] == "整改报告.pdf"
    typed = {"uri": "https://example.org/photo.jpg", "sha256": "a" * 64}
    reported = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={
            "summary": "已整改",
            "evidence": [{"sha256": ref["sha256"], "name": ref["name"]}, typed],
        },
        headers=api.grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    events = api.store.read_stream(case_stream_id(hazard_id))
    report = next(e for e in events if e.event_type == "RectificationReported")
    assert report.data["evidence"] == [ref, typed]  # the typed one as it always was
    # The case's files are the ones duban holds: the typed reference is not one of them.
    files = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/files", headers=api.grid.headers("inspector_a")
    )
    assert files.json()["items"] == [ref]


async def test_uploads_are_refused_for_type_size_and_names_and_nothing_is_stored(api: ApiHarness):
    exe = b"MZ\x90\x00" + b"\x00" * 200 + uuid.uuid4().bytes
    refusal(
        await upload(api, "inspector_a", exe, "photo.jpg"),
        422,
        "evidence.type_not_allowed",
        "file",
    )
    assert not stored(api, sha(exe))
    legacy_doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500
    answer = await upload(api, "inspector_a", legacy_doc, "报告.docx")
    refusal(answer, 422, "evidence.type_not_allowed", "file")
    assert "docx" in answer.json()["error"]["message"]  # says what to do
    refusal(await upload(api, "inspector_a", b"", "empty.jpg"), 422, "evidence.empty", "file")
    # Bytes of this test's own: the store is shared by the session's tests.
    picture = png() + uuid.uuid4().bytes
    bidi = await upload(api, "inspector_a", picture, "photo\u202egpj.exe")
    refusal(bidi, 422, "evidence.name_invalid", "file.name")
    assert not stored(api, sha(picture))

    # Over the size limit: read to the limit only (within the multipart framing's room), or
    # refused before reading (a body whose length says it is far over).
    small = replace(api.services.evidence_limits, max_bytes=1000)
    api.services.evidence_limits = small
    near = jpeg(60, 40) + b"\x00" * 1000 + uuid.uuid4().bytes
    refusal(await upload(api, "inspector_a", near, "a.jpg"), 413, "evidence.too_large", "file")
    far = jpeg(60, 40) + b"\x00" * (200 * 1024) + uuid.uuid4().bytes
    refusal(await upload(api, "inspector_a", far, "b.jpg"), 413, "evidence.too_large", "file")
    assert not stored(api, sha(near)) and not stored(api, sha(far))
    assert nothing_incoming(api)

    refusal(
        await api.client.post(
            "/api/v1/files", json={"file": "x"}, headers=api.grid.headers("inspector_a")
        ),
        415,
        "file.multipart_required",
        "file",
    )
    refusal(
        await api.client.post(
            "/api/v1/files",
            data={"other": "x"},
            files={"attachment": ("x.jpg", b"x")},
            headers=api.grid.headers("inspector_a"),
        ),
        422,
        "file.required",
        "file",
    )


async def test_a_path_in_a_name_is_dropped_and_the_type_comes_from_the_bytes(api: ApiHarness):
    picture = png()
    answer = await upload(api, "supervisor_a", picture, "../../etc/passwd.pdf", "application/pdf")
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "passwd.pdf"  # for display only; stored under its hash
    assert answer.json()["media_type"] == "image/png"
    nameless = await upload(api, "supervisor_a", picture, "..")
    assert nameless.json()["name"] == f"{sha(picture)[:12]}.png"
    # The same bytes again: the same file, stored once, never overwritten.
    blobs = api.services.blobs
    assert isinstance(blobs, DirectoryBlobStore)
    assert blobs.path_of(sha(picture)).read_bytes() == picture


async def test_an_auditor_may_not_upload_and_no_one_may_without_a_token(api: ApiHarness):
    refusal(await upload(api, "auditor", png(), "x.png"), 403, "access.forbidden", None)  # type: ignore[arg-type]
    anonymous = await api.client.post("/api/v1/files", files={"file": ("x.png", png())})
    refusal(anonymous, 401, "auth.required", "authorization")


async def test_citing_a_file_never_uploaded_is_refused_naming_the_item_and_starts_no_case(
    api: ApiHarness,
):
    body = hazard(api.grid, evidence=[{"sha256": "b" * 64, "name": "x.jpg"}])
    answer = await api.client.post(
        "/api/v1/hazards", json=body, headers=api.grid.headers("inspector_a")
    )
    refusal(answer, 422, "evidence.file_unknown", "evidence.0.sha256")


async def test_a_file_the_case_does_not_name_is_not_found_through_it(api: ApiHarness):
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(api.grid), headers=api.grid.headers("inspector_a")
    )
    hazard_id = created.json()["hazard_id"]
    other = (await upload(api, "inspector_b", jpeg(30, 30), "b.jpg")).json()
    answer = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/files/{other['sha256']}",
        headers=api.grid.headers("auditor"),
    )
    refusal(answer, 404, "not_found", "sha256")


async def test_a_multipart_body_with_two_files_or_broken_framing_is_refused_naming_the_field(
    api: ApiHarness,
):
    two = await api.client.post(
        "/api/v1/files",
        files=[("file", ("a.png", png())), ("file", ("b.jpg", jpeg()))],
        headers=api.grid.headers("inspector_a"),
    )
    refusal(two, 422, "file.multipart_invalid", "file")
    broken = await api.client.post(
        "/api/v1/files",
        content=b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n',
        headers={
            **api.grid.headers("inspector_a"),
            "Content-Type": "multipart/form-data; boundary=x",
        },
    )
    refusal(broken, 422, "file.required", "file")  # the part never ended: no file in it
    assert nothing_incoming(api)


async def test_a_verification_and_a_governance_plan_record_the_files_they_cite(api: ApiHarness):
    from tests.api.matrix import GOVERNANCE_PLAN

    body = hazard(api.grid, hazard_class="major", checklist_clause="第四条第(一)项")
    created = await api.client.post(
        "/api/v1/hazards", json=body, headers=api.grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    hazard_id = created.json()["hazard_id"]
    plan_pdf = PDF + b"% plan " + uuid.uuid4().hex.encode() + b"\n"
    plan_ref = (await upload(api, "enterprise_a", plan_pdf, "治理方案.pdf")).json()
    planned = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/governance-plan",
        json={
            **GOVERNANCE_PLAN,
            "evidence": [{"sha256": plan_ref["sha256"], "name": "治理方案.pdf"}],
        },
        headers=api.grid.headers("enterprise_a"),
    )
    assert planned.status_code == 200, planned.text
    reported = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/rectification-report",
        json={"summary": "已整改", "evidence": [{"sha256": plan_ref["sha256"]}]},
        headers=api.grid.headers("enterprise_a"),
    )
    assert reported.status_code == 200, reported.text
    site = jpeg(50, 50) + uuid.uuid4().bytes
    site_ref = (await upload(api, "supervisor_county", site, "复查照片.jpg")).json()
    verified = await api.client.post(
        f"/api/v1/hazards/{hazard_id}/verification",
        json={"passed": True, "evidence": [{"sha256": site_ref["sha256"], "name": "复查照片.jpg"}]},
        headers=api.grid.headers("supervisor_county"),
    )
    assert verified.status_code == 200, verified.text
    events = {e.event_type: e.data for e in api.store.read_stream(case_stream_id(hazard_id))}
    assert events["GovernancePlanSubmitted"]["evidence"] == [plan_ref]
    assert events["VerificationPassed"]["evidence"] == [site_ref]
    # Cited without a name: the hash's first digits and the type's extension stand for it.
    (unnamed,) = events["RectificationReported"]["evidence"]
    assert unnamed["name"] == f"{plan_ref['sha256'][:12]}.pdf"
    files = await api.client.get(
        f"/api/v1/hazards/{hazard_id}/files", headers=api.grid.headers("auditor")
    )
    assert [f["sha256"] for f in files.json()["items"]] == [plan_ref["sha256"], site_ref["sha256"]]


async def test_a_file_is_cited_by_its_uploader_or_on_a_case_naming_it_never_by_hash_alone(
    api: ApiHarness,
):
    """A hash names a stored file, not a right to it: enterprise B may not put enterprise A's
    upload into a case of its own (and read it back through that case), and may not type a
    ``duban-file:`` reference either; the answer is the one a never-uploaded hash gets."""
    secret = PDF + b"% A's own " + uuid.uuid4().hex.encode() + b"\n"
    a_ref = (await upload(api, "enterprise_a", secret, "A的整改报告.pdf")).json()
    created = await api.client.post(
        "/api/v1/hazards",
        json=hazard(api.grid, credit_code=api.grid.enterprise_b),
        headers=api.grid.headers("inspector_b"),
    )
    assert created.status_code == 201, created.text
    b_case = created.json()["hazard_id"]

    async def b_reports(evidence: list[dict[str, str]]) -> Any:
        return await api.client.post(
            f"/api/v1/hazards/{b_case}/rectification-report",
            json={"summary": "已整改", "evidence": evidence},
            headers=api.grid.headers("enterprise_b"),
        )

    by_hash = await b_reports([{"sha256": a_ref["sha256"]}])
    refusal(by_hash, 422, "evidence.file_unknown", "evidence.0.sha256")
    never = await b_reports([{"sha256": "c" * 64}])
    assert (
        never.json()["error"]["message"].replace("c" * 64, a_ref["sha256"])
        == (by_hash.json()["error"]["message"])
    )  # nothing tells a stored file from one never uploaded
    typed = await b_reports([{"uri": a_ref["uri"], "sha256": a_ref["sha256"]}])
    refusal(typed, 422, "evidence.uri_reserved", "evidence.0.uri")
    shouted = await b_reports([{"uri": " DUBAN-FILE:" + a_ref["sha256"], "sha256": "d" * 64}])
    refusal(shouted, 422, "evidence.uri_reserved", "evidence.0.uri")
    a_registers = await api.client.post(  # a registration has no case yet to name it
        "/api/v1/hazards",
        json=hazard(api.grid, evidence=[{"sha256": a_ref["sha256"]}]),
        headers=api.grid.headers("inspector_a"),
    )
    refusal(a_registers, 422, "evidence.file_unknown", "evidence.0.sha256")
    assert "RectificationReported" not in api.stream_types(case_stream_id(b_case))
    got = await api.client.get(
        f"/api/v1/hazards/{b_case}/files/{a_ref['sha256']}",
        headers=api.grid.headers("enterprise_b"),
    )
    refusal(got, 404, "not_found", "sha256")

    # B uploads the same bytes itself: then they are its own to cite.
    again = (await upload(api, "enterprise_b", secret, "B.pdf")).json()
    assert again["sha256"] == a_ref["sha256"]
    cited = await b_reports([{"sha256": again["sha256"]}])
    assert cited.status_code == 200, cited.text
    # A file the case already names may be cited on it by another (the supervisor's check).
    verified = await api.client.post(
        f"/api/v1/hazards/{b_case}/verification",
        json={"passed": True, "evidence": [{"sha256": again["sha256"]}]},
        headers=api.grid.headers("supervisor_b"),
    )
    assert verified.status_code == 200, verified.text


async def test_an_issued_documents_public_hash_cannot_be_cited_to_read_its_pdf(
    isolated_api: ApiHarness, tmp_path: Path
):
    api, grid = isolated_api, isolated_api.grid
    blobs = DirectoryBlobStore(tmp_path / "blobs")
    api.services.blobs = blobs
    created = await api.client.post(
        "/api/v1/hazards", json=hazard(grid), headers=grid.headers("inspector_a")
    )
    assert created.status_code == 201, created.text
    issuer = DocumentIssuer(
        api.store,
        blobs,
        load_document_rules(),
        PolicyBook.from_settings(api.settings),
        public_url="https://duban.example.gov.cn",
    )
    assert await asyncio.to_thread(issuer.catch_up) >= 1
    notice = next(
        IssuedDocument.from_data(e.data)
        for e in api.store.iter_all()
        if e.event_type == DOCUMENT_ISSUED
    )
    api.project()
    public = await api.client.get(f"/api/v1/public/documents/{notice.short_code}")
    assert public.status_code == 200, public.text
    digest = public.json()["sha256"]
    assert blobs.exists(digest)  # the PDF is in the very store evidence is cited from

    own = await api.client.post(
        "/api/v1/hazards",
        json=hazard(grid, credit_code=grid.enterprise_b),
        headers=grid.headers("inspector_b"),
    )
    b_case = own.json()["hazard_id"]
    cited = await api.client.post(
        f"/api/v1/hazards/{b_case}/rectification-report",
        json={"summary": "已整改", "evidence": [{"sha256": digest, "name": "x.pdf"}]},
        headers=grid.headers("enterprise_b"),
    )
    refusal(cited, 422, "evidence.file_unknown", "evidence.0.sha256")
    got = await api.client.get(
        f"/api/v1/hazards/{b_case}/files/{digest}", headers=grid.headers("enterprise_b")
    )
    refusal(got, 404, "not_found", "sha256")
