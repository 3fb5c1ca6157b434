"""Thumbnails for the console: a small JPEG of a photo or of a PDF's first page.

- Made once per (source hash, size) and kept in the blob store as a derived file
  (``thumbnail-<size>.jpg``); the stored original is never touched.
- The type is read from the stored bytes again (not taken from a caller).
- EXIF orientation is applied to the thumbnail only; the thumbnail carries no metadata (a
  photo's EXIF, GPS included, stays in the original alone).
- Decompression bombs: the image's dimensions are read from its header and checked against
  ``thumbnail_max_pixels`` before any pixel is decoded (a JPEG is first drafted at the
  smallest DCT scale that still covers the thumbnail, so a 200-megapixel phone photo costs
  1/64 of its pixels); Pillow's own MAX_IMAGE_PIXELS warning is an error here. A PDF page is
  rendered straight at the thumbnail's size, whatever the page's dimensions.
- HEIC through pi-heif (decoder only); PDF through pypdfium2 under the process's PDFium lock.
- Word and Excel files get no thumbnail (:class:`ThumbnailUnavailable`): the console shows an
  icon for the type.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from activities.blobs.filetypes import detect_bytes
from activities.blobs.store import BlobStore, check_sha256
from activities.pdfium import PDFIUM_LOCK

THUMBNAIL_MEDIA_TYPE = "image/jpeg"
DEFAULT_SIZE = 256
DEFAULT_MAX_PIXELS = 50_000_000  # a 48 MP phone photo decodes; ~200 MB of RGBA at most
JPEG_QUALITY = 80
# Pillow's format name for each type: Image.open is told which decoder it may use, so a file
# is never handed to a decoder for some other format.
_PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
}
THUMBNAIL_TYPES = frozenset({*_PILLOW_FORMATS, "application/pdf"})


class ThumbnailUnavailable(Exception):
    """No thumbnail for this file; ``reason`` says why (the console shows the type's icon)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    media_type: str = THUMBNAIL_MEDIA_TYPE


def derived_kind(size: int) -> str:
    return f"thumbnail-{size}.jpg"


_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pi_heif

        pi_heif.register_heif_opener()
        _heif_registered = True


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: a transparent PNG's background is white, as on paper."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _encode(rgb: Image.Image) -> bytes:
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=JPEG_QUALITY)  # no exif=: no metadata
    return out.getvalue()


def _image_thumbnail(data: bytes, media_type: str, size: int, max_pixels: int) -> bytes:
    if media_type == "image/heic":
        _register_heif()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            source = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[media_type]])
            if source.format == "JPEG":
                source.draft("RGB", (size, size))  # decode at 1/2, 1/4 or 1/8 when enough
            width, height = source.size
            if width * height > max_pixels:
                raise ThumbnailUnavailable(
                    "thumbnail.too_many_pixels",
                    f"{width}×{height} pixels is over the limit of {max_pixels}",
                )
            source.thumbnail((size, size))  # a small image is not loaded by this: _flatten does
            image = _flatten(ImageOps.exif_transpose(source))
        except ThumbnailUnavailable:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ThumbnailUnavailable("thumbnail.too_many_pixels", str(exc)) from exc
        # What Pillow and libheif raise on a damaged file (Pillow's plugins vary).
        except (
            OSError,
            ValueError,
            SyntaxError,
            EOFError,
            RuntimeError,
            struct.error,
            IndexError,
        ) as exc:
            raise ThumbnailUnavailable(
                "thumbnail.undecodable", f"the image cannot be decoded: {exc}"
            ) from exc
    return _encode(image)


def _pdf_thumbnail(data: bytes, size: int) -> bytes:
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:  # damaged, or needs a password
            raise ThumbnailUnavailable(
                "thumbnail.undecodable", f"the PDF cannot be opened: {exc}"
            ) from exc
        try:
            if len(pdf) == 0:
                raise ThumbnailUnavailable("thumbnail.undecodable", "the PDF has no page")
            page = pdf[0]
            try:
                width, height = page.get_size()
                if width <= 0 or height <= 0:
                    raise ThumbnailUnavailable("thumbnail.undecodable", "the page has no area")
                bitmap = page.render(scale=size / max(width, height), may_draw_forms=False)
                try:
                    image = bitmap.to_pil().copy()  # to_pil may share the bitmap's memory
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            pdf.close()
    image.thumbnail((size, size))
    return _encode(_flatten(image))


def render_thumbnail(
    data: bytes, *, size: int = DEFAULT_SIZE, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Thumbnail:
    """A JPEG at most ``size`` pixels on its longer side, or :class:`ThumbnailUnavailable`."""
    media_type = detect_bytes(data)
    if media_type == "application/pdf":
        return Thumbnail(_pdf_thumbnail(data, size))
    if media_type in _PILLOW_FORMATS:
        return Thumbnail(_image_thumbnail(data, media_type, size, max_pixels))
    raise ThumbnailUnavailable(
        "thumbnail.type_unsupported", f"no thumbnail for {media_type or 'this type'}"
    )


def thumbnail_for(
    store: BlobStore,
    sha256: str,
    *,
    size: int = DEFAULT_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Thumbnail:
    """The stored file's thumbnail: made on first asking, kept, and read back after.

    Blocking I/O and CPU: call it from a thread. Raises ``BlobNotFound`` for an unknown hash,
    :class:`ThumbnailUnavailable` for a file without one (not kept: a later Pillow may do it).
    """
    check_sha256(sha256)
    kind = derived_kind(size)
    kept = store.get_derived(kind, sha256)
    if kept is not None:
        return Thumbnail(kept)
    thumbnail = render_thumbnail(store.get(sha256), size=size, max_pixels=max_pixels)
    store.put_derived(kind, sha256, thumbnail.data)
    return thumbnail
