"""Evidence uploads: the type read from the bytes, size limits, names that are only names, and a
refusal that stores nothing."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from activities.blobs import (
    BlobStore,
    DirectoryBlobStore,
    EvidenceLimits,
    EvidenceRefused,
    accept_evidence,
    clean_file_name,
)
from activities.blobs.filetypes import DOCX, XLSX, detect_bytes
from tests.blobs import samples
from tests.blobs.conftest import stored_files

LIMITS = EvidenceLimits()


@pytest.mark.parametrize(
    ("make", "name", "media_type"),
    [
        (samples.jpeg, "现场照片.jpg", "image/jpeg"),
        (samples.png, "配电箱.png", "image/png"),
        (samples.webp, "patrol.webp", "image/webp"),
        (samples.heic, "IMG_0001.HEIC", "image/heic"),
        (samples.pdf, "整改报告.pdf", "application/pdf"),
        (samples.docx, "治理方案.docx", DOCX),
        (samples.xlsx, "隐患台账.xlsx", XLSX),
    ],
)
def test_each_allowed_kind_is_accepted_as_what_its_bytes_are(
    store: BlobStore, make: Callable[[], bytes], name: str, media_type: str
) -> None:
    data = make()
    accepted = accept_evidence(store, io.BytesIO(data), name=name, limits=LIMITS)
    assert (accepted.media_type, accepted.size, accepted.name) == (media_type, len(data), name)
    assert store.get(accepted.sha256) == data  # kept as uploaded, metadata and all
    assert accepted.as_event_data() == {
        "sha256": accepted.sha256,
        "size": len(data),
        "media_type": media_type,
        "name": name,
    }


def test_a_file_whose_name_lies_is_recorded_as_what_its_bytes_are(
    directory_store: DirectoryBlobStore,
) -> None:
    accepted = accept_evidence(directory_store, samples.png(), name="photo.jpg", limits=LIMITS)
    assert accepted.media_type == "image/png"
    assert accepted.name == "photo.jpg"  # shown as given; the type is the bytes'


@pytest.mark.parametrize(
    ("make", "name", "detected", "says"),
    [
        (
            samples.windows_exe,
            "整改报告.pdf",
            "application/vnd.microsoft.portable-executable",
            "Windows executable",
        ),
        (samples.text, "photo.jpg", "text/plain", "plain text"),
        (
            samples.docm,
            "方案.docx",
            "application/vnd.ms-word.document.macroEnabled.12",
            "macro-enabled Word",
        ),
        (samples.legacy_doc, "方案.docx", "application/x-ole-storage", "save it as .docx"),
        (samples.plain_zip, "photos.xlsx", "application/zip", "zip archive"),
        (
            lambda: b"\x00\x01\x02 not a known file",
            "x.png",
            "application/octet-stream",
            "unrecognised",
        ),
    ],
)
def test_a_type_not_allowed_is_refused_whatever_the_name_and_nothing_is_stored(
    store: BlobStore, make: Callable[[], bytes], name: str, detected: str, says: str
) -> None:
    store.put(b"an earlier file")
    before = stored_files(store)
    with pytest.raises(EvidenceRefused) as refused:
        accept_evidence(store, make(), name=name, limits=LIMITS, field="evidence.0.file")
    error = refused.value
    assert (error.status, error.rule, error.field) == (
        422,
        "evidence.type_not_allowed",
        "evidence.0.file",
    )
    assert detected in error.message and says in error.message
    assert "可上传" in error.message_zh
    assert stored_files(store) == before


def test_the_clients_content_type_is_not_an_input() -> None:
    """There is no parameter to pass one: the bytes alone decide (a lying multipart
    Content-Type has nowhere to go)."""
    import inspect

    assert set(inspect.signature(accept_evidence).parameters) == {
        "store",
        "source",
        "name",
        "limits",
        "field",
    }


def test_plain_text_is_accepted_when_the_settings_allow_it(
    directory_store: DirectoryBlobStore,
) -> None:
    limits = EvidenceLimits(allowed_types=frozenset({"text/plain"}))
    accepted = accept_evidence(directory_store, samples.text(), name="记录.txt", limits=limits)
    assert accepted.media_type == "text/plain"
    with pytest.raises(EvidenceRefused):  # a NUL makes it binary, not text
        accept_evidence(directory_store, b"abc\x00def", name="x.txt", limits=limits)


def test_an_oversized_file_is_refused_413_unread_past_the_limit_and_nothing_stored(
    store: BlobStore,
) -> None:
    limits = EvidenceLimits(max_bytes=100_000)
    store.put(samples.jpeg())
    before = stored_files(store)
    big = io.BytesIO(samples.jpeg() + b"\x00" * 2_000_000)
    with pytest.raises(EvidenceRefused) as refused:
        accept_evidence(store, big, name="big.jpg", limits=limits, field="file")
    assert (refused.value.status, refused.value.rule, refused.value.field) == (
        413,
        "evidence.too_large",
        "file",
    )
    assert big.tell() <= 100_000 + 1024 * 1024  # stopped reading at the chunk past the limit
    assert stored_files(store) == before


def test_an_empty_file_is_refused(directory_store: DirectoryBlobStore) -> None:
    with pytest.raises(EvidenceRefused) as refused:
        accept_evidence(directory_store, b"", name="empty.jpg", limits=LIMITS)
    assert (refused.value.status, refused.value.rule) == (422, "evidence.empty")
    assert stored_files(directory_store) == []


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("/var/lib/duban/blobs/sha256/x.jpg", "x.jpg"),
        ("C:\\Users\\张三\\Desktop\\照片.jpg", "照片.jpg"),
        ("..\\..\\windows\\system32\\evil.jpg", "evil.jpg"),
        ("photo.jpg/", "photo.jpg"),
        ("  现场 照片 (1).jpg  ", "现场 照片 (1).jpg"),
        ("e\u0301.jpg", "\u00e9.jpg"),  # NFC
    ],
)
def test_a_path_in_a_name_keeps_only_its_last_part_and_never_becomes_a_path(
    directory_store: DirectoryBlobStore, given: str, shown: str
) -> None:
    accepted = accept_evidence(directory_store, samples.jpeg(), name=given, limits=LIMITS)
    assert accepted.name == shown
    h = accepted.sha256
    assert stored_files(directory_store) == [f"sha256/{h[:2]}/{h[2:4]}/{h}"]
    assert not (directory_store.root.parent / "etc").exists()


@pytest.mark.parametrize("given", [None, "", "..", ".", "/", "\\", "../"])
def test_a_name_with_nothing_left_is_shown_as_the_hash_and_the_types_extension(
    directory_store: DirectoryBlobStore, given: str | None
) -> None:
    accepted = accept_evidence(directory_store, samples.pdf(), name=given, limits=LIMITS)
    assert accepted.name == f"{accepted.sha256[:12]}.pdf"


@pytest.mark.parametrize(
    ("given", "rule"),
    [
        ("photo\x00.jpg", "evidence.name_invalid"),
        ("photo\n.jpg", "evidence.name_invalid"),
        ("gpj\u202e.exe", "evidence.name_invalid"),
        ("bad\ud800.jpg", "evidence.name_invalid"),
        ("a" * 252 + ".jpg", "evidence.name_too_long"),
    ],
)
def test_a_name_with_control_characters_or_too_long_is_refused_and_nothing_stored(
    directory_store: DirectoryBlobStore, given: str, rule: str
) -> None:
    with pytest.raises(EvidenceRefused) as refused:
        accept_evidence(directory_store, samples.jpeg(), name=given, limits=LIMITS, field="f")
    assert (refused.value.status, refused.value.rule, refused.value.field) == (422, rule, "f.name")
    assert stored_files(directory_store) == []


def test_a_name_of_255_characters_is_kept() -> None:
    assert clean_file_name("照" * 251 + ".jpg") == "照" * 251 + ".jpg"


def test_the_same_bytes_under_two_names_are_one_file_and_two_records(
    directory_store: DirectoryBlobStore,
) -> None:
    first = accept_evidence(directory_store, samples.jpeg(), name="before.jpg", limits=LIMITS)
    second = accept_evidence(directory_store, samples.jpeg(), name="again.jpg", limits=LIMITS)
    assert first.sha256 == second.sha256
    assert (first.name, second.name) == ("before.jpg", "again.jpg")
    assert len(stored_files(directory_store)) == 1


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        # an iPhone-style HEIC whose major brand is the generic mif1, heic among compatibles
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic" + b"\x00" * 40, "image/heic"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 40, "image/avif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 40, "video/mp4"),
        (b"\xef\xbb\xbf junk from a scanner\r\n%PDF-1.7\n" + b"\x00" * 40, "application/pdf"),
        (b"GIF89a" + b"\x00" * 60, "image/gif"),
    ],
)
def test_detection_reads_brands_and_magic_numbers(head: bytes, media_type: str) -> None:
    assert detect_bytes(head) == media_type
