"""A JSON request body is read once here, strictly, before FastAPI reads it: UTF-8 only, one
value per key, nested at most ``MAX_DEPTH`` deep, standard JSON only (no NaN, no numbers of
thousands of digits), and text the record can hold in every string, key or value. Whatever
breaks one of these is a 422 in the project's error shape naming the field (its path in the
body, ``listing_measures.funds``, ``evidence.0.uri``), or ``body`` when no field can be told —
never FastAPI's generic 400 without a field, nor a duplicated key silently resolved to its
last value, nor a NUL reaching PostgreSQL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.message import Message as MimeHeader
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from domain._codec import check_text
from domain.errors import DomainError

# Deeper than any body of the API (three levels: a body, its listing_measures, a field) by far,
# and far below what would exhaust Python's recursion.
MAX_DEPTH = 32
_BOM = "\ufeff"
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # an undecodable byte, as surrogateescape keeps it
_WITH_A_BODY = frozenset({"POST", "PUT", "PATCH"})  # the methods whose body an operation reads


@dataclass(frozen=True)
class BodyRefusal:
    rule: str
    message: str
    field: str

    def response(self) -> JSONResponse:
        return error_response(422, self.rule, self.message, self.field)


class _Duplicated(dict[str, Any]):
    """A JSON object in which ``key`` came more than once."""

    key: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    duplicated = None
    for key, value in pairs:
        if key in result and duplicated is None:
            duplicated = key
        result[key] = value
    if duplicated is None:
        return result
    marked = _Duplicated(result)
    marked.key = duplicated
    return marked


class _NotJson(ValueError):
    pass


def _not_json(constant: str) -> Any:
    raise _NotJson(f"{constant} is not a JSON value")


def _path(parts: list[str]) -> str:
    return ".".join(parts) or "body"


def is_json_body(headers: Headers) -> bool:
    """Whether FastAPI reads this request's body as JSON (no content type, or a JSON one)."""
    content_type = headers.get("content-type")
    if not content_type:
        return True
    mime = MimeHeader()
    mime["content-type"] = content_type
    subtype = mime.get_content_subtype()
    return mime.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def check_json_body(body: bytes) -> BodyRefusal | None:
    """The refusal of ``body``, or None when it is JSON the API can read as it was meant."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _not_utf8(body, exc)
    text = text.removeprefix(_BOM)  # allowed before JSON (RFC 8259 §8.1), as FastAPI reads it
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_not_json)
    except RecursionError:
        return BodyRefusal(
            "request.json.too_deep",
            f"the body nests deeper than {MAX_DEPTH} levels",
            _path(_deep_path(text)),
        )
    except json.JSONDecodeError as exc:
        return BodyRefusal(
            "request.json.invalid",
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "body",
        )
    except _NotJson as exc:  # NaN, Infinity: Python's extensions, not JSON
        return BodyRefusal("request.json.invalid", f"not JSON: {exc}", "body")
    except ValueError:  # an integer of thousands of digits (Python refuses to convert it)
        return BodyRefusal("request.json.invalid", "a number has too many digits", "body")
    return _walk(value, [], 0)


def _walk(value: Any, parts: list[str], depth: int) -> BodyRefusal | None:
    if depth > MAX_DEPTH:
        return BodyRefusal(
            "request.json.too_deep", f"the body nests deeper than {MAX_DEPTH} levels", _path(parts)
        )
    if isinstance(value, str):
        return _text(value, parts)
    if isinstance(value, dict):
        if isinstance(value, _Duplicated):
            return BodyRefusal(
                "request.json.duplicate_key",
                f"the key {value.key!r} appears more than once in one object: send it once",
                _path([*parts, value.key]),
            )
        for key, item in value.items():
            refused = _text(key, [*parts, key]) or _walk(item, [*parts, key], depth + 1)
            if refused is not None:
                return refused
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refused = _walk(item, [*parts, str(index)], depth + 1)
            if refused is not None:
                return refused
    return None


def _text(value: str, parts: list[str]) -> BodyRefusal | None:
    try:
        check_text(value, _path(parts))
    except DomainError as exc:
        return BodyRefusal(exc.rule, exc.message, exc.field or _path(parts))
    return None


def _not_utf8(body: bytes, exc: UnicodeDecodeError) -> BodyRefusal:
    """Name the field whose text holds the first byte that is not UTF-8, when the body is JSON
    apart from it; else the body."""
    message = (
        f"byte 0x{body[exc.start]:02X} at offset {exc.start} is not UTF-8: "
        "send JSON encoded as UTF-8"
    )
    try:
        value = json.loads(body.decode("utf-8", "surrogateescape"), object_pairs_hook=_object)
    except (ValueError, RecursionError):
        return BodyRefusal("request.body.not_utf8", message, "body")
    field = _escaped_field(value, [])
    return BodyRefusal("request.body.not_utf8", message, field or "body")


def _escaped_field(value: Any, parts: list[str]) -> str | None:
    if len(parts) > MAX_DEPTH:
        return None
    if isinstance(value, str):
        return _path(parts) if _ESCAPED_BYTE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _escaped_field(key, [*parts, key]) or _escaped_field(item, [*parts, key])
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _escaped_field(item, [*parts, str(index)])
            if found:
                return found
    return None


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]')


def _deep_path(text: str) -> list[str]:
    """The path at which ``text`` first nests deeper than ``MAX_DEPTH``, read token by token
    (the parser gave up on it; nothing here recurses)."""
    containers: list[list[Any]] = []  # [kind, key or index, expecting a key]
    for token in _TOKENS.finditer(text):
        lexeme = token.group()
        if lexeme in "[{":
            if len(containers) > MAX_DEPTH:
                break
            containers.append([lexeme, None if lexeme == "{" else 0, lexeme == "{"])
        elif lexeme in "]}":
            if containers:
                containers.pop()
        elif lexeme == ",":
            if containers:
                top = containers[-1]
                if top[0] == "[":
                    top[1] += 1
                else:
                    top[2] = True
        elif lexeme == ":":
            if containers:
                containers[-1][2] = False
        elif containers and containers[-1][0] == "{" and containers[-1][2]:
            try:
                containers[-1][1] = json.loads(lexeme)
            except ValueError:
                containers[-1][1] = lexeme[1:-1]
    return [str(c[1]) for c in containers if c[1] is not None]


class JsonBodyCheck:
    """ASGI layer: a request whose body FastAPI would read as JSON is checked first; a refused
    body is answered here and never reaches the app. Sits inside ``BodyLimit``, which hands on
    the body in one message once it knows it fits."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _WITH_A_BODY
            or not is_json_body(Headers(scope=scope))
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            refusal = check_json_body(body)
            if refusal is not None:
                await refusal.response()(scope, receive, send)
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
