"""How duban's HTTP server (uvicorn) runs the app, and what it answers itself.

A request whose head HTTP/1.1 cannot read — a control character in a header, a malformed
header line or request line, a head over the server's limit — is refused by the server's
parser (h11) before any ASGI code runs: there is no request yet for the app to see. uvicorn
answers it with a plain-text 400; ``JsonRefusingH11Protocol`` answers with the project's JSON
error instead, naming the header at fault when one can be told. Everything else reaches the
app, whose handlers answer in the same shape.
"""

from __future__ import annotations

import json
import re
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

# How much of a request head is kept to tell which header broke it (h11 refuses heads over
# uvicorn's h11_max_incomplete_event_size, 16 KiB by default, before this fills).
_HEAD_KEPT = 64 * 1024
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
# What h11 refuses inside a header value (it lets other control characters through to the
# app, whose own rules then refuse them where they matter).
_NOT_IN_A_VALUE = re.compile(rb"[\x00\x0b\x0c\r]")


def header_at_fault(head: bytes) -> str | None:
    """The name of the first header line of ``head`` that HTTP does not allow, lower case
    (None when the request line is at fault, or nothing can be told)."""
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    for line in lines[1:]:
        if not line:
            break
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            return None  # a line that is no header has no name to give
        if _NOT_IN_A_VALUE.search(value):
            return name.decode("ascii").lower()
    return None


class JsonRefusingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering an unreadable request with a JSON 400."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = bytearray()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:  # a request head is coming in
            self._head += data
            del self._head[:-_HEAD_KEPT]
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the head was read (or refused)
            self._head.clear()

    def send_400_response(self, msg: str) -> None:
        field = header_at_fault(bytes(self._head))
        if field is not None:
            message = f"the header {field} holds what HTTP does not allow in one"
        elif b"\n\n" not in self._head.replace(b"\r\n", b"\n") and len(self._head) >= 16384:
            message = "the request's head is too large"
        else:
            message = "the request could not be read as HTTP/1.1"
        body = json.dumps(
            {"error": {"rule": "http.invalid_request", "message": message, "field": field}}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers)))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()


# What `duban api`, `duban up` and the fuzzer run serve with (uvicorn.Config's options).
UVICORN_OPTIONS: dict[str, Any] = {"log_level": "warning", "http": JsonRefusingH11Protocol}


def uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, **UVICORN_OPTIONS)
