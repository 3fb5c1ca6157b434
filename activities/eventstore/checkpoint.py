"""Signed checkpoints: the head of the chain, signed with a key that lives outside the database.

A superuser who can disable the triggers can rewrite the events *and* recompute every hash
after them; only something kept elsewhere can prove that. A checkpoint is a small JSON file
(position, hash, time) signed with Ed25519; an auditor keeps copies, and verification checks
that the chain still passes through every checkpoint it is given.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from activities.eventstore.chain import canonical_instant, canonical_json

CHECKPOINT_SCHEME = "duban-checkpoint/1"


class CheckpointInvalid(ValueError):
    """The checkpoint file is malformed, or its signature does not verify."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    position: int
    hash: bytes
    signed_at: str
    public_key: bytes
    signature: bytes

    def signed_payload(self) -> bytes:
        return canonical_json(
            {
                "scheme": CHECKPOINT_SCHEME,
                "position": self.position,
                "hash": self.hash.hex(),
                "signed_at": self.signed_at,
                "public_key": self.public_key.hex(),
            }
        ).encode()

    def to_json(self) -> str:
        return json.dumps(
            {
                "scheme": CHECKPOINT_SCHEME,
                "position": self.position,
                "hash": self.hash.hex(),
                "signed_at": self.signed_at,
                "public_key": self.public_key.hex(),
                "signature": self.signature.hex(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        try:
            raw = json.loads(text)
            if raw.get("scheme") != CHECKPOINT_SCHEME:
                raise CheckpointInvalid(f"scheme: expected {CHECKPOINT_SCHEME!r}")
            checkpoint = cls(
                position=int(raw["position"]),
                hash=bytes.fromhex(raw["hash"]),
                signed_at=str(raw["signed_at"]),
                public_key=bytes.fromhex(raw["public_key"]),
                signature=bytes.fromhex(raw["signature"]),
            )
        except CheckpointInvalid:
            raise
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise CheckpointInvalid(f"malformed checkpoint file: {exc}") from exc
        if checkpoint.position < 0 or len(checkpoint.hash) != 32:
            raise CheckpointInvalid("position must be >= 0 and hash 32 bytes")
        return checkpoint

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CheckpointInvalid(f"{path}: {exc.strerror}") from exc

    def verify_signature(self, pinned_public_key: bytes | None = None) -> None:
        """Raise ``CheckpointInvalid`` unless the signature is good (and by the pinned key)."""
        if pinned_public_key is not None and pinned_public_key != self.public_key:
            raise CheckpointInvalid(
                f"checkpoint at position {self.position} is signed by a different key "
                f"({key_fingerprint(self.public_key)}) than the trusted one "
                f"({key_fingerprint(pinned_public_key)})"
            )
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                self.signature, self.signed_payload()
            )
        except (InvalidSignature, ValueError) as exc:
            raise CheckpointInvalid(
                f"checkpoint at position {self.position}: signature does not verify"
            ) from exc


def key_fingerprint(public_key: bytes) -> str:
    """Short, stable name of a public key for messages: the first 16 hex digits of SHA-256."""
    return "key " + hashlib.sha256(public_key).hexdigest()[:16]


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The operator's checkpoint key; created (mode 0600) the first time it is needed."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointInvalid(f"{path}: not an Ed25519 private key")
        return key
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(path: Path) -> bytes:
    """A pinned public key: a PEM public key, a PEM private key, or 64 hex characters."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointInvalid(f"{path}: {exc.strerror}") from exc
    text = data.decode("ascii", errors="replace").strip()
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    try:
        key: object = (
            serialization.load_pem_private_key(data, password=None)
            if b"PRIVATE KEY" in data
            else serialization.load_pem_public_key(data)
        )
    except (ValueError, TypeError) as exc:
        raise CheckpointInvalid(f"{path}: not a PEM key or 64 hex digits ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        raise CheckpointInvalid(f"{path}: not an Ed25519 key")
    return public_key_bytes(key)


def sign_checkpoint(
    key: Ed25519PrivateKey, position: int, head_hash: bytes, signed_at: datetime
) -> Checkpoint:
    unsigned = Checkpoint(
        position=position,
        hash=head_hash,
        signed_at=canonical_instant(signed_at.astimezone(UTC)),
        public_key=public_key_bytes(key),
        signature=b"",
    )
    return Checkpoint(
        unsigned.position,
        unsigned.hash,
        unsigned.signed_at,
        unsigned.public_key,
        key.sign(unsigned.signed_payload()),
    )


def write_checkpoint_file(checkpoint: Checkpoint, directory: Path) -> Path:
    """Write ``checkpoint-<position>-<time>.json`` and refresh ``latest.json`` beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = checkpoint.signed_at.replace(":", "").replace("-", "").replace(".", "")
    path = directory / f"checkpoint-{checkpoint.position:012d}-{stamp}.json"
    path.write_text(checkpoint.to_json(), encoding="utf-8")
    latest = directory / "latest.json"
    tmp = directory / ".latest.json.tmp"
    tmp.write_text(checkpoint.to_json(), encoding="utf-8")
    tmp.replace(latest)
    return path
