#!/usr/bin/env python3
"""Check a duban case dossier (一案一档) offline, with the Python standard library only.

    python3 verify_dossier.py case-H-....zip --public-key bureau-checkpoint.pub
    python3 verify_dossier.py case-H-....zip --fingerprint 3f2a9c...   (first 16+ hex digits)

Pin the signer: give the bureau's published public key (PEM, or 64 hex digits) or its
fingerprint (SHA-256 of the raw key). Without either the check runs UNPINNED: it then only
shows that the dossier is consistent with itself, because anyone can make a consistent dossier
with a key of their own — it says so loudly.

What it proves, given the pinned key:
  1. checkpoint.json is a checkpoint signed by that key (the hourly one the bureau kept, signed
     before this dossier was asked for), and MANIFEST.json is signed by that key at export;
  2. every file in the archive has the SHA-256 the manifest lists (not one byte changed);
  3. every event of the case (and the record of its workflow-history export) recomputes to its
     stored hash from its content and the previous link (duban's hash chain, scheme duban/1),
     and the case's versions run 1..n with none missing;
  4. the chain links run unbroken from the case's first event to the signed checkpoint, so the
     case's events are part of the one chain the bureau signed;
  5. workflow-history.json has exactly the SHA-256 the event store recorded for it;
  6. every evidence file the case's events name (``duban-file:<sha256>``) is in the archive
     as files/<sha256>, with the SHA-256 and size the event records; each missing or altered
     one is named (all of them, not only the first);
  7. every document issued for the case (its DocumentIssued event, in documents-events.jsonl,
     recomputes to its hash and is in the chain) has its PDF in the archive as
     documents/<short code>.pdf with exactly the SHA-256 the event records; each missing or
     altered one is named.
What it cannot prove: the content of other cases' events between them (only their links are
included), nor anything that happened after the checkpoint.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator
from typing import Any

CHAIN_SCHEME = "duban/1"
CHECKPOINT_FIELDS = ("scheme", "position", "hash", "signed_at", "public_key")
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
FILES_DIR = "files/"
DOCUMENTS_DIR = "documents/"
DOCUMENT_EVENTS = "documents-events.jsonl"
STORED_FILE_SCHEME = "duban-file:"

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


def _has_small_order(point: tuple[int, int, int, int]) -> bool:
    """One of the 8 points whose order divides 8 (the neutral point among them)."""
    return _equal(_mul(8, point), (0, 1, 1, 0))


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032, 5.1.7, cofactorless, with strict decoding (y < p, no negative zero) and
    S < L; and a public key of small order is refused, as libsodium does: such a key is no
    one's (no seed derives it) and it "signs" every message (R = neutral point, S = 0)."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L or _has_small_order(a):
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _L
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))


def _compress(point: tuple[int, int, int, int]) -> bytes:
    x, y, z, _ = point
    zi = _inv(z)
    x, y = x * zi % _P, y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def public_key_of_seed(seed: bytes) -> bytes:
    """The Ed25519 public key of a private key's 32-byte seed (RFC 8032, 5.1.5)."""
    digest = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(digest[:32], "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    return _compress(_mul(scalar, _G))


def parse_public_key(text: str) -> bytes:
    """64 hex digits, a PEM public key, or a PEM (PKCS#8, unencrypted) private key."""
    stripped = text.strip()
    if len(stripped) == 64 and all(c in "0123456789abcdefABCDEF" for c in stripped):
        return bytes.fromhex(stripped)
    lines = [line.strip() for line in stripped.splitlines()]
    body = "".join(line for line in lines if line and not line.startswith("-----"))
    try:
        der = base64.b64decode(body, validate=True)
    except ValueError as exc:
        raise DossierInvalid(f"--public-key: not hex, nor PEM ({exc})") from exc
    if "PUBLIC KEY" in stripped and der.startswith(SPKI_PREFIX) and len(der) == 44:
        return der[len(SPKI_PREFIX) :]
    if "PRIVATE KEY" in stripped and der.startswith(PKCS8_PREFIX) and len(der) == 48:
        return public_key_of_seed(der[len(PKCS8_PREFIX) :])
    raise DossierInvalid("--public-key: not an Ed25519 key (PEM or 64 hex digits)")


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()


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


class Pin:
    """Which signer to accept: a public key, a fingerprint prefix, or nobody in particular."""

    def __init__(self, public_key: bytes | None = None, fingerprint_prefix: str | None = None):
        if fingerprint_prefix is not None:
            prefix = fingerprint_prefix.strip().lower()
            if len(prefix) < 16 or any(c not in "0123456789abcdef" for c in prefix):
                raise DossierInvalid("--fingerprint: at least 16 hex digits of the SHA-256")
            fingerprint_prefix = prefix
        self.public_key = public_key
        self.fingerprint_prefix = fingerprint_prefix

    @property
    def pinned(self) -> bool:
        return self.public_key is not None or self.fingerprint_prefix is not None

    def accepts(self, public: bytes) -> bool:
        if self.public_key is not None and public != self.public_key:
            return False
        if self.fingerprint_prefix is not None:
            return fingerprint(public).startswith(self.fingerprint_prefix)
        return True


def verify_dossier(
    path: str,
    out: Any = sys.stdout,
    *,
    public_key: bytes | None = None,
    key_fingerprint: str | None = None,
) -> dict[str, Any]:
    """Check the dossier; raise ``DossierInvalid`` naming the first thing that fails."""
    pin = Pin(public_key, key_fingerprint)
    try:
        return _verify(path, out, pin)
    except zipfile.BadZipFile as exc:  # a damaged member fails its CRC when read
        raise DossierInvalid(f"{path}: the archive is damaged ({exc})") from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise DossierInvalid(f"{path}: malformed content ({exc!r})") from exc


def _sha256_of(archive: zipfile.ZipFile, name: str) -> str:
    hasher = hashlib.sha256()
    with archive.open(name) as member:
        while block := member.read(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    with archive.open(name) as member:
        for raw in member:
            if raw.strip():
                yield json.loads(raw)


def _check_events(events: list[dict[str, Any]], name: str, stream: str) -> None:
    for expected_version, event in enumerate(events, start=1):
        if event["stream_id"] != stream:
            raise DossierInvalid(f"{name}: an event of {event['stream_id']}, not {stream}")
        if event["stream_version"] != expected_version:
            raise DossierInvalid(f"{name}: version {expected_version} of {stream} missing")
        digest = hashlib.sha256(
            bytes.fromhex(event["prev_hash"]) + canonical_event_bytes(event)
        ).hexdigest()
        if digest != event["hash"]:
            raise DossierInvalid(
                f"{name}: event at position {event['position']} does not match its hash"
            )


def _verify(path: str, out: Any, pin: Pin) -> dict[str, Any]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DossierInvalid(f"{path}: not a readable dossier archive ({exc})") from exc
    if not pin.pinned:
        print(
            "UNPINNED: no --public-key or --fingerprint given; the signatures are checked "
            "against the key inside the dossier itself, which anyone could have made. "
            "Pin the bureau's published key to prove who signed it.",
            file=out,
        )
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
            exporter = bytes.fromhex(manifest["public_key"])
            signature = bytes.fromhex(archive.read("MANIFEST.sig").decode().strip())
        except (ValueError, KeyError) as exc:
            raise DossierInvalid(f"MANIFEST.json: malformed ({exc})") from exc
        if not ed25519_verify(exporter, manifest_bytes, signature):
            raise DossierInvalid("MANIFEST.json: the signature does not verify")
        if not pin.accepts(exporter):
            raise DossierInvalid(
                f"MANIFEST.json: signed by key {fingerprint(exporter)[:16]}, not the pinned key"
            )
        print(f"manifest signed at export by key {fingerprint(exporter)[:16]}", file=out)
        listed = manifest["files"]
        for name in sorted(names - {"MANIFEST.json", "MANIFEST.sig"}):
            if name not in listed:
                raise DossierInvalid(f"{name}: not listed in the manifest")
        for name, digest in sorted(listed.items()):
            if name.startswith((FILES_DIR, DOCUMENTS_DIR)):
                continue  # checked against the events' hashes below, each problem named
            if name not in names:
                raise DossierInvalid(f"{name}: listed in the manifest but missing")
            if _sha256_of(archive, name) != digest:
                raise DossierInvalid(f"{name}: its SHA-256 differs from the manifest")
        print(f"{len(listed)} files match their SHA-256", file=out)

        checkpoint = json.loads(archive.read("checkpoint.json"))
        signer = bytes.fromhex(checkpoint["public_key"])
        payload = canonical_json({k: checkpoint[k] for k in CHECKPOINT_FIELDS})
        if not ed25519_verify(signer, payload, bytes.fromhex(checkpoint["signature"])):
            raise DossierInvalid("checkpoint.json: the signature does not verify")
        if not pin.accepts(signer):
            raise DossierInvalid(
                f"checkpoint.json: signed by key {fingerprint(signer)[:16]}, not the pinned key"
            )
        stated = manifest.get("checkpoint", {})
        if (stated.get("position"), stated.get("hash")) != (
            checkpoint["position"],
            checkpoint["hash"],
        ):
            raise DossierInvalid("checkpoint.json: not the checkpoint the manifest names")
        print(
            f"checkpoint at position {checkpoint['position']} signed {checkpoint['signed_at']} "
            f"by key {fingerprint(signer)[:16]}",
            file=out,
        )

        hazard_id = manifest["hazard_id"]
        events = list(_lines(archive, "events.jsonl"))
        if not events:
            raise DossierInvalid("events.jsonl: no events")
        _check_events(events, "events.jsonl", f"case-{hazard_id}")
        print(f"{len(events)} events recompute to their hashes", file=out)
        history_events: list[dict[str, Any]] = []
        if "history-events.jsonl" in names:
            history_events = list(_lines(archive, "history-events.jsonl"))
            _check_events(history_events, "history-events.jsonl", f"history-case-{hazard_id}")

        document_events: list[dict[str, Any]] = []
        if DOCUMENT_EVENTS in names:
            document_events = list(_lines(archive, DOCUMENT_EVENTS))
            _check_document_events(document_events, hazard_id)

        wanted = {e["position"]: e for e in events + history_events + document_events}
        first_link: int | None = None
        previous: dict[str, Any] | None = None
        links = 0
        for link in _lines(archive, "chain.jsonl"):
            if previous is not None and (
                link["position"] != previous["position"] + 1
                or link["prev_hash"] != previous["hash"]
            ):
                raise DossierInvalid(f"chain.jsonl: the chain breaks at {link['position']}")
            event = wanted.pop(link["position"], None)
            if event is not None and (link["prev_hash"], link["hash"]) != (
                event["prev_hash"],
                event["hash"],
            ):
                raise DossierInvalid(
                    f"chain.jsonl: event at position {link['position']} is not in the chain"
                )
            if first_link is None:
                first_link = link["position"]
            previous = link
            links += 1
        if wanted:
            raise DossierInvalid(
                f"chain.jsonl: event at position {min(wanted)} is not in the chain"
            )
        if previous is None or (previous["position"], previous["hash"]) != (
            checkpoint["position"],
            checkpoint["hash"],
        ):
            raise DossierInvalid("chain.jsonl: does not end at the signed checkpoint")
        print(
            f"chain unbroken from position {first_link} to the checkpoint at "
            f"{checkpoint['position']} signed {checkpoint['signed_at']}",
            file=out,
        )

        history_state = _check_history(archive, names, manifest, history_events, out)
        evidence = _check_evidence(archive, names, listed, events, out)
        documents = _check_documents(archive, names, listed, manifest, document_events, out)
    if not pin.pinned:
        print("UNPINNED: consistent with itself; the signer was not checked", file=out)
    return {
        "events": len(events),
        "links": links,
        "checkpoint": checkpoint["position"],
        "key_fingerprint": fingerprint(signer),
        "pinned": pin.pinned,
        "workflow_history": history_state,
        "evidence_files": evidence,
        "issued_documents": documents,
    }


def _stored_files(value: Any, found: dict[str, dict[str, Any]]) -> None:
    """Every stored-file reference in an event's data (any nesting), by hash."""
    if isinstance(value, dict):
        uri, sha256 = value.get("uri"), value.get("sha256")
        if isinstance(uri, str) and uri.startswith(STORED_FILE_SCHEME) and isinstance(sha256, str):
            found.setdefault(sha256.lower(), value)
            return
        for item in value.values():
            _stored_files(item, found)
    elif isinstance(value, list):
        for item in value:
            _stored_files(item, found)


def _check_evidence(
    archive: zipfile.ZipFile,
    names: set[str],
    listed: dict[str, str],
    events: list[dict[str, Any]],
    out: Any,
) -> int:
    """Each file the (verified) events name against its recorded hash and size; every
    problem is named before the dossier is declared invalid."""
    named: dict[str, dict[str, Any]] = {}
    for event in events:
        _stored_files(json.loads(event["data_text"]), named)
    problems = []
    for sha256, ref in named.items():
        member = FILES_DIR + sha256
        shown = f"{member} ({ref.get('name') or 'no name'})"
        if member not in names:
            problems.append(f"{shown}: missing from the dossier")
            continue
        hasher = hashlib.sha256()
        size = 0
        with archive.open(member) as stream:
            while block := stream.read(1 << 20):
                hasher.update(block)
                size += len(block)
        if hasher.hexdigest() != sha256:
            problems.append(f"{shown}: altered (its SHA-256 differs from the event's)")
        elif ref.get("size") is not None and size != ref["size"]:
            problems.append(f"{shown}: altered ({size} bytes, the event records {ref['size']})")
        elif listed.get(member) != sha256:
            problems.append(f"{shown}: the manifest lists another SHA-256 for it")
    for member in sorted(n for n in names | set(listed) if n.startswith(FILES_DIR)):
        if member[len(FILES_DIR) :] not in named:
            problems.append(f"{member}: no event of the case names this file")
    for problem in problems:
        print(f"EVIDENCE: {problem}", file=out)
    if problems:
        raise DossierInvalid(
            f"{len(problems)} evidence file(s) missing or altered: " + "; ".join(problems)
        )
    print(f"{len(named)} evidence files match the SHA-256 and size their events record", file=out)
    return len(named)


def _check_document_events(events: list[dict[str, Any]], hazard_id: str) -> None:
    """Each event is a DocumentIssued of the case, in an authority's document stream, and
    recomputes to its stored hash (its link in the chain is checked with the case's)."""
    for event in events:
        data = json.loads(event["data_text"])
        if (
            event["event_type"] != "DocumentIssued"
            or not event["stream_id"].startswith("documents-")
            or data.get("subject") != hazard_id
            or data.get("source_stream") != f"case-{hazard_id}"
        ):
            raise DossierInvalid(
                f"{DOCUMENT_EVENTS}: the event at position {event['position']} is not a "
                "document issued for this case"
            )
        digest = hashlib.sha256(
            bytes.fromhex(event["prev_hash"]) + canonical_event_bytes(event)
        ).hexdigest()
        if digest != event["hash"]:
            raise DossierInvalid(
                f"{DOCUMENT_EVENTS}: event at position {event['position']} does not match its hash"
            )


def _check_documents(
    archive: zipfile.ZipFile,
    names: set[str],
    listed: dict[str, str],
    manifest: dict[str, Any],
    events: list[dict[str, Any]],
    out: Any,
) -> int:
    """Each issued document's PDF against the SHA-256 its (verified) event records; every
    problem is named before the dossier is declared invalid."""
    expected: dict[str, dict[str, Any]] = {}
    for event in events:
        data = json.loads(event["data_text"])
        expected[f"{DOCUMENTS_DIR}{data['short_code']}.pdf"] = data
    problems = []
    for member, data in expected.items():
        shown = f"{member} ({data.get('number')} {data.get('title')})"
        if member not in names:
            problems.append(f"{shown}: missing from the dossier")
        elif _sha256_of(archive, member) != str(data["sha256"]).lower():
            problems.append(
                f"{shown}: altered (its SHA-256 differs from the DocumentIssued event's)"
            )
        elif listed.get(member) != str(data["sha256"]).lower():
            problems.append(f"{shown}: the manifest lists another SHA-256 for it")
    for member in sorted(n for n in names | set(listed) if n.startswith(DOCUMENTS_DIR)):
        if member not in expected:
            problems.append(f"{member}: no DocumentIssued event of the case names this document")
    stated = {
        f"{DOCUMENTS_DIR}{d.get('short_code')}.pdf" for d in manifest.get("issued_documents", [])
    }
    for member in sorted(stated ^ set(expected)):
        problems.append(f"{member}: the manifest's issued_documents and the events disagree")
    for problem in problems:
        print(f"DOCUMENT: {problem}", file=out)
    if problems:
        raise DossierInvalid(
            f"{len(problems)} issued document(s) missing or altered: " + "; ".join(problems)
        )
    print(
        f"{len(expected)} issued documents match the SHA-256 their DocumentIssued events record",
        file=out,
    )
    return len(expected)


def _check_history(
    archive: zipfile.ZipFile,
    names: set[str],
    manifest: dict[str, Any],
    history_events: list[dict[str, Any]],
    out: Any,
) -> str:
    if not history_events:
        if "workflow-history.json" in names:
            raise DossierInvalid("workflow-history.json: included but its hash is not recorded")
        print("workflow history: not exported yet when the dossier was made", file=out)
        return "not recorded"
    recorded = json.loads(history_events[-1]["data_text"])["sha256"]
    if "workflow-history.json" not in names:
        problem = manifest.get("workflow_history", {}).get("problem", "not included")
        print(
            f"WARNING: the workflow history was recorded (SHA-256 {recorded[:16]}…) but is NOT "
            f"in this dossier: {problem}",
            file=out,
        )
        return "recorded but missing"
    if _sha256_of(archive, "workflow-history.json") != recorded:
        raise DossierInvalid(
            "workflow-history.json: its SHA-256 differs from the one recorded in the event store"
        )
    print("workflow history matches the SHA-256 recorded in the event store", file=out)
    return "included"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a duban case dossier offline.")
    parser.add_argument("archive")
    parser.add_argument(
        "--public-key", help="file with the bureau's public key (PEM or 64 hex digits)"
    )
    parser.add_argument("--fingerprint", help="SHA-256 of the bureau's key (16+ hex digits)")
    args = parser.parse_args(argv)
    try:
        pinned = None
        if args.public_key:
            with open(args.public_key, encoding="ascii") as handle:
                pinned = parse_public_key(handle.read())
        verify_dossier(args.archive, public_key=pinned, key_fingerprint=args.fingerprint)
    except OSError as exc:
        print(f"INVALID: {exc}")
        return 2
    except DossierInvalid as exc:
        print(f"INVALID: {exc}")
        return 1
    print("OK: the dossier is intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
