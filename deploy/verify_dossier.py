#!/usr/bin/env python3
"""Check a duban case dossier (一案一档) offline, with the Python standard library only.

    python3 verify_dossier.py case-H-....zip

What it proves, given the signer's public key (compare the fingerprint it prints with the one
the bureau publishes):
  1. MANIFEST.json is signed by that key, and every file in the archive has the SHA-256 the
     manifest lists (so not one byte of any file was changed);
  2. every event of the case recomputes to its stored hash from its content and the previous
     link (duban's hash chain, scheme duban/1), and the case's versions run 1..n with none
     missing;
  3. the chain links run unbroken from the case's first event to the head named by the
     signed checkpoint, so the case's events are part of the one chain the bureau signed.
What it cannot prove: the content of other cases' events between them (only their links are
included), nor anything that happened after the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from typing import Any

CHAIN_SCHEME = "duban/1"

# --------------------------------------------------------------------------- Ed25519 (RFC 8032)
# A small, slow, pure-Python verifier (the RFC's reference algorithm), so that checking a
# dossier needs nothing but Python.
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_I = pow(2, (_P - 1) // 4, _P)


def _inv(x: int) -> int:
    return pow(x, _P - 2, _P)


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * _inv(_D * y * y + 1)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _I % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * _inv(5) % _P
_GX = _recover_x(_GY, 0)
assert _GX is not None
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _add(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s: int, point: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, point)
        point = _add(point, point)
        s >>= 1
    return q


def _equal(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _decompress(data: bytes) -> tuple[int, int, int, int] | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _L
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))


# --------------------------------------------------------------------------- the chain


def canonical_event_bytes(event: dict[str, Any]) -> bytes:
    """The exact bytes duban hashes (activities/eventstore/chain.py, scheme duban/1)."""
    header = json.dumps(
        [
            CHAIN_SCHEME,
            event["position"],
            event["stream_id"],
            event["stream_version"],
            event["event_id"],
            event["event_type"],
            event["schema_version"],
            event["occurred_at"],
            event["recorded_at"],
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return "\n".join((header, event["data_text"], event["metadata_text"])).encode("utf-8")


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


class DossierInvalid(Exception):
    pass


def verify_dossier(path: str, out: Any = sys.stdout) -> dict[str, Any]:
    """Check the dossier; raise ``DossierInvalid`` naming the first thing that fails."""
    try:
        return _verify(path, out)
    except zipfile.BadZipFile as exc:  # a damaged member fails its CRC when read
        raise DossierInvalid(f"{path}: the archive is damaged ({exc})") from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise DossierInvalid(f"{path}: malformed content ({exc!r})") from exc


def _verify(path: str, out: Any) -> dict[str, Any]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DossierInvalid(f"{path}: not a readable dossier archive ({exc})") from exc
    with archive:
        names = set(archive.namelist())
        for required in (
            "MANIFEST.json",
            "MANIFEST.sig",
            "events.jsonl",
            "chain.jsonl",
            "checkpoint.json",
        ):
            if required not in names:
                raise DossierInvalid(f"{required}: missing from the archive")
        manifest_bytes = archive.read("MANIFEST.json")
        try:
            manifest = json.loads(manifest_bytes)
            public = bytes.fromhex(manifest["public_key"])
            signature = bytes.fromhex(archive.read("MANIFEST.sig").decode().strip())
        except (ValueError, KeyError) as exc:
            raise DossierInvalid(f"MANIFEST.json: malformed ({exc})") from exc
        if not ed25519_verify(public, manifest_bytes, signature):
            raise DossierInvalid("MANIFEST.json: the signature does not verify")
        print(f"manifest signed by key {hashlib.sha256(public).hexdigest()[:16]}", file=out)
        listed = manifest["files"]
        for name in sorted(names - {"MANIFEST.json", "MANIFEST.sig"}):
            if name not in listed:
                raise DossierInvalid(f"{name}: not listed in the manifest")
        for name, digest in sorted(listed.items()):
            if name not in names:
                raise DossierInvalid(f"{name}: listed in the manifest but missing")
            if hashlib.sha256(archive.read(name)).hexdigest() != digest:
                raise DossierInvalid(f"{name}: its SHA-256 differs from the manifest")
        print(f"{len(listed)} files match their SHA-256", file=out)

        checkpoint = json.loads(archive.read("checkpoint.json"))
        payload = canonical_json(
            {k: checkpoint[k] for k in ("scheme", "position", "hash", "signed_at", "public_key")}
        )
        if bytes.fromhex(checkpoint["public_key"]) != public or not ed25519_verify(
            public, payload, bytes.fromhex(checkpoint["signature"])
        ):
            raise DossierInvalid("checkpoint.json: the signature does not verify")

        events = [json.loads(line) for line in archive.read("events.jsonl").splitlines()]
        if not events:
            raise DossierInvalid("events.jsonl: no events")
        for expected_version, event in enumerate(events, start=1):
            if event["stream_version"] != expected_version:
                raise DossierInvalid(
                    f"events.jsonl: version {expected_version} of {event['stream_id']} missing"
                )
            digest = hashlib.sha256(
                bytes.fromhex(event["prev_hash"]) + canonical_event_bytes(event)
            ).hexdigest()
            if digest != event["hash"]:
                raise DossierInvalid(
                    f"events.jsonl: event at position {event['position']} does not match its hash"
                )
        print(f"{len(events)} events recompute to their hashes", file=out)

        links = [json.loads(line) for line in archive.read("chain.jsonl").splitlines()]
        by_position = {link["position"]: link for link in links}
        previous = None
        for link in links:
            if previous is not None and (
                link["position"] != previous["position"] + 1
                or link["prev_hash"] != previous["hash"]
            ):
                raise DossierInvalid(f"chain.jsonl: the chain breaks at {link['position']}")
            previous = link
        for event in events:
            link = by_position.get(event["position"])
            if link is None or (link["prev_hash"], link["hash"]) != (
                event["prev_hash"],
                event["hash"],
            ):
                raise DossierInvalid(
                    f"chain.jsonl: event at position {event['position']} is not in the chain"
                )
        if previous is None or (previous["position"], previous["hash"]) != (
            checkpoint["position"],
            checkpoint["hash"],
        ):
            raise DossierInvalid("chain.jsonl: does not end at the signed checkpoint")
        print(
            f"chain unbroken from position {links[0]['position']} to the checkpoint at "
            f"{checkpoint['position']} signed {checkpoint['signed_at']}",
            file=out,
        )
    return {
        "events": len(events),
        "links": len(links),
        "checkpoint": checkpoint["position"],
        "key_fingerprint": hashlib.sha256(public).hexdigest(),
    }


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        verify_dossier(sys.argv[1])
    except DossierInvalid as exc:
        print(f"INVALID: {exc}")
        return 1
    print("OK: the dossier is intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
