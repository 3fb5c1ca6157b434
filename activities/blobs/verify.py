"""Are the files the events name still there, and still the bytes that were recorded?

``verify_files`` takes the (hash, size) of every file the events name — the caller reads them
from the event store (``duban audit verify`` feeds it once events carry files) — and reads
each stored file to its end. ``scrub_store`` checks every file in the store against its own
name, events or not. Both name each missing, altered or unreadable file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from activities.blobs.store import BlobCheck, BlobStore, InvalidHash


@dataclass(frozen=True)
class ExpectedFile:
    """A file as an event records it."""

    sha256: str
    size: int | None = None
    name: str | None = None


@dataclass
class FilesReport:
    checked: int = 0
    intact: int = 0
    problems: list[tuple[BlobCheck, tuple[str, ...]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "intact": self.intact,
            "problems": [
                {
                    "sha256": check.sha256,
                    "status": check.status,
                    "expected_size": check.expected_size,
                    "found_size": check.found_size,
                    "found_sha256": check.found_sha256,
                    "detail": check.detail,
                    "names": list(names),
                }
                for check, names in self.problems
            ],
        }


def _expected(items: Iterable[ExpectedFile | tuple[str, int | None]]) -> Iterator[ExpectedFile]:
    for item in items:
        yield item if isinstance(item, ExpectedFile) else ExpectedFile(item[0], item[1])


def verify_files(
    store: BlobStore, expected: Iterable[ExpectedFile | tuple[str, int | None]]
) -> FilesReport:
    """Check each distinct (hash, size) once; a problem lists every name it was recorded as."""
    names: dict[tuple[str, int | None], list[str]] = {}
    for item in _expected(expected):
        names.setdefault((item.sha256, item.size), [])
        if item.name and item.name not in names[(item.sha256, item.size)]:
            names[(item.sha256, item.size)].append(item.name)
    report = FilesReport()
    for (sha256, size), recorded_as in names.items():
        report.checked += 1
        try:
            check = store.verify(sha256, size)
        except InvalidHash:
            check = BlobCheck(sha256, "missing", size, detail="not a SHA-256: no file can match")
        if check.ok:
            report.intact += 1
        else:
            report.problems.append((check, tuple(recorded_as)))
    return report


def scrub_store(store: BlobStore) -> FilesReport:
    """Every stored file against its own name (its hash)."""
    report = FilesReport()
    for name in store.iter_hashes():
        report.checked += 1
        try:
            check = store.verify(name)
        except InvalidHash:
            check = BlobCheck(name, "altered", detail="a file whose name is not a SHA-256")
        if check.ok:
            report.intact += 1
        else:
            report.problems.append((check, ()))
    return report
