"""The HTTP server duban runs (uvicorn with api/http_server.py's protocol), over a real socket:
a request head HTTP/1.1 cannot read is refused by the server's parser before any ASGI code runs,
and the refusal is the project's JSON error naming the header at fault — not uvicorn's plain
text. What the parser reads reaches the app and is answered by it, in the same shape."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn

from api.http_server import header_at_fault, uvicorn_config
from tests.api.conftest import ApiHarness
from tests.api.fuzz import free_port


@pytest.fixture()
async def served(api: ApiHarness) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    server = uvicorn.Server(uvicorn_config(api.app, "127.0.0.1", port))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), serving
        await asyncio.sleep(0.02)
    yield "127.0.0.1", port
    server.should_exit = True
    await serving


async def exchange(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    headers = {k.lower(): v for k, v in headers.items()}
    body = await reader.readexactly(int(headers["content-length"]))
    writer.close()
    return status, headers, body


@pytest.mark.parametrize(
    ("head", "field"),
    [
        (b"Authorization: Bearer dbn_a\x00b", "authorization"),
        (b"Idempotency-Key: k\x00ey", "idempotency-key"),
        (b"X-Trace: a\x0bb", "x-trace"),
        (b"Bad Header: 1", None),
    ],
    ids=["nul-in-authorization", "nul-in-key", "vertical-tab", "space-in-name"],
)
async def test_a_header_http_does_not_allow_is_refused_in_the_error_shape_naming_it(
    served: tuple[str, int], head: bytes, field: str | None
):
    request = b"GET /api/v1/hazards HTTP/1.1\r\nHost: duban.test\r\n" + head + b"\r\n\r\n"
    status, headers, body = await exchange(served, request)
    assert status == 400
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["rule"] == "http.invalid_request" and error["field"] == field, error


async def test_an_unreadable_request_line_is_refused_in_the_error_shape(
    served: tuple[str, int],
):
    status, headers, body = await exchange(served, b"GET /\x01 HTTP/1.1\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["rule"] == "http.invalid_request"


async def test_what_the_server_reads_is_answered_by_the_app_on_the_same_server(
    served: tuple[str, int],
):
    request = b"GET /api/v1/hazards HTTP/1.1\r\nHost: duban.test\r\n"
    long_token = b"Authorization: Bearer " + b"x" * 400 + b"\r\n\r\n"
    status, headers, body = await exchange(served, request + long_token)
    assert status == 401, body
    assert json.loads(body)["error"]["rule"] == "auth.invalid"
    status, headers, body = await exchange(
        served, b"TRACE /api/v1/hazards HTTP/1.1\r\nHost: duban.test\r\n\r\n"
    )
    assert status == 405 and headers["allow"] == "GET, HEAD, POST", headers
    # Control characters h11 lets through meet the app's rules, in the same shape.
    control = b"Authorization: Bearer dbn_a\x01b\r\n\r\n"
    status, headers, body = await exchange(served, request + control)
    assert status == 401 and json.loads(body)["error"]["field"] == "authorization", body


def test_the_header_at_fault_is_told_from_the_head_as_received():
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Ok: fine\tvalue\r\nX-Bad: a\x00\r\n\r\n"
    assert header_at_fault(head) == "x-bad"
    assert header_at_fault(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") is None
    assert header_at_fault(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n") is None
