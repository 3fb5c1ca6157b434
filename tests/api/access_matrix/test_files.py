"""The access matrix, evidence files: uploading is for the people whose commands cite files;
reading a case's files (the list, a file, its thumbnail) needs exactly the access reading the
case needs, and a file is reached only through a case that names it."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.api.conftest import ApiHarness
from tests.api.matrix import OUTSIDE_A, READERS_OF_A, Matrix, answers, each, register, rule
from tests.blobs.samples import jpeg

UPLOADERS = (
    "inspector_a",
    "inspector_b",
    "supervisor_a",
    "supervisor_b",
    "supervisor_county",
    "enterprise_a",
    "enterprise_b",
)


async def test_uploading_and_reading_files_answer_each_role_exactly_what_its_scope_holds(
    isolated_api: ApiHarness,
):
    api = isolated_api
    matrix = Matrix(api)
    photo = jpeg(64, 48)
    digest = hashlib.sha256(photo).hexdigest()

    def reference(body: Any) -> None:
        assert body["sha256"] == digest and body["media_type"] == "image/jpeg", body

    await matrix.row(
        "POST",
        "/api/v1/files",
        answers(403, **each(UPLOADERS, (201, reference))),
        files={"file": ("现场.jpg", photo, "image/jpeg")},
    )
    cited = [{"sha256": digest, "name": "现场.jpg"}]
    in_a = await register(api, "inspector_a", evidence=cited)
    await register(api, "inspector_b", credit_code=api.grid.enterprise_b, evidence=cited)

    def the_photo(page: Any) -> None:
        assert [f["sha256"] for f in page["items"]] == [digest] and page["total"] == 1, page

    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/files",
        answers(403, **each(READERS_OF_A, (200, the_photo))),
    )
    seen = await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/files/{digest}",
        answers(403, **each(READERS_OF_A, 200)),
    )
    assert all(seen[who].content == photo for who in READERS_OF_A)
    # The same bytes are case B's too: outside A, its readers still get nothing through A.
    assert all(seen[who].status_code == 403 for who in OUTSIDE_A)
    seen = await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/files/{digest}/thumbnail",
        answers(403, **each(READERS_OF_A, 200)),
    )
    assert all(seen[who].headers["content-type"] == "image/jpeg" for who in READERS_OF_A)
    await matrix.row(
        "GET",
        f"/api/v1/hazards/{in_a}/files/{'0' * 64}",
        answers(403, **each(READERS_OF_A, (404, rule("not_found")))),
    )
    await matrix.row("GET", f"/api/v1/hazards/H-no-such-case/files/{digest}", answers(404))
    assert len(matrix.rows) == 6
