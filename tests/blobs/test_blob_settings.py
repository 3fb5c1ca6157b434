"""The evidence settings: read from DUBAN_* variables, refused with the rule when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from activities.blobs import EvidenceLimits, open_blob_store
from activities.blobs.filetypes import DEFAULT_ALLOWED_TYPES
from activities.settings import Settings


def test_the_defaults_allow_photos_pdf_word_and_excel_up_to_25_mib() -> None:
    settings = Settings()
    limits = EvidenceLimits.from_settings(settings)
    assert limits.max_bytes == 25 * 1024 * 1024
    assert limits.allowed_types == frozenset(DEFAULT_ALLOWED_TYPES)
    assert "text/plain" not in limits.allowed_types
    assert (settings.blob_store, settings.thumbnail_size) == ("directory", 256)


@pytest.mark.parametrize(
    "value",
    ["image/jpeg, application/pdf ,text/plain", '["image/jpeg", "application/pdf", "text/plain"]'],
)
def test_allowed_types_are_a_comma_separated_list_or_a_json_array(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DUBAN_EVIDENCE_ALLOWED_TYPES", value)
    assert Settings().evidence_allowed_types == ["image/jpeg", "application/pdf", "text/plain"]


@pytest.mark.parametrize("value", ["image/jpg", "application/octet-stream", ""])
def test_a_type_duban_cannot_recognise_from_bytes_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DUBAN_EVIDENCE_ALLOWED_TYPES", value)
    with pytest.raises(ValidationError, match="evidence_allowed_types"):
        Settings()


def test_an_s3_store_needs_its_endpoint_and_bucket(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="blob_s3_endpoint and blob_s3_bucket"):
        Settings(blob_store="s3", blob_s3_bucket="evidence")
    settings = Settings(
        blob_store="s3",
        blob_s3_endpoint="https://oss-cn-hangzhou.aliyuncs.com",
        blob_s3_bucket="evidence",
        blob_s3_prefix="duban",
        blob_s3_access_key="k",
        blob_s3_secret_key="s",
    )
    store = open_blob_store(settings)
    assert repr(store) == "S3BlobStore(bucket='evidence', prefix='duban/')"


@pytest.mark.parametrize("endpoint", ["minio:9000", "http://minio:9000/evidence", "ftp://x"])
def test_an_s3_endpoint_is_an_http_url_without_a_path(endpoint: str) -> None:
    with pytest.raises(ValidationError, match="blob_s3_endpoint"):
        Settings(blob_store="s3", blob_s3_endpoint=endpoint, blob_s3_bucket="evidence")
