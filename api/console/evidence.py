"""Evidence files sent with a console form (multipart, the field ``files``): each is checked
and stored by the API's own upload service (``Services.upload_evidence``: the same roles, the
same type read from its bytes, the same size limit), then cited in the command's ``evidence``
as ``{"sha256", "name"}`` — as a client of ``POST /api/v1/files`` would cite it.

A refusal is added to the form's errors under ``files`` in the API's words and nothing is cited
(the command is not sent, so nothing is recorded; a file already stored stays stored, unnamed by
any event, as an upload never cited through the API does)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request

from api.console.components import FormErrors
from api.services import Services
from api.services.refusals import Refused

FILES_FIELD = "files"
MAX_FORM_FILES = 10
# What the file input offers (the service judges the bytes, whatever the browser offered).
ACCEPT = "image/*,.pdf,.doc,.docx,.xls,.xlsx"


async def form_uploads(request: Request) -> list[UploadFile]:
    """The files chosen in the form's ``files`` input (an input left empty sends a part with no
    name and no bytes: not a file)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return []
    form = await request.form()  # parsed once (the CSRF check read it already)
    return [
        item
        for item in form.getlist(FILES_FIELD)
        if isinstance(item, UploadFile) and (item.filename or item.size)
    ]


async def uploaded_evidence(
    services: Services, principal: Any, uploads: list[UploadFile], errors: FormErrors
) -> list[dict[str, Any]]:
    """Each upload stored through the API's service and cited; on a refusal, [] and the
    refusal in ``errors`` (naming ``files``)."""
    if len(uploads) > MAX_FORM_FILES:
        errors.add(
            Refused(
                422,
                "evidence.too_many",
                f"at most {MAX_FORM_FILES} files may be sent with one form",
                FILES_FIELD,
            )
        )
        return []
    cited: list[dict[str, Any]] = []
    for upload in uploads:
        try:
            answer = await run_in_threadpool(
                services.upload_evidence, principal, upload.file, upload.filename, FILES_FIELD
            )
        except Exception as exc:  # the API's refusal, shown beside the file field
            errors.add(exc)
            return []
        cited.append({"sha256": answer["sha256"], "name": answer["name"]})
    return cited
