"""The blob store's contract: content-addressed files (evidence, thumbnails) that are never
overwritten or deleted.

A blob's name is the SHA-256 of its bytes, so the same bytes are stored once and a reader can
always tell whether what it got is what was recorded. Every backend receives bytes the same
way: into a local temporary file, hashed and counted as they arrive, with the size limit
enforced while reading (nothing past the limit is read, nothing is stored). Only then does the
caller decide (the type check of evidence) and commit — so a refused upload leaves no trace.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from activities.blobs.filetypes import OCTET_STREAM, detect_file

CHUNK_BYTES = 1024 * 1024
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# A derived blob's kind names what was made from the source (e.g. "thumbnail-256.jpg"); it
# becomes part of a path or key, so it is a plain token.
_DERIVED_KIND = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")

Source = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]


class BlobStoreError(Exception):
    """Base of the store's own failures (not a person's input)."""


class InvalidHash(BlobStoreError, ValueError):
    """A hash that is not 64 lowercase hex digits: it never reaches a path or a key."""

    def __init__(self, value: object) -> None:
        super().__init__(f"not a SHA-256 in lowercase hex: {value!r:.80}")


class BlobNotFound(BlobStoreError, KeyError):
    def __init__(self, sha256: str) -> None:
        super().__init__(sha256)
        self.sha256 = sha256

    def __str__(self) -> str:
        return f"no stored file with SHA-256 {self.sha256}"


class BlobTooLarge(BlobStoreError):
    """The source held more than ``limit`` bytes; reading stopped there and nothing is kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class BlobConflict(BlobStoreError):
    """The file stored under this hash no longer hashes to it (altered outside duban).

    duban does not write over it — the altered file is evidence of the alteration — and keeps
    the bytes it just received, which do hash to the name, at ``kept_at`` for an operator to
    restore from.
    """

    def __init__(self, sha256: str, kept_at: str) -> None:
        super().__init__(
            f"the stored file {sha256} is altered; not overwritten. The intact bytes just "
            f"received are kept at {kept_at}"
        )
        self.sha256 = sha256
        self.kept_at = kept_at


def check_sha256(value: str) -> str:
    if not isinstance(value, str) or not _SHA256_HEX.match(value):
        raise InvalidHash(value)
    return value


def check_derived_kind(kind: str) -> str:
    if not _DERIVED_KIND.match(kind):
        raise ValueError(f"derived kind must match {_DERIVED_KIND.pattern}: {kind!r:.80}")
    return kind


@dataclass(frozen=True)
class StoredBlob:
    """What a put answers and an event records: the bytes' SHA-256, their size and their type
    as read from the bytes (never from a name or a client's header)."""

    sha256: str
    size: int
    media_type: str


BlobStatus = Literal["intact", "missing", "altered", "unreadable"]


@dataclass(frozen=True)
class BlobCheck:
    """One file checked against what was recorded: present and intact, missing, altered (its
    bytes hash to something else, or its size differs), or unreadable (e.g. permissions)."""

    sha256: str
    status: BlobStatus
    expected_size: int | None = None
    found_size: int | None = None
    found_sha256: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "intact"


@dataclass
class Incoming:
    """Bytes received into a local temporary file, with their SHA-256 and size."""

    path: Path
    sha256: str
    size: int

    def head(self, n: int = 4096) -> bytes:
        with self.path.open("rb") as f:
            return f.read(n)


def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), CHUNK_BYTES):
            yield bytes(view[start : start + CHUNK_BYTES])
        return
    read = getattr(source, "read", None)
    if read is not None:
        while chunk := read(CHUNK_BYTES):
            yield chunk
        return
    for chunk in source:  # an iterable of byte chunks (e.g. a request body)
        if chunk:
            yield bytes(chunk)


