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
from datetime import UTC, datetime
from typing import Any

import orjson

CHAIN_SCHEME = "duban/1"
GENESIS_HASH = bytes(32)


class NotCanonicalisable(ValueError):
    """The value cannot be written as canonical JSON (NaN, a datetime, a lone surrogate, ...)."""


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 characters as themselves, no NaN or infinity.

    The text must read back as exactly the value given: a value that would not survive the
    round trip (an integer key coerced to a string, a tuple, an integer beyond 64 bits that
    readers would turn into a float) is refused instead of being silently changed.
    """
    try:
        text = json.dumps(
            value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        read_back = orjson.loads(text)
    except (TypeError, ValueError, UnicodeEncodeError, orjson.JSONDecodeError) as exc:
        raise NotCanonicalisable(str(exc)) from exc
    if read_back != value:
        raise NotCanonicalisable(
            "does not read back unchanged: use string keys, lists (not tuples), "
            "integers within 64 bits and finite numbers"
        )
    return text


def canonical_instant(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: one spelling for one instant."""
    if moment.tzinfo is None:
        raise NotCanonicalisable("timestamps must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
