"""Content-addressed file storage for evidence and thumbnails (issue 17, "Evidence files").

``open_blob_store(settings)`` builds the configured backend; ``accept_evidence`` checks and
stores an upload; ``thumbnail_for`` makes or reads a thumbnail; ``verify_files`` checks the
files events name. Nothing is built at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from activities.blobs.directory import DirectoryBlobStore
from activities.blobs.evidence import (
    EvidenceFile,
    EvidenceLimits,
    EvidenceRefused,
    accept_evidence,
    clean_file_name,
)
from activities.blobs.store import (
    BlobCheck,
    BlobConflict,
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    BlobTooLarge,
    InvalidHash,
    StoredBlob,
)
from activities.blobs.verify import ExpectedFile, FilesReport, scrub_store, verify_files

if TYPE_CHECKING:
    from activities.settings import Settings


def open_blob_store(settings: Settings) -> BlobStore:
    """The store the settings name: a directory (default) or an S3-compatible bucket."""
    if settings.blob_store == "s3":
        from activities.blobs.s3 import S3BlobStore, client_from_endpoint

        assert settings.blob_s3_endpoint and settings.blob_s3_bucket  # the settings check
        secret = settings.blob_s3_secret_key
        client = client_from_endpoint(
            settings.blob_s3_endpoint,
            settings.blob_s3_access_key,
            secret.get_secret_value() if secret else None,
            settings.blob_s3_region,
        )
        return S3BlobStore(client, settings.blob_s3_bucket, prefix=settings.blob_s3_prefix)
    return DirectoryBlobStore(settings.resolved_blob_dir)


__all__ = [
    "BlobCheck",
    "BlobConflict",
    "BlobNotFound",
    "BlobStore",
    "BlobStoreError",
    "BlobTooLarge",
    "DirectoryBlobStore",
    "EvidenceFile",
    "EvidenceLimits",
    "EvidenceRefused",
    "ExpectedFile",
    "FilesReport",
    "InvalidHash",
    "StoredBlob",
    "accept_evidence",
    "clean_file_name",
    "open_blob_store",
    "scrub_store",
    "verify_files",
]
