"""The directory store's own promises: layout, read-only files, atomic write-once links, and
processes racing on the same bytes."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from activities.blobs import DirectoryBlobStore, open_blob_store
from activities.settings import Settings
from tests.blobs import samples
from tests.blobs.conftest import stored_files


def test_a_file_is_fanned_out_by_its_hash_and_read_only(
    directory_store: DirectoryBlobStore,
) -> None:
    data = samples.jpeg()
    stored = directory_store.put(data)
    h = stored.sha256
    path = directory_store.root / "sha256" / h[:2] / h[2:4] / h
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert stored_files(directory_store) == [f"sha256/{h[:2]}/{h[2:4]}/{h}"]


def test_nothing_is_left_in_incoming_after_a_put_or_a_refusal(
    directory_store: DirectoryBlobStore,
) -> None:
    directory_store.put(samples.png())
    with pytest.raises(Exception):  # noqa: B017 - any refusal
        directory_store.put(b"z" * 2048, max_bytes=1024)
    assert list((directory_store.root / ".incoming").iterdir()) == []


def test_a_stream_that_fails_midway_stores_nothing(directory_store: DirectoryBlobStore) -> None:
    def broken():
        yield b"half a photo"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        directory_store.put(broken())
    assert stored_files(directory_store) == []


def test_the_store_lives_under_the_data_directory_by_default(tmp_path: Path) -> None:
    store = open_blob_store(Settings(data_dir=tmp_path / "data"))
    assert isinstance(store, DirectoryBlobStore)
    assert store.root == tmp_path / "data" / "blobs"
    other = open_blob_store(Settings(data_dir=tmp_path / "data", blob_dir=tmp_path / "elsewhere"))
    assert isinstance(other, DirectoryBlobStore) and other.root == tmp_path / "elsewhere"


def _put_in_a_process(root: str, data: bytes, barrier: multiprocessing.synchronize.Barrier) -> str:
    barrier.wait()
    return DirectoryBlobStore(Path(root)).put(data).sha256


def _worker(root: str, data: bytes, barrier, results) -> None:  # type: ignore[no-untyped-def]
    results.put(_put_in_a_process(root, data, barrier))


def test_processes_putting_the_same_bytes_at_once_leave_one_intact_file(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(str(tmp_path / "blobs"), data, barrier, results))
        for _ in range(4)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    hashes = {results.get(timeout=5) for _ in processes}
    expected = hashlib.sha256(data).hexdigest()
    assert hashes == {expected}
    store = DirectoryBlobStore(tmp_path / "blobs")
    assert stored_files(store) == [f"sha256/{expected[:2]}/{expected[2:4]}/{expected}"]
    assert store.verify(expected, len(data)).status == "intact"
