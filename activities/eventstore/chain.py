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

CHAIN_SCHEME = "duban/1"
GENESIS_HASH = bytes(32)


class NotCanonicalisable(ValueError):
    """The value cannot be written as canonical JSON (NaN, a datetime, a lone surrogate, ...)."""


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 characters as themselves, no NaN or infinity."""
    try:
        text = json.dumps(
            value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise NotCanonicalisable(str(exc)) from exc
    _reject_floats_that_do_not_round_trip(value)
    return text


def _reject_floats_that_do_not_round_trip(value: Any) -> None:
    # repr() of a finite float round-trips exactly in Python, so a float is safe as long as it
    # is finite; json.dumps(allow_nan=False) already refused the others. Walk once anyway so a
    # float hidden in a dict key (coerced to a string by json) is reported, not silently kept.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in item:
                if not isinstance(key, str):
                    raise NotCanonicalisable(f"object keys must be strings, got {key!r}")
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise NotCanonicalisable(f"non-finite number {item!r}")


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
