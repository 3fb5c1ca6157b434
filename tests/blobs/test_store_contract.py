"""What every blob store keeps, run against each backend: a directory and an S3 bucket (on
moto's S3 server, an emulator: see conftest)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from activities.blobs import (
    BlobConflict,
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    InvalidHash,
    scrub_store,
)
from tests.blobs import samples
from tests.blobs.conftest import stored_files, tamper


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_put_answers_the_hash_size_and_type_read_from_the_bytes(store: BlobStore) -> None:
    data = samples.png()
    stored = store.put(data)
    assert (stored.sha256, stored.size, stored.media_type) == (sha(data), len(data), "image/png")
    assert store.exists(stored.sha256)
    assert store.get(stored.sha256) == data


def test_the_same_bytes_put_twice_are_stored_once(store: BlobStore) -> None:
    data = samples.jpeg()
    first = store.put(data)
    before = stored_files(store)
    second = store.put(io.BytesIO(data))
    assert first == second
    assert stored_files(store) == before
    assert len([f for f in before if first.sha256 in f]) == 1


def test_a_stream_and_chunks_are_stored_as_their_bytes(store: BlobStore) -> None:
    data = bytes(range(256)) * 9000  # 2.3 MB: several read chunks
    from_stream = store.put(io.BytesIO(data))
    chunks = [data[i : i + 70_000] for i in range(0, len(data), 70_000)]
    from_chunks = store.put(iter(chunks))
    assert from_stream.sha256 == from_chunks.sha256 == sha(data)
    assert from_stream.media_type == "application/octet-stream"
    with store.open(from_stream.sha256) as stream:
        assert stream.read() == data


def test_a_put_over_the_limit_stops_reading_and_stores_nothing(store: BlobStore) -> None:
    store.put(b"already here")
    before = stored_files(store)
    read: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            read.append(64 * 1024)
            yield b"x" * 64 * 1024

    with pytest.raises(BlobTooLarge) as refused:
        store.put(endless(), max_bytes=1024 * 1024)
    assert refused.value.limit == 1024 * 1024
    assert sum(read) <= 1024 * 1024 + 64 * 1024  # stopped at the chunk that passed the limit
    assert stored_files(store) == before


def test_a_put_of_exactly_the_limit_is_stored(store: BlobStore) -> None:
    data = b"y" * 4096
    assert store.put(data, max_bytes=4096).size == 4096


def test_verify_says_intact_missing_or_altered(store: BlobStore) -> None:
    kept = store.put(samples.jpeg())
    altered = store.put(samples.png())
    removed = store.put(samples.webp())
    tamper(store, altered.sha256, samples.png()[:-1] + b"\x00")
    tamper(store, removed.sha256, None)

    assert store.verify(kept.sha256, kept.size).status == "intact"
    changed = store.verify(altered.sha256, altered.size)
    assert changed.status == "altered"
    assert changed.found_sha256 != altered.sha256
    assert store.verify(removed.sha256, removed.size).status == "missing"
    assert not store.exists(removed.sha256)
    with pytest.raises(BlobNotFound):
        store.open(removed.sha256)


def test_verify_reports_a_size_other_than_the_recorded_one(store: BlobStore) -> None:
    stored = store.put(b"twelve bytes")
    check = store.verify(stored.sha256, 13)
    assert (check.status, check.expected_size, check.found_size) == ("altered", 13, 12)


def test_an_altered_file_is_never_overwritten_and_the_bytes_received_are_kept(
    store: BlobStore,
) -> None:
    data = samples.jpeg()
    stored = store.put(data)
    tamper(store, stored.sha256, b"not the photo")
    with pytest.raises(BlobConflict) as conflict:
        store.put(data)
    assert store.verify(stored.sha256).status == "altered"  # left as found: the evidence
    assert stored.sha256 in conflict.value.kept_at
    kept = [f for f in stored_files(store) if "conflicts" in f]
    assert len(kept) == 1 and stored.sha256 in kept[0]


def test_a_hash_that_is_not_one_never_reaches_a_path_or_key(store: BlobStore) -> None:
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63, "/" + "0" * 63, "0" * 64 + "/.."):
        with pytest.raises(InvalidHash):
            store.open(bad)
        with pytest.raises(InvalidHash):
            store.exists(bad)


def test_concurrent_puts_of_the_same_bytes_leave_one_intact_file(store: BlobStore) -> None:
    data = bytes(range(256)) * 8000  # 2 MB
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: store.put(data), range(8)))
    assert {r.sha256 for r in results} == {sha(data)}
    assert [f for f in stored_files(store) if sha(data) in f and "conflicts" not in f]
    assert not [f for f in stored_files(store) if "conflicts" in f or "incoming" in f]
    assert store.verify(sha(data), len(data)).status == "intact"


def test_a_derived_file_is_written_once(store: BlobStore) -> None:
    source = store.put(samples.jpeg())
    assert store.get_derived("thumbnail-256.jpg", source.sha256) is None
    store.put_derived("thumbnail-256.jpg", source.sha256, b"first")
    store.put_derived("thumbnail-256.jpg", source.sha256, b"second")
    assert store.get_derived("thumbnail-256.jpg", source.sha256) == b"first"
    with pytest.raises(ValueError):
        store.put_derived("../escape", source.sha256, b"x")


def test_a_scrub_names_every_stored_file_that_does_not_hash_to_its_name(store: BlobStore) -> None:
    good = store.put(samples.jpeg())
    bad = store.put(samples.png())
    tamper(store, bad.sha256, b"swapped")
    report = scrub_store(store)
    assert (report.checked, report.intact) == (2, 1)
    assert [(c.sha256, c.status) for c, _ in report.problems] == [(bad.sha256, "altered")]
    assert good.sha256 not in {c.sha256 for c, _ in report.problems}
