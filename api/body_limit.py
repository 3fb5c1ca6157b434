"""The request body's size limit (413 ``request.too_large``), enforced before the app reads it:
a body over the limit is refused whether it says its length or streams in chunks.

An evidence upload (``POST /api/v1/files``) has a limit of its own (``evidence_max_bytes``
and room for the multipart framing): it is not held in memory but streamed to the route as it
arrives, counted, and cut off at the limit (413 ``evidence.too_large``, naming ``file``). The
console's forms that carry evidence files (the enterprise's rectification report, the
inspector's registration) have the same limit: their files together up to one evidence limit."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response, refusal_response
from api.services.refusals import Refused

MAX_BODY_BYTES = 256 * 1024
UPLOAD_PATH = "/api/v1/files"
# The console's forms with a file input (multipart, streamed as an upload is).
CONSOLE_UPLOAD_PATHS = frozenset(
    {"/console/enterprise/rectification-report", "/console/inspector/register"}
)
# The multipart framing around one file: boundaries, part headers, a long file name.
MULTIPART_OVERHEAD = 64 * 1024


class UploadTooLarge(Exception):
    """An upload's body passed its limit while the route was reading it."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def upload_limit(scope: Scope) -> int | None:
    """The body limit of an upload request, or None for any other request."""
    path = scope.get("path")
    if scope.get("method") != "POST" or (path != UPLOAD_PATH and path not in CONSOLE_UPLOAD_PATHS):
        return None
    services = getattr(getattr(scope.get("app"), "state", None), "services", None)
    limits = getattr(services, "evidence_limits", None)
    max_bytes = getattr(limits, "max_bytes", None)
    return (max_bytes if isinstance(max_bytes, int) else 25 * 1024 * 1024) + MULTIPART_OVERHEAD


def too_large(limit: int) -> Refused:
    mib = (limit - MULTIPART_OVERHEAD) / (1024 * 1024)
    return Refused(413, "evidence.too_large", f"the file is larger than {mib:g} MiB", "file")


def upload_too_large(limit: int) -> JSONResponse:
    return refusal_response(too_large(limit))


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413, whether it says its length
    (Content-Length) or not (Transfer-Encoding: chunked): the body is counted as it streams in,
    and the app sees it only once it is known to fit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        large = upload_limit(scope)
        if large is not None:
            await self._stream_upload(scope, receive, send, large)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only the disconnect is left to hear

        await self.app(scope, replay, send)

    async def _stream_upload(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Hand the body on as it arrives, counting; past ``limit`` the route's read raises
        :class:`UploadTooLarge` (the route answers 413; the parser's temporary file goes)."""
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await upload_too_large(limit)(scope, receive, send)
            return
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    raise UploadTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = error_response(413, "request.too_large", f"bodies are limited to {self.limit} B")
        await answer(scope, receive, send)
