"""Evidence files (证据材料): what duban accepts with a registration, a plan, a report or a
verification, and what an event records of each (hash, size, type, name).

The rules, each refusal naming the field and the rule (the API maps ``status``):

- ``evidence.empty`` (422): a file of no bytes.
- ``evidence.too_large`` (413): more than ``evidence_max_bytes``; reading stops at the limit.
- ``evidence.type_not_allowed`` (422): the type read from the bytes is not in
  ``evidence_allowed_types``. The name's extension and the client's Content-Type are ignored.
- ``evidence.name_invalid`` (422): the name holds NUL or another control character, or a
  bidirectional-text control (U+202E shows ``photo<U+202E>gpj.exe`` as ``photoexe.jpg``).
- ``evidence.name_too_long`` (422): over 255 characters once directories are stripped.

A name is for display only and never becomes a path: the file is stored under its hash. A
name sent with directories (``../../etc/passwd``, ``C:\\Users\\a\\照片.jpg``) keeps its last
non-empty part (``passwd``, ``照片.jpg``), without surrounding spaces; a name with nothing
left (none sent, ``..``, ``/``) is shown as the hash's first 12 digits with the type's
extension. Names are kept in Unicode NFC.
A refused upload stores nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from activities.blobs.filetypes import DEFAULT_ALLOWED_TYPES, OCTET_STREAM, detect_file, kind_of
from activities.blobs.store import BlobStore, BlobTooLarge, Source

MAX_NAME_CHARS = 255
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
# Bidirectional-text controls: they reorder how a name is shown (a lying extension).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


class EvidenceRefused(ValueError):
    """An upload refused: the API answers ``status`` with ``{"error": {rule, message, field}}``."""

    def __init__(self, status: int, rule: str, message: str, field: str, message_zh: str) -> None:
        super().__init__(message)
        self.status = status
        self.rule = rule
        self.message = message
        self.message_zh = message_zh
        self.field = field


@dataclass(frozen=True)
class EvidenceLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    allowed_types: frozenset[str] = frozenset(DEFAULT_ALLOWED_TYPES)

    @classmethod
    def from_settings(cls, settings: Any) -> EvidenceLimits:
        return cls(
            max_bytes=settings.evidence_max_bytes,
            allowed_types=frozenset(settings.evidence_allowed_types),
        )


@dataclass(frozen=True)
class EvidenceFile:
    """One accepted file, as an event records it."""

    sha256: str
    size: int
    media_type: str
    name: str

    def as_event_data(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "name": self.name,
        }


def clean_file_name(raw: str | None, *, field: str = "file.name") -> str | None:
    """The name to show for an upload, or None when it gives none. Never a path."""
    if raw is None:
        return None
    for ch in raw:
        if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
            raise EvidenceRefused(
                422,
                "evidence.name_invalid",
                f"the file name holds the control character U+{ord(ch):04X}; rename the file",
                field,
                f"文件名含有控制字符 U+{ord(ch):04X}，请重命名文件",
            )
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise EvidenceRefused(
                422,
                "evidence.name_invalid",
                "the file name is not valid Unicode (a lone surrogate); rename the file",
                field,
                "文件名不是有效的 Unicode 文本，请重命名文件",
            )
    parts = [p.strip() for p in unicodedata.normalize("NFC", raw).replace("\\", "/").split("/")]
    last = next((p for p in reversed(parts) if p), "")
    if last in ("", ".", ".."):
        return None
    if len(last) > MAX_NAME_CHARS:
        raise EvidenceRefused(
            422,
            "evidence.name_too_long",
            f"the file name has {len(last)} characters; at most {MAX_NAME_CHARS}",
            field,
            f"文件名有 {len(last)} 个字符，最多 {MAX_NAME_CHARS} 个",
        )
    return last


def _allowed_list(allowed: Collection[str]) -> tuple[str, str]:
    ordered = [t for t in DEFAULT_ALLOWED_TYPES if t in allowed] + sorted(
        t for t in allowed if t not in DEFAULT_ALLOWED_TYPES
    )
    return (
        "、".join(kind_of(t).label_zh for t in ordered),
        ", ".join(kind_of(t).label_en for t in ordered),
    )


def accept_evidence(
    store: BlobStore,
    source: Source,
    *,
    name: str | None,
    limits: EvidenceLimits,
    field: str = "file",
) -> EvidenceFile:
    """Check an upload and store it; refuse it (storing nothing) with the rule it breaks.

    Blocking I/O: the API calls it in the thread pool. ``field`` is the request's field for
    the bytes (e.g. ``evidence.0.file``); the name's refusals name ``<field>.name``.
    """
    display_name = clean_file_name(name, field=f"{field}.name")
    try:
        with store.receive(source, max_bytes=limits.max_bytes) as incoming:
            media_type = _allowed_type(incoming.size, detect_file(incoming.path), limits, field)
            stored = store.commit(incoming, media_type)
    except BlobTooLarge:
        mib = limits.max_bytes / (1024 * 1024)
        raise EvidenceRefused(
            413,
            "evidence.too_large",
            f"the file is larger than {limits.max_bytes} bytes ({mib:g} MiB)",
            field,
            f"文件超过 {mib:g} MiB 的上限",
        ) from None
    shown = display_name or f"{stored.sha256[:12]}.{kind_of(media_type).extension}"
    return EvidenceFile(stored.sha256, stored.size, stored.media_type, shown)


def _allowed_type(size: int, detected: str | None, limits: EvidenceLimits, field: str) -> str:
    if size == 0:
        raise EvidenceRefused(422, "evidence.empty", "the file is empty", field, "文件为空")
    media_type = detected or OCTET_STREAM
    if media_type not in limits.allowed_types:
        kind = kind_of(media_type)
        allowed_zh, allowed_en = _allowed_list(limits.allowed_types)
        raise EvidenceRefused(
            422,
            "evidence.type_not_allowed",
            f"the file's bytes are a {kind.label_en} ({media_type}), whatever its name or "
            f"Content-Type says; accepted: {allowed_en}",
            field,
            f"文件内容是{kind.label_zh}（{media_type}），与文件名无关；可上传：{allowed_zh}",
        )
    return media_type
