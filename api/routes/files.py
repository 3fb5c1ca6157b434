"""Evidence files (证据材料): upload one (the answer is the reference a command cites), list a
case's files, read one, and its thumbnail — reading needs the same access as reading the case.

The blob store and the event store are read in the thread pool; a file's bytes are streamed
from a sync iterator, which Starlette also reads in its thread pool.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from api.body_limit import UploadTooLarge, too_large
from api.deps import HazardId, Limit, Offset, PrincipalDep, ServicesDep
from api.schemas import FileOut, Page
from api.services.files import chunks_of
from api.services.refusals import Refused

router = APIRouter(tags=["files"])

Sha256Path = Annotated[
    str, Path(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$", description="SHA-256")
]
# Shown in the browser rather than saved: types a browser renders without running anything.
_INLINE = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"})


@router.post(
    "/files",
    status_code=201,
    response_model=FileOut,
    summary="Upload an evidence file (photo, PDF, Word or Excel document)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_file(request: Request, services: ServicesDep, principal: PrincipalDep) -> FileOut:
    """One file in the multipart field ``file``. Stored content-addressed (the same bytes
    are stored once, never overwritten or deleted); its type is read from its bytes, not its
    name; its name is kept for display only. Cite the answer's ``sha256`` (and ``name``) in a
    registration's, plan's, report's or verification's ``evidence``. A refusal (413
    ``evidence.too_large``, 422 ``evidence.type_not_allowed``, ``evidence.empty``,
    ``evidence.name_invalid``, ``file.required``) stores nothing."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise Refused(
            415,
            "file.multipart_required",
            "send the file as multipart/form-data in the field 'file'",
            "file",
        )
    try:
        form = await request.form(max_files=1, max_fields=2)
    except UploadTooLarge as exc:
        raise too_large(exc.limit) from None
    except (MultiPartException, HTTPException) as exc:
        # Starlette answers a multipart body it cannot parse (or one with more parts than
        # allowed) with its own 400: here it is a 422 naming the field, as every refusal.
        message = exc.message if isinstance(exc, MultiPartException) else str(exc.detail)
        raise Refused(422, "file.multipart_invalid", message, "file") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Refused(422, "file.required", "the multipart field 'file' holds no file", "file")
        answer = await run_in_threadpool(
            services.upload_evidence, principal, upload.file, upload.filename
        )
    finally:
        await form.close()
    return FileOut.model_validate(answer)


@router.get("/hazards/{hazard_id}/files", response_model=Page[FileOut])
def list_case_files(
    hazard_id: HazardId,
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[FileOut]:
    """The files the case's events name (first mention first), for whoever may read the case.
    A plain ``def``: FastAPI runs it in its thread pool."""
    refs = services.case_files(principal, hazard_id)
    items = [
        FileOut(
            sha256=r.sha256,
            size=r.size or 0,
            media_type=r.media_type or "application/octet-stream",
            name=r.name or r.sha256[:12],
            uri=r.uri,
        )
        for r in refs[offset : offset + limit]
    ]
    return Page[FileOut](items=items, total=len(refs), limit=limit, offset=offset)


def _disposition(media_type: str, name: str) -> str:
    kind = "inline" if media_type in _INLINE else "attachment"
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/hazards/{hazard_id}/files/{sha256}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def read_case_file(
    hazard_id: HazardId, sha256: Sha256Path, services: ServicesDep, principal: PrincipalDep
) -> StreamingResponse:
    """A file the case names, as stored (the bytes whose SHA-256 the event records), with the
    type the event records; the same access as reading the case."""
    ref = await run_in_threadpool(services.case_file, principal, hazard_id, sha256)
    stream = await run_in_threadpool(services.open_case_file, ref)
    media_type = ref.media_type or "application/octet-stream"
    headers = {
        "Content-Disposition": _disposition(media_type, ref.name or f"{sha256[:12]}"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=31536000, immutable",
        "ETag": f'"{sha256}"',
    }
    if ref.size is not None:
        headers["Content-Length"] = str(ref.size)
    return StreamingResponse(chunks_of(stream), media_type=media_type, headers=headers)


@router.get(
    "/hazards/{hazard_id}/files/{sha256}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def read_case_file_thumbnail(
    hazard_id: HazardId, sha256: Sha256Path, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """A small JPEG of a photo or of a PDF's first page (404 ``thumbnail.type_unsupported``
    for a Word or Excel file: show the type's icon); no metadata, EXIF orientation applied."""
    ref = await run_in_threadpool(services.case_file, principal, hazard_id, sha256)
    thumbnail = await run_in_threadpool(services.case_file_thumbnail, ref)
    return Response(
        thumbnail.data,
        media_type=thumbnail.media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )
