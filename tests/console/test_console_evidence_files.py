"""Evidence files sent with a console form over HTTP (the app over ASGI, real PostgreSQL,
Temporal and blob store): the enterprise's report form takes photos (multipart, several at
once), uploads each through the API's upload service and cites it, so the recorded event
carries each file's SHA-256, size, type and name; a file of a type not allowed is refused
beside the file field in the API's words and nothing is recorded; a multipart form without its
token is refused; the body limit lets these forms carry more than an ordinary form's 256 KiB."""

from __future__ import annotations

import hashlib
import io
import random
import re
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from PIL import Image

from api.body_limit import MAX_BODY_BYTES, upload_limit
from tests.blobs.samples import jpeg, png, text
from tests.console.conftest import ConsoleHarness, form_token
from tests.console.test_console_people_access import head, register
from workflows.ids import case_stream_id

REPORT = "/console/enterprise/rectification-report"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def noisy_png(side: int = 320) -> bytes:
    """A photo-sized PNG that does not compress (random pixels): more than 256 KiB."""
    rng = random.Random(7)
    image = Image.frombytes(
        "RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3))
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def reports(console: ConsoleHarness, hazard_id: str) -> list[dict[str, Any]]:
    return [
        e.data
        for e in console.api.store.read_stream(case_stream_id(hazard_id))
        if e.event_type == "RectificationReported"
    ]


async def report_form(console: ConsoleHarness) -> tuple[Any, str, str]:
    hazard_id = await register(console)
    client = await console.sign_in("enterprise_a")
    page = await client.get("/console/enterprise/hazards")
    return client, form_token(page.text), hazard_id


async def test_photos_sent_with_the_report_are_uploaded_and_cited_by_the_recorded_event(
    console: ConsoleHarness,
):
    client, token, hazard_id = await report_form(console)
    photo, shot = jpeg(120, 80), png()
    answer = await client.post(
        REPORT,
        data={
            "csrf_token": token,
            "hazard_id": hazard_id,
            "summary": "已更换防护罩",
            "evidence": "",
        },
        files=[
            ("files", ("整改后.jpg", photo, "image/jpeg")),
            ("files", ("现场.png", shot, "application/octet-stream")),  # the type is read
        ],
    )
    assert answer.status_code == 303, answer.text[:2000]
    [reported] = reports(console, hazard_id)
    assert reported["evidence"] == [
        {
            "sha256": sha(photo),
            "size": len(photo),
            "media_type": "image/jpeg",
            "name": "整改后.jpg",
            "uri": f"duban-file:{sha(photo)}",
        },
        {
            "sha256": sha(shot),
            "size": len(shot),
            "media_type": "image/png",
            "name": "现场.png",
            "uri": f"duban-file:{sha(shot)}",
        },
    ]


async def test_typed_lines_and_files_are_cited_together(console: ConsoleHarness):
    client, token, hazard_id = await report_form(console)
    photo = jpeg(64, 64)
    typed = "https://files.example/report.pdf " + "ab" * 32
    answer = await client.post(
        REPORT,
        data={
            "csrf_token": token,
            "hazard_id": hazard_id,
            "summary": "整改完成",
            "evidence": typed,
        },
        files=[("files", ("a.jpg", photo, "image/jpeg"))],
    )
    assert answer.status_code == 303, answer.text[:2000]
    [reported] = reports(console, hazard_id)
    assert [e["sha256"] for e in reported["evidence"]] == [sha(photo), "ab" * 32]


async def test_a_file_of_a_type_not_allowed_is_refused_beside_the_file_field_nothing_recorded(
    console: ConsoleHarness,
):
    client, token, hazard_id = await report_form(console)
    before = head(console)
    answer = await client.post(
        REPORT,
        data={"csrf_token": token, "hazard_id": hazard_id, "summary": "整改完成", "evidence": ""},
        files=[
            ("files", ("ok.jpg", jpeg(), "image/jpeg")),
            ("files", ("photo.png", text(), "image/png")),  # a text file named as a photo
        ],
    )
    assert answer.status_code == 422, answer.text[:2000]
    assert 'id="f-files-error"' in answer.text
    assert "evidence.type_not_allowed" in answer.text
    assert reports(console, hazard_id) == []
    assert head(console) == before


async def test_a_report_without_any_evidence_names_the_evidence_field(console: ConsoleHarness):
    client, token, hazard_id = await report_form(console)
    answer = await client.post(
        REPORT,
        data={"csrf_token": token, "hazard_id": hazard_id, "summary": "整改完成", "evidence": ""},
        files=[("files", ("", b"", "application/octet-stream"))],  # an input left empty
    )
    assert answer.status_code == 422, answer.text[:2000]
    assert 'id="f-evidence-error"' in answer.text
    assert reports(console, hazard_id) == []


async def test_a_multipart_report_without_its_token_is_refused_and_nothing_is_stored(
    console: ConsoleHarness,
):
    client, _, hazard_id = await report_form(console)
    photo = jpeg(99, 33)
    before = head(console)
    answer = await client.post(
        REPORT,
        data={"hazard_id": hazard_id, "summary": "伪造", "evidence": ""},
        files=[("files", ("a.jpg", photo, "image/jpeg"))],
    )
    assert answer.status_code == 403 and "csrf.invalid" in answer.text
    assert head(console) == before
    assert console.api.services.blobs is not None
    assert not console.api.services.blobs.exists(sha(photo))


async def test_the_report_form_takes_a_photo_larger_than_an_ordinary_forms_body_limit(
    console: ConsoleHarness,
):
    assert upload_limit({"method": "POST", "path": REPORT}) is not None
    assert upload_limit({"method": "POST", "path": "/console/inspector/register"}) is not None
    assert upload_limit({"method": "POST", "path": "/console/enterprise/extension-request"}) is None
    client, token, hazard_id = await report_form(console)
    big = noisy_png()
    assert len(big) > MAX_BODY_BYTES
    answer = await client.post(
        REPORT,
        data={"csrf_token": token, "hazard_id": hazard_id, "summary": "整改完成", "evidence": ""},
        files=[("files", ("大图.png", big, "image/png"))],
    )
    assert answer.status_code == 303, answer.text[:2000]
    [reported] = reports(console, hazard_id)
    assert reported["evidence"][0]["size"] == len(big)


async def test_the_case_page_offers_a_file_input_for_the_report(console: ConsoleHarness):
    hazard_id = await register(console)
    client = await console.sign_in("enterprise_a")
    page = await client.get(f"/console/enterprise/hazards/case?case={hazard_id}")
    assert page.status_code == 200, page.text[:1000]
    assert 'enctype="multipart/form-data"' in page.text
    assert 'type="file" id="f-files" name="files" multiple' in page.text


def registration_form(console: ConsoleHarness, page: str, description: str) -> dict[str, str]:
    found_at = re.search(r'name="found_at" type="datetime-local" value="([^"]+)"', page)
    assert found_at, page[:2000]
    return {
        "csrf_token": form_token(page),
        "found_at": found_at[1],
        "credit_code": console.api.grid.enterprise_a,
        "hazard_class": "general",
        "category": "thing",
        "source": "grid_patrol",
        "description": description,
        "location": "冲压车间",
        "mode": "immediate",
        "measures": "当场加装防护罩",
        "responsible_person": "王五",
    }


def registered(console: ConsoleHarness, description: str) -> list[dict[str, Any]]:
    with console.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT data FROM events WHERE event_type = 'HazardRegistered'"
                " AND data ->> 'description' = :d"
            ),
            {"d": description},
        ).all()
    return [dict(r[0]) for r in rows]


