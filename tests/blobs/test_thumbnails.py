"""Thumbnails of each image kind and of a PDF's first page: small, upright, without metadata,
made once, and never at the cost of decoding a bomb."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from activities.blobs import BlobNotFound, BlobStore, DirectoryBlobStore
from activities.blobs.thumbnails import (
    ThumbnailUnavailable,
    derived_kind,
    render_thumbnail,
    thumbnail_for,
)
from tests.blobs import samples


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.convert("RGB")


def _reddish(pixel: tuple[int, ...]) -> bool:
    r, g, b = pixel[:3]
    return r > 150 and g < 90 and b < 90


def _bluish(pixel: tuple[int, ...]) -> bool:
    r, g, b = pixel[:3]
    return b > 150 and r < 90 and g < 90


@pytest.mark.parametrize(
    "make",
    [samples.jpeg, samples.png, samples.webp, samples.heic, samples.pdf],
    ids=["jpeg", "png", "webp", "heic", "pdf"],
)
def test_each_image_kind_and_a_pdf_get_a_small_jpeg_that_shows_them(
    make: Callable[[], bytes],
) -> None:
    thumbnail = render_thumbnail(make(), size=32)
    assert thumbnail.media_type == "image/jpeg"
    image = _open(thumbnail.data)
    width, height = image.size
    assert max(width, height) <= 32 and width > height  # landscape stays landscape
    assert _reddish(image.getpixel((2, height // 2)))  # left half red
    assert _bluish(image.getpixel((width - 3, height // 2)))  # right half blue


def test_a_large_photo_is_shrunk_to_the_size_asked() -> None:
    image = _open(render_thumbnail(samples.jpeg(1600, 1200), size=256).data)
    assert image.size == (256, 192)


def test_exif_orientation_turns_the_thumbnail_and_leaves_the_original_untouched(
    directory_store: DirectoryBlobStore,
) -> None:
    # Orientation 6: the camera was turned; the picture is shown turned 90° clockwise, so the
    # stored image's left half (red) is the top of the picture.
    original = samples.jpeg(60, 40, orientation=6)
    stored = directory_store.put(original)
    image = _open(thumbnail_for(directory_store, stored.sha256, size=32).data)
    width, height = image.size
    assert height > width
    assert _reddish(image.getpixel((width // 2, 2)))
    assert _bluish(image.getpixel((width // 2, height - 3)))
    assert directory_store.get(stored.sha256) == original
    assert hashlib.sha256(directory_store.get(stored.sha256)).hexdigest() == stored.sha256
    assert Image.open(io.BytesIO(original)).getexif()[0x0112] == 6


def test_a_turned_heic_is_shown_upright_once_not_turned_twice() -> None:
    image = _open(render_thumbnail(samples.heic_turned(), size=32).data)
    width, height = image.size
    assert height > width
    assert _reddish(image.getpixel((width // 2, 2)))
    assert _bluish(image.getpixel((width // 2, height - 3)))


def test_a_thumbnail_carries_no_metadata_of_the_photo() -> None:
    thumbnail = render_thumbnail(samples.jpeg(60, 40, orientation=6), size=32)
    image = Image.open(io.BytesIO(thumbnail.data))
    assert not image.getexif()
    assert b"duban test camera" not in thumbnail.data


def test_transparency_is_shown_on_white() -> None:
    image = _open(render_thumbnail(samples.png_with_alpha(), size=60).data)
    assert all(c > 230 for c in image.getpixel((1, 1)))


def test_a_thumbnail_is_made_once_and_kept_by_source_hash_and_size(store: BlobStore) -> None:
    stored = store.put(samples.png())
    assert store.get_derived(derived_kind(64), stored.sha256) is None
    first = thumbnail_for(store, stored.sha256, size=64)
    assert store.get_derived(derived_kind(64), stored.sha256) == first.data
    store.put_derived(derived_kind(128), stored.sha256, b"kept, not remade")
    assert thumbnail_for(store, stored.sha256, size=128).data == b"kept, not remade"
    assert thumbnail_for(store, stored.sha256, size=64).data == first.data


def test_a_thumbnail_of_an_unknown_hash_is_not_found(directory_store: DirectoryBlobStore) -> None:
    with pytest.raises(BlobNotFound):
        thumbnail_for(directory_store, "0" * 64)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (samples.docx, "thumbnail.type_unsupported"),
        (samples.xlsx, "thumbnail.type_unsupported"),
        (lambda: samples.jpeg()[:200] + b"\x00" * 50, "thumbnail.undecodable"),
        (lambda: b"%PDF-1.7\n1 0 obj garbage\n%%EOF", "thumbnail.undecodable"),
    ],
    ids=["docx", "xlsx", "truncated-jpeg", "broken-pdf"],
)
def test_files_without_a_thumbnail_say_why(
    directory_store: DirectoryBlobStore, make: Callable[[], bytes], reason: str
) -> None:
    stored = directory_store.put(make())
    with pytest.raises(ThumbnailUnavailable) as unavailable:
        thumbnail_for(directory_store, stored.sha256)
    assert unavailable.value.reason == reason
    assert directory_store.get_derived(derived_kind(256), stored.sha256) is None


@pytest.mark.parametrize(
    ("width", "height"),
    [(8000, 8000), (30000, 30000)],
    ids=["over-duban-limit", "over-pillow-bomb-limit"],
)
def test_a_decompression_bomb_is_refused_from_its_header_before_decoding(
    width: int, height: int
) -> None:
    bomb = samples.png_header_only(width, height)
    assert len(bomb) < 200  # decoding it would allocate width × height × 3 bytes
    with pytest.raises(ThumbnailUnavailable) as unavailable:
        render_thumbnail(bomb, max_pixels=50_000_000)
    assert unavailable.value.reason == "thumbnail.too_many_pixels"


def test_a_huge_jpeg_is_drafted_at_a_smaller_scale_so_its_pixels_fit_the_limit() -> None:
    photo = samples.jpeg(4000, 3000)  # 12 MP; drafted at 1/8: 500 × 375
    image = _open(render_thumbnail(photo, size=256, max_pixels=1_000_000).data)
    assert image.size == (256, 192)
    with pytest.raises(ThumbnailUnavailable):  # a PNG of the same size has no draft
        render_thumbnail(samples.encode(samples.red_blue(4000, 3000), "PNG"), max_pixels=1_000_000)


def test_pdf_thumbnails_made_from_many_threads_at_once_all_come_out() -> None:
    """PDFium is not thread-safe: the process-wide lock serialises it."""
    pdfs = [samples.encode(samples.red_blue(300 + i, 200), "PDF") for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        thumbnails = list(pool.map(lambda d: render_thumbnail(d, size=48), pdfs))
    assert all(_open(t.data).size[0] == 48 for t in thumbnails)
