"""The checkpoint signing key, as the operator configured it.

On one machine (``duban up``) the key is created under the data directory the first time it is
needed. In a cluster the operator names the key (``DUBAN_CHECKPOINT_KEY_PATH``, a mounted
Secret): then a missing or unreadable file is an error, never a reason to make a new key —
a pod that silently signed with a key of its own would produce checkpoints nobody can check
against the bureau's published key.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from activities.eventstore.checkpoint import (
    CheckpointInvalid,
    load_or_create_signing_key,
    public_key_bytes,
)
from activities.settings import Settings


class SigningKeyUnavailable(CheckpointInvalid):
    """The configured checkpoint key cannot be used; nothing was signed."""


def load_existing_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key at ``path``; ``SigningKeyUnavailable`` if it is not there."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyUnavailable(
            f"checkpoint_key_path: cannot read {path} ({exc.strerror}); the key is configured, "
            "so duban will not create another one — mount the Secret that holds it"
        ) from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyUnavailable(
            f"checkpoint_key_path: {path} is not an unencrypted PEM private key"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyUnavailable(f"checkpoint_key_path: {path} is not an Ed25519 key")
    return key


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The key that signs checkpoints: the configured one (which must exist), or the one under
    the data directory (created on first use, for a single machine)."""
    if settings.checkpoint_key_path is not None:
        return load_existing_signing_key(settings.checkpoint_key_path)
    return load_or_create_signing_key(settings.resolved_checkpoint_key_path)


def trusted_public_key(settings: Settings) -> bytes | None:
    """The public half of the configured signing key, to pin checkpoints to; None when no key
    has been configured or created yet (nothing can be pinned then)."""
    if settings.checkpoint_key_path is not None:
        return public_key_bytes(load_existing_signing_key(settings.checkpoint_key_path))
    path = settings.resolved_checkpoint_key_path
    if not path.exists():
        return None
    return public_key_bytes(load_existing_signing_key(path))
