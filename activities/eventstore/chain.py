"""The canonical byte form of a stored event and the hash chain over it.

Kept free of database code so that an auditor's offline check (a case dossier on a USB stick)
runs exactly the same function as ``duban audit verify``.

    hash(n) = SHA-256( hash(n-1) || canonical(event n) ),   hash(0) = 32 zero bytes

``canonical`` is one line of JSON header, then the event's data and metadata exactly as stored
(they are canonical JSON when written and PostgreSQL's ``json`` type keeps them verbatim):

    ["duban/1",position,stream_id,stream_version,event_id,event_type,schema_version,
     occurred_at,recorded_at] \\n data \\n metadata

JSON text never contains a raw newline, so the three parts cannot be confused.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

import orjson

CHAIN_SCHEME = "duban/1"
GENESIS_HASH = bytes(32)


class NotCanonicalisable(ValueError):
    """The value cannot be written as canonical JSON (NaN, a datetime, a lone surrogate, ...).

    ``path`` locates the offending value inside the one given (``.deadline``, ``.items[2]``);
    empty when the value as a whole is at fault.
    """

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason
        self.path = path


# Readers (orjson, PostgreSQL's json operators, most other languages) hold JSON integers in
# 64 bits; beyond that they silently become floats, so such an integer would not read back.
MIN_JSON_INT = -(2**63)
MAX_JSON_INT = 2**63 - 1
# Deeper than any record needs, and far below the interpreter's recursion limit, so a hostile
# payload gets a clear refusal instead of a RecursionError from the encoder.
MAX_JSON_DEPTH = 64


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
_dumps = _ENCODER.encode  # one encoder for every call: building one costs more than the work


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 characters as themselves, no NaN or infinity.

    The text must read back as exactly the value given, types included: a value that would not
    survive the round trip (an integer key coerced to a string, a tuple, an integer beyond 64
    bits that readers would turn into a float) is refused, naming where it is, instead of
    being silently changed.
    """
    try:
        _check_json_value(value, 0, check_strings=False)
        text = _dumps(value)
        if not _is_utf8(text):  # one check of the whole text; the walk below finds where
            _check_json_value(value, 0, check_strings=True)
    except _Refusal as refusal:
        raise NotCanonicalisable(refusal.reason, refusal.path()) from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise NotCanonicalisable(str(exc)) from exc
    # Type-exact: the values the walk lets through have one spelling each (1, 1.0 and true
    # differ), so reading back the same value means re-serialising to the same text.
    try:
        faithful = _dumps(orjson.loads(text)) == text
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise NotCanonicalisable(str(exc)) from exc
    if not faithful:
        raise NotCanonicalisable(
            "does not read back unchanged: use string keys, lists (not tuples), "
            "integers within 64 bits and finite numbers"
        )
    return text


class _Refusal(Exception):
    """Raised deep in the walk; each level on the way out adds its key or index, so that the
    path is only spelled when something is refused (the walk runs on every append)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.trail: list[str | int] = []

    def path(self) -> str:
        parts = []
        for step in reversed(self.trail):
            if isinstance(step, int):
                parts.append(f"[{step}]")
            elif step.isidentifier():
                parts.append(f".{step}")
            else:
                parts.append(f"[{json.dumps(step, ensure_ascii=False)}]")
        return "".join(parts)


def _check_json_value(value: Any, depth: int, *, check_strings: bool) -> None:
    """Refuse anything ``json.dumps`` + ``orjson.loads`` would not carry through unchanged.

    Strings are checked for lone surrogates only with ``check_strings`` (when the text as a
    whole failed that check): once per text is cheaper than once per string."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        if check_strings and not _is_utf8(value):
            raise _Refusal("contains a lone surrogate (not valid Unicode text)")
        return
    if isinstance(value, int):
        if not MIN_JSON_INT <= value <= MAX_JSON_INT:
            raise _Refusal(
                f"integer {value} is outside the signed 64-bit range "
                f"[{MIN_JSON_INT}, {MAX_JSON_INT}]; store it as a string"
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Refusal(f"{value} is not a finite number")
        return
    if isinstance(value, dict | list):
        if depth >= MAX_JSON_DEPTH:
            raise _Refusal(f"nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(value, list):
            for index, item in enumerate(value):
                try:
                    _check_json_value(item, depth + 1, check_strings=check_strings)
                except _Refusal as refusal:
                    refusal.trail.append(index)
                    raise
            return
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Refusal(
                    f"key {key!r} is of type {type(key).__name__}; object keys must be strings"
                )
            if check_strings and not _is_utf8(key):
                raise _Refusal("a key contains a lone surrogate")
            try:
                _check_json_value(item, depth + 1, check_strings=check_strings)
            except _Refusal as refusal:
                refusal.trail.append(key)
                raise
        return
    if isinstance(value, tuple):
        raise _Refusal("is a tuple; use a list")
    raise _Refusal(f"a value of type {type(value).__name__} is not a JSON value")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def canonical_instant(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: one spelling for one instant.

    Written field by field rather than with ``strftime('%Y')``, which leaves years before 1000
    unpadded, while PostgreSQL's ``to_char(..., 'YYYY')`` (verification's spelling) pads them.
    """
    if moment.tzinfo is None:
        raise NotCanonicalisable("timestamps must carry a time zone")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError as exc:
        raise NotCanonicalisable("is outside the years 1..9999 once converted to UTC") from exc
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def canonical_event_bytes(
    *,
    position: int,
    stream_id: str,
    stream_version: int,
    event_id: str,
    event_type: str,
    schema_version: int,
    occurred_at: str,
    recorded_at: str,
    data_text: str,
    metadata_text: str,
) -> bytes:
    header = json.dumps(
        [
            CHAIN_SCHEME,
            position,
            stream_id,
            stream_version,
            event_id,
            event_type,
            schema_version,
            occurred_at,
            recorded_at,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return "\n".join((header, data_text, metadata_text)).encode("utf-8")


def link_hash(prev_hash: bytes, content: bytes) -> bytes:
    return hashlib.sha256(prev_hash + content).digest()
