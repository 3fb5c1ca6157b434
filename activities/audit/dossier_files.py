"""The case's evidence files in its dossier (一案一档): every file the case's events name
(``duban-file:<sha256>``) is copied in as ``files/<sha256>`` — named by its hash only, so no
uploaded name ever becomes a path in the archive — and listed in the manifest with what the
event records of it (size, type, name).

A file the store no longer holds, or holds altered, is not copied: the manifest says so for
that file, and the offline verifier (``deploy/verify_dossier.py``) names it, so the dossier
never passes with a file missing or altered.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from typing import Any

from activities.blobs import BlobStore
from activities.blobs.references import files_in_events
from activities.blobs.store import CHUNK_BYTES

FILES_DIR = "files/"


def member_of(sha256: str) -> str:
    return f"{FILES_DIR}{sha256}"


def write_case_files(
    archive: zipfile.ZipFile,
    files: dict[str, str],
    events: list[dict[str, Any]],
    blobs: BlobStore | None,
) -> list[dict[str, Any]]:
    """Copy the files ``events`` (rows with ``data_text``) name into ``archive``, adding each to
    ``files`` (the manifest's member → SHA-256). Returns the manifest's ``evidence_files``:
    each file with ``included`` and, when not, the ``problem``."""
    refs = files_in_events(json.loads(e["data_text"]) for e in events)
    listed: list[dict[str, Any]] = []
    for ref in refs:
        entry: dict[str, Any] = {
            "sha256": ref.sha256,
            "size": ref.size,
            "media_type": ref.media_type,
            "name": ref.name,
            "member": member_of(ref.sha256),
        }
        problem = _problem(blobs, ref.sha256, ref.size)
        if problem is None and blobs is not None:
            files[member_of(ref.sha256)] = _copy(archive, blobs, ref.sha256)
            entry["included"] = True
        else:
            entry.update(included=False, problem=problem)
        listed.append(entry)
    return listed


def _problem(blobs: BlobStore | None, sha256: str, size: int | None) -> str | None:
    if blobs is None:
        return "no file store was given to the export"
    check = blobs.verify(sha256, size)
    return None if check.ok else f"{check.status} in the file store at export: {check.detail}"


def _copy(archive: zipfile.ZipFile, blobs: BlobStore, sha256: str) -> str:
    digest = hashlib.sha256()
    with blobs.open(sha256) as stream, archive.open(member_of(sha256), "w", force_zip64=True) as m:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            m.write(chunk)
    return digest.hexdigest()
