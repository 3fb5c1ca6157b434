"""The exported histories of closed cases (the hourly audit job's, ``maintenance``): where
each lives (its file under the data directory, the stream that records its hash), how its bytes
are made, written and checked, and the cursors the hourly scans resume from.

The files are written atomically and read back before their hash is recorded; the hourly check
looks at a file's size only (hashing every export every hour would read them all; the dossier
export checks the hash itself).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import WorkflowHistory

from activities.settings import Settings

HISTORY_STREAM_PREFIX = "history-"
EXPORT_CURSOR_FILE = ".export-cursor.json"
RESTORE_CURSOR_FILE = ".restore-cursor.json"


@dataclass(frozen=True)
class RecordedExport:
    hazard_id: str
    sha256: str
    stream_version: int
    size: int | None  # recorded since the size was; older records have only the hash


class HistoryExportFailed(RuntimeError):
    pass


def history_stream_id(hazard_id: str) -> str:
    return f"{HISTORY_STREAM_PREFIX}case-{hazard_id}"


def history_dir(settings: Settings) -> Path:
    return settings.data_dir / "histories"


def history_file(settings: Settings, hazard_id: str) -> Path:
    return history_dir(settings) / f"{hazard_id}.json"


def read_cursor(path: Path, key: str, default: int | str) -> int | str:
    """A cursor the last run left, or ``default`` (start over) when there is none or it is
    unreadable: the scans it shortens are correct from any starting point before it."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))[key]
    except (OSError, ValueError, KeyError, TypeError):
        return default
    return value if isinstance(value, type(default)) else default


def write_cursor(path: Path, key: str, value: int | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(json.dumps({key: value}), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def history_bytes(history: WorkflowHistory) -> bytes:
    """The exported form: the SDK's JSON of the history, keys sorted (protobuf maps, e.g. the
    search attributes, come out in any order), indented. The same history then always gives
    the same bytes, so a re-export of a lost file matches its recorded hash."""
    return json.dumps(
        json.loads(history.to_json()), ensure_ascii=False, indent=1, sort_keys=True
    ).encode()


def write_verified(path: Path, content: bytes, digest: str) -> None:
    """Write ``content`` to ``path`` atomically (temporary file, fsync, rename, fsync of the
    directory) and read it back: raise unless the file on disk has ``digest``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        raise HistoryExportFailed(f"{path}: the file read back does not have SHA-256 {digest}")


def file_looks_intact(path: Path, recorded: RecordedExport) -> bool:
    """The hourly check: the file is there with its recorded size (hashing every exported
    history every hour would read them all; the dossier export checks the hash itself)."""
    try:
        if recorded.size is not None:
            return path.stat().st_size == recorded.size
        return hashlib.sha256(path.read_bytes()).hexdigest() == recorded.sha256
    except OSError:
        return False