async def test_the_inspectors_registration_cites_the_photos_of_the_scene(console: ConsoleHarness):
    client = await console.sign_in("inspector_a")
    page = (await client.get("/console/inspector/register")).text
    assert 'type="file" id="f-files" name="files" multiple' in page
    assert 'enctype="multipart/form-data"' in page
    photo = jpeg(80, 60)
    form = registration_form(console, page, "冲床防护罩缺失")
    answer = await client.post(
        "/console/inspector/register",
        data=form,
        files=[("files", ("现场.jpg", photo, "image/jpeg"))],
    )
    assert answer.status_code == 303, answer.text[:2000]
    [event] = registered(console, "冲床防护罩缺失")
    assert event["evidence"] == [
        {
            "sha256": sha(photo),
            "size": len(photo),
            "media_type": "image/jpeg",
            "name": "现场.jpg",
            "uri": f"duban-file:{sha(photo)}",
        }
    ]


async def test_a_registration_with_a_file_not_allowed_is_refused_beside_the_file_field(
    console: ConsoleHarness,
):
    client = await console.sign_in("inspector_a")
    page = (await client.get("/console/inspector/register")).text
    before = head(console)
    answer = await client.post(
        "/console/inspector/register",
        data=registration_form(console, page, "配电箱门未关"),
        files=[("files", ("scan.pdf", text(), "application/pdf"))],
    )
    assert answer.status_code == 422, answer.text[:2000]
    assert 'id="f-files-error"' in answer.text and "evidence.type_not_allowed" in answer.text
    assert registered(console, "配电箱门未关") == []
    assert head(console) == before


async def test_a_file_over_the_evidence_limit_is_refused_and_nothing_is_recorded(
    console: ConsoleHarness,
):
    client, token, hazard_id = await report_form(console)
    services = console.api.services
    limits = services.evidence_limits
    services.evidence_limits = replace(limits, max_bytes=1000)
    try:
        form = {"csrf_token": token, "hazard_id": hazard_id, "summary": "整改完成", "evidence": ""}
        # Within the body's room: the upload service refuses it, beside the file field.
        near = jpeg(60, 40) + b"\x00" * 1000
        answer = await client.post(REPORT, data=form, files=[("files", ("a.jpg", near))])
        assert answer.status_code == 413, answer.text[:2000]
        assert 'id="f-files-error"' in answer.text and "evidence.too_large" in answer.text
        # A body whose length says it is far over: refused before it is read.
        far = jpeg(60, 40) + b"\x00" * (200 * 1024)
        answer = await client.post(REPORT, data=form, files=[("files", ("b.jpg", far))])
        assert answer.status_code == 413 and "evidence.too_large" in answer.text
    finally:
        services.evidence_limits = limits
    assert reports(console, hazard_id) == []
    assert services.blobs is not None
    assert not services.blobs.exists(sha(near)) and not services.blobs.exists(sha(far))