def spool(source: Source, directory: Path, *, max_bytes: int | None, durable: bool) -> Incoming:
    """Copy ``source`` into a new temporary file in ``directory``, hashing and counting.

    Reading stops at the first chunk that passes ``max_bytes``: the temporary file is removed
    and :class:`BlobTooLarge` raised, so an oversized upload is never read to its end nor kept.
    ``durable`` fsyncs the file (a directory store links this very file into place).
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="incoming-", dir=directory)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _chunks(source):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise BlobTooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            if durable:
                os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Incoming(path=path, sha256=digest.hexdigest(), size=size)


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class BlobStore(ABC):
    """Content-addressed, write-once storage. Backends: :class:`DirectoryBlobStore` (default,
    a directory under the data directory) and :class:`S3BlobStore` (a bucket, for a cluster).

    Every method is blocking I/O: call it from a thread (``run_in_threadpool``), not on an
    event loop.
    """

    #: fsync received bytes before committing (the directory store links the spooled file).
    durable_spool: bool = False

    @abstractmethod
    def _spool_dir(self) -> Path:
        """Where received bytes wait, on the same filesystem as the store when it is local."""

    @abstractmethod
    def _commit(self, incoming: Incoming, media_type: str) -> None:
        """Store ``incoming`` under its hash unless a file is already there; never overwrite."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes as a stream (close it). :class:`BlobNotFound` if absent."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def iter_hashes(self) -> Iterator[str]:
        """Every hash stored (for a scrub of the whole store)."""

    @abstractmethod
    def put_derived(self, kind: str, source_sha256: str, data: bytes) -> None:
        """Keep a file made from a blob (a thumbnail), keyed by the source's hash and ``kind``.
        Written once: when one is already there it stays."""

    @abstractmethod
    def get_derived(self, kind: str, source_sha256: str) -> bytes | None: ...

    @contextmanager
    def receive(self, source: Source, *, max_bytes: int | None = None) -> Iterator[Incoming]:
        """Receive ``source`` into a temporary file; the body decides, then :meth:`commit`s.
        Leaving the block removes the temporary file, committed or not."""
        incoming = spool(source, self._spool_dir(), max_bytes=max_bytes, durable=self.durable_spool)
        try:
            yield incoming
        finally:
            incoming.path.unlink(missing_ok=True)

    def commit(self, incoming: Incoming, media_type: str) -> StoredBlob:
        self._commit(incoming, media_type)
        return StoredBlob(sha256=incoming.sha256, size=incoming.size, media_type=media_type)

    def put(self, source: Source, *, max_bytes: int | None = None) -> StoredBlob:
        """Store bytes (or a stream, or chunks); the same bytes give the same answer and are
        stored once. The type is read from the bytes (``application/octet-stream`` when it
        is none duban knows). No allow-list here: evidence goes through ``accept_evidence``."""
        with self.receive(source, max_bytes=max_bytes) as incoming:
            return self.commit(incoming, detect_file(incoming.path) or OCTET_STREAM)

    def get(self, sha256: str) -> bytes:
        with self.open(sha256) as stream:
            return stream.read()

    def verify(self, sha256: str, expected_size: int | None = None) -> BlobCheck:
        """Read the stored file to its end and say whether it is the one recorded."""
        check_sha256(sha256)
        try:
            with self.open(sha256) as stream:
                found, size = hash_stream(stream)
        except BlobNotFound:
            return BlobCheck(sha256, "missing", expected_size, detail="no file under this hash")
        except OSError as exc:
            return BlobCheck(sha256, "unreadable", expected_size, detail=str(exc))
        if found != sha256:
            return BlobCheck(
                sha256, "altered", expected_size, size, found, "its bytes hash to another value"
            )
        if expected_size is not None and size != expected_size:
            return BlobCheck(
                sha256,
                "altered",
                expected_size,
                size,
                found,
                f"the event records {expected_size} bytes, the file has {size}",
            )
        return BlobCheck(sha256, "intact", expected_size, size, found)
