"""The blob store for a cluster: a bucket on an S3-compatible service (MinIO, Ceph RGW, AWS S3,
Aliyun OSS, Tencent COS, Huawei OBS…), through the ``minio`` client.

Keys: ``<prefix>sha256/<hash>`` for files, ``<prefix>derived/<kind>/<hash>`` for thumbnails.
Each object carries its SHA-256 as user metadata (``x-amz-meta-sha256``).

Never overwriting: a put first asks whether the key exists (HEAD) and writes only when it does
not. The minio client has no public way to send ``If-None-Match: *`` with a PutObject, so two
puts racing on the *same new hash* may both write; both write the same bytes (the key is the
hash of what each of them received and checked), so the object ends as those bytes. An
object already stored is never written again: when it no longer hashes to its key, the bytes
just received are kept under ``<prefix>conflicts/<hash>.<uuid>`` and :class:`BlobConflict`
is raised. For a guarantee that holds against any writer, turn on the bucket's versioning
or Object Lock and give duban's credentials no ``s3:DeleteObject`` (deploy/README.md).
"""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from minio import Minio
from minio.error import S3Error

from activities.blobs.store import (
    BlobConflict,
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    Incoming,
    check_derived_kind,
    check_sha256,
)

_ABSENT = ("NoSuchKey", "NoSuchObject", "ResourceNotFound")


class _ResponseReader(io.RawIOBase):
    """A GET's body as a file; closing it returns the connection to the pool."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._response.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def client_from_endpoint(
    endpoint: str, access_key: str | None, secret_key: str | None, region: str | None
) -> Minio:
    """``endpoint`` is a URL: ``https://oss-cn-hangzhou.aliyuncs.com``, ``http://minio:9000``."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(
            f"blob_s3_endpoint: an http:// or https:// URL with no path, not {endpoint!r}"
        )
    return Minio(
        parts.netloc,
        access_key=access_key,
        secret_key=secret_key,
        secure=parts.scheme == "https",
        region=region,
    )


class S3BlobStore(BlobStore):
    def __init__(
        self, client: Minio, bucket: str, *, prefix: str = "", spool_dir: Path | None = None
    ) -> None:
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self._spool = spool_dir or Path(tempfile.gettempdir()) / "duban-blobs-incoming"

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def key_of(self, sha256: str) -> str:
        return f"{self.prefix}sha256/{check_sha256(sha256)}"

    def _derived_key(self, kind: str, source_sha256: str) -> str:
        return f"{self.prefix}derived/{check_derived_kind(kind)}/{check_sha256(source_sha256)}"

    def _spool_dir(self) -> Path:
        return self._spool

    def _key_exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _ABSENT:
                return False
            raise
        return True

    def _upload(self, key: str, incoming: Incoming, media_type: str) -> None:
        with incoming.path.open("rb") as data:
            self.client.put_object(
                self.bucket,
                key,
                data,
                incoming.size,
                content_type=media_type,
                metadata={"sha256": incoming.sha256},
            )

    def _commit(self, incoming: Incoming, media_type: str) -> None:
        key = self.key_of(incoming.sha256)
        if not self._key_exists(key):
            self._upload(key, incoming, media_type)
            return
        check = self.verify(incoming.sha256)
        if check.status == "intact":
            return
        kept = f"{self.prefix}conflicts/{incoming.sha256}.{uuid.uuid4().hex}"
        self._upload(kept, incoming, media_type)
        raise BlobConflict(incoming.sha256, f"s3://{self.bucket}/{kept}")

    def put_derived(self, kind: str, source_sha256: str, data: bytes) -> None:
        key = self._derived_key(kind, source_sha256)
        if self._key_exists(key):
            return
        self.client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), content_type="image/jpeg"
        )

    def _get(self, key: str) -> BinaryIO | None:
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _ABSENT:
                return None
            raise
        return io.BufferedReader(_ResponseReader(response))

    def open(self, sha256: str) -> BinaryIO:
        stream = self._get(self.key_of(sha256))
        if stream is None:
            raise BlobNotFound(sha256)
        return stream

    def exists(self, sha256: str) -> bool:
        return self._key_exists(self.key_of(sha256))

    def get_derived(self, kind: str, source_sha256: str) -> bytes | None:
        stream = self._get(self._derived_key(kind, source_sha256))
        if stream is None:
            return None
        with stream:
            return stream.read()

    def iter_hashes(self) -> Iterator[str]:
        start = f"{self.prefix}sha256/"
        for obj in self.client.list_objects(self.bucket, prefix=start, recursive=True):
            name = obj.object_name or ""
            yield name[len(start) :]

    def check_bucket(self) -> None:
        """Fail early, naming the bucket, when it is not there (duban does not create it)."""
        if not self.client.bucket_exists(self.bucket):
            raise BlobStoreError(f"the bucket {self.bucket!r} does not exist; create it first")
