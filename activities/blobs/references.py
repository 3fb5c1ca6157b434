"""The files events name: every stored-file reference (``duban-file:<sha256>``, with its size,
type and name) found anywhere in an event's data.

The walk is generic (any nested object with such a ``uri`` and a ``sha256``), so that an event
kind that starts carrying files later (a plan's, a verification's, a document's) is checked
without this module knowing it. References a person typed (any other URI) are not files duban
holds, and are not checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from activities.blobs.verify import ExpectedFile
from domain.case.events import STORED_FILE_SCHEME


@dataclass(frozen=True)
class FileReference:
    """One stored file as one event records it."""

    sha256: str
    size: int | None
    media_type: str | None
    name: str | None
    path: str  # where in the event's data, e.g. ``evidence.0``

    @property
    def uri(self) -> str:
        return f"{STORED_FILE_SCHEME}{self.sha256}"


def _walk(value: Any, path: str) -> Iterator[FileReference]:
    if isinstance(value, dict):
        uri, sha256 = value.get("uri"), value.get("sha256")
        if isinstance(uri, str) and uri.startswith(STORED_FILE_SCHEME) and isinstance(sha256, str):
            size = value.get("size")
            yield FileReference(
                sha256.lower(),
                size if isinstance(size, int) and not isinstance(size, bool) else None,
                value.get("media_type") if isinstance(value.get("media_type"), str) else None,
                value.get("name") if isinstance(value.get("name"), str) else None,
                path,
            )
            return
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}" if path else str(index))


def files_in_data(data: dict[str, Any]) -> list[FileReference]:
    """The stored files one event's data names, in the order they appear."""
    return list(_walk(data, ""))


def files_in_events(datas: Iterable[dict[str, Any]]) -> list[FileReference]:
    """Each distinct stored file (by hash) the events name, first mention first."""
    seen: dict[str, FileReference] = {}
    for data in datas:
        for ref in files_in_data(data):
            seen.setdefault(ref.sha256, ref)
    return list(seen.values())


def expected_files_of_events(events: Iterable[Any]) -> list[ExpectedFile]:
    """Every stored-file mention in recorded events (``RecordedEvent``s), each named with where
    it is recorded (``现场照片.jpg — case-H-…#1 HazardRegistered evidence.0``), for
    ``verify_files``: a problem then lists every event that names the file."""
    out = []
    for event in events:
        for ref in files_in_data(event.data):
            where = f"{event.stream_id}#{event.stream_version} {event.event_type} {ref.path}"
            out.append(
                ExpectedFile(ref.sha256, ref.size, f"{ref.name} — {where}" if ref.name else where)
            )
    return out
