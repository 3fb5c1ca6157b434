"""The default blob store: a directory (``<data_dir>/blobs`` unless ``DUBAN_BLOB_DIR``).

Layout::

    <root>/sha256/ab/cd/abcd…   the files, read-only (0444), fanned out by the hash's first
                                two bytes so that no directory holds more than a few hundred
    <root>/derived/<kind>/ab/cd/<source hash>   files made from a blob (thumbnails)
    <root>/.incoming/           bytes being received (a crash may leave some: safe to remove)
    <root>/.conflicts/          intact bytes received for a hash whose stored file is altered

A file is written to a temporary file in ``.incoming`` (same filesystem), fsynced, made
read-only, then hard-linked to its name: ``link`` fails when the name exists, so a stored
file is never replaced, and concurrent puts of the same bytes leave one complete file (the
link is atomic: no reader ever sees a partial file). The directory is fsynced after the link.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from activities.blobs.store import (
    BlobConflict,
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    Incoming,
    check_derived_kind,
    check_sha256,
    hash_stream,
)

READ_ONLY = 0o444


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path, root: Path) -> None:
    """``mkdir -p`` that fsyncs each new directory's parent, so a linked file's directory
    entry survives a crash along with the file."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != root and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir()
        _fsync_dir(d.parent)


def _link_once(source: Path, target: Path, root: Path) -> bool:
    """Hard-link ``source`` to ``target`` unless ``target`` exists. True if linked here."""
    _make_dirs(target.parent, root)
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    except OSError as exc:  # a filesystem without hard links cannot give the guarantee
        raise BlobStoreError(
            f"cannot hard-link into {target.parent} ({exc}); the blob directory needs a "
            "filesystem with hard links (ext4, xfs, btrfs, zfs, NFSv4)"
        ) from exc
    _fsync_dir(target.parent)
    return True


class DirectoryBlobStore(BlobStore):
    durable_spool = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"DirectoryBlobStore({str(self.root)!r})"

    # ---- paths: built from a checked hash only, never from a name a person gave ----
    def path_of(self, sha256: str) -> Path:
        h = check_sha256(sha256)
        return self.root / "sha256" / h[:2] / h[2:4] / h

    def _derived_path(self, kind: str, source_sha256: str) -> Path:
        h = check_sha256(source_sha256)
        return self.root / "derived" / check_derived_kind(kind) / h[:2] / h[2:4] / h

    def _spool_dir(self) -> Path:
        return self.root / ".incoming"

    # ---- writing ----
    def _commit(self, incoming: Incoming, media_type: str) -> None:
        target = self.path_of(incoming.sha256)
        if not target.exists():
            os.chmod(incoming.path, READ_ONLY)
            if _link_once(incoming.path, target, self.root):
                return
        self._check_existing(incoming, target)

    def _check_existing(self, incoming: Incoming, target: Path) -> None:
        """Another put stored this hash first: fine when its file is intact (the same bytes,
        stored once). When it is altered, keep what we received and say so."""
        try:
            with target.open("rb") as f:
                found, _ = hash_stream(f)
        except OSError:
            found = ""
        if found == incoming.sha256:
            return
        kept = self.root / ".conflicts" / f"{incoming.sha256}.{uuid.uuid4().hex}"
        os.chmod(incoming.path, READ_ONLY)
        _link_once(incoming.path, kept, self.root)
        raise BlobConflict(incoming.sha256, str(kept))

    def put_derived(self, kind: str, source_sha256: str, data: bytes) -> None:
        target = self._derived_path(kind, source_sha256)
        if target.exists():
            return
        with self.receive(data) as incoming:
            os.chmod(incoming.path, READ_ONLY)
            _link_once(incoming.path, target, self.root)

    # ---- reading ----
    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path_of(sha256).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def get_derived(self, kind: str, source_sha256: str) -> bytes | None:
        try:
            return self._derived_path(kind, source_sha256).read_bytes()
        except FileNotFoundError:
            return None

    def iter_hashes(self) -> Iterator[str]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for first in sorted(base.iterdir()):
            for second in sorted(first.iterdir()) if first.is_dir() else ():
                for f in sorted(second.iterdir()) if second.is_dir() else ():
                    yield f.name
