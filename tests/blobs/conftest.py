"""Blob stores for the tests: a directory, and a bucket on a real S3-protocol server process.

The S3 server is moto's standalone server (``moto_server``, from PyPI): an S3 *emulator*, the
best S3-protocol server that installs from a registry here (MinIO's server is not on one). It
speaks the S3 REST protocol over HTTP, so the minio client's requests, signatures, errors and
streaming are exercised for real; it does not prove the durability, consistency or conditional
write behaviour of a given S3 service (see README, "Evidence files").
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.blobs import BlobStore, DirectoryBlobStore
from activities.blobs.s3 import S3BlobStore, client_from_endpoint

ACCESS_KEY = "duban-test"
SECRET_KEY = "duban-test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not listen within 30 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_s3_store(
    endpoint: str, *, prefix: str = "duban/", spool_dir: Path | None = None
) -> S3BlobStore:
    client = client_from_endpoint(endpoint, ACCESS_KEY, SECRET_KEY, "us-east-1")
    bucket = f"evidence-{uuid.uuid4().hex[:12]}"
    client.make_bucket(bucket)
    return S3BlobStore(client, bucket, prefix=prefix, spool_dir=spool_dir)


@pytest.fixture()
def directory_store(tmp_path: Path) -> DirectoryBlobStore:
    return DirectoryBlobStore(tmp_path / "blobs")


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Every backend, for the tests of the contract all of them keep."""
    if request.param == "directory":
        return DirectoryBlobStore(tmp_path / "blobs")
    return make_s3_store(request.getfixturevalue("s3_endpoint"), spool_dir=tmp_path / "spool")


def tamper(store: BlobStore, sha256: str, data: bytes | None) -> None:
    """What someone with access to the storage could do behind duban's back: write other bytes
    under a stored hash (``data``), or remove the file (None)."""
    import io
    import os

    if isinstance(store, DirectoryBlobStore):
        path = store.path_of(sha256)
        if data is None:
            path.unlink()
        else:
            os.chmod(path, 0o644)
            path.write_bytes(data)
        return
    assert isinstance(store, S3BlobStore)
    key = store.key_of(sha256)
    if data is None:
        store.client.remove_object(store.bucket, key)
    else:
        store.client.put_object(store.bucket, key, io.BytesIO(data), len(data))


def stored_files(store: BlobStore) -> list[str]:
    """Everything the store holds, whatever its name: a refusal must leave this unchanged."""
    if isinstance(store, DirectoryBlobStore):
        if not store.root.exists():
            return []
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    assert isinstance(store, S3BlobStore)
    objects = store.client.list_objects(store.bucket, recursive=True)
    return sorted(o.object_name or "" for o in objects)
