"""What a file is, read from its bytes: never from its name's extension nor a client's
``Content-Type`` (both are whatever the sender typed).

Magic numbers for images and PDF; for a zip container the central directory (read without
decompressing anything, so a zip bomb costs nothing) and the main part's content type in
``[Content_Types].xml`` (read with a cap), which tells a Word document from a macro-enabled
one. Types duban refuses are recognised too, so that a refusal can say what the file is and
what to do (a legacy ``.doc``: save it as ``.docx`` or PDF).
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

OCTET_STREAM = "application/octet-stream"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOCM = "application/vnd.ms-word.document.macroEnabled.12"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
LEGACY_OFFICE = "application/x-ole-storage"


@dataclass(frozen=True)
class Kind:
    label_zh: str
    label_en: str
    extension: str


KINDS: dict[str, Kind] = {
    "image/jpeg": Kind("JPEG 图片", "JPEG image", "jpg"),
    "image/png": Kind("PNG 图片", "PNG image", "png"),
    "image/webp": Kind("WebP 图片", "WebP image", "webp"),
    "image/heic": Kind("HEIC 图片（手机照片）", "HEIC image (phone photo)", "heic"),
    "image/heif": Kind("HEIF 图片", "HEIF image", "heif"),
    "image/avif": Kind("AVIF 图片", "AVIF image", "avif"),
    "image/gif": Kind("GIF 图片", "GIF image", "gif"),
    "image/tiff": Kind("TIFF 图片", "TIFF image", "tiff"),
    "application/pdf": Kind("PDF 文档", "PDF document", "pdf"),
    DOCX: Kind("Word 文档（.docx）", "Word document (.docx)", "docx"),
    XLSX: Kind("Excel 表格（.xlsx）", "Excel workbook (.xlsx)", "xlsx"),
    PPTX: Kind("PowerPoint 演示文稿（.pptx）", "PowerPoint presentation (.pptx)", "pptx"),
    DOCM: Kind("含宏的 Word 文档（.docm）", "macro-enabled Word document (.docm)", "docm"),
    XLSM: Kind("含宏的 Excel 表格（.xlsm）", "macro-enabled Excel workbook (.xlsm)", "xlsm"),
    LEGACY_OFFICE: Kind(
        "旧版 Office 文件（.doc/.xls/.ppt，请另存为 .docx/.xlsx 或 PDF）",
        "legacy Office file (.doc/.xls/.ppt; save it as .docx/.xlsx or PDF)",
        "doc",
    ),
    "text/plain": Kind("纯文本（UTF-8）", "plain text (UTF-8)", "txt"),
    "application/zip": Kind("ZIP 压缩包", "zip archive", "zip"),
    "application/vnd.rar": Kind("RAR 压缩包", "RAR archive", "rar"),
    "application/x-7z-compressed": Kind("7z 压缩包", "7z archive", "7z"),
    "application/gzip": Kind("gzip 压缩文件", "gzip file", "gz"),
    "video/mp4": Kind("MP4 视频", "MP4 video", "mp4"),
    "video/quicktime": Kind("QuickTime 视频", "QuickTime video", "mov"),
    "application/vnd.microsoft.portable-executable": Kind(
        "Windows 可执行程序", "Windows executable", "exe"
    ),
    "application/x-executable": Kind("可执行程序", "executable", "bin"),
    "application/rtf": Kind("RTF 文档", "RTF document", "rtf"),
    OCTET_STREAM: Kind("无法识别的文件", "unrecognised file", "bin"),
}

DEFAULT_ALLOWED_TYPES: tuple[str, ...] = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
    DOCX,
    XLSX,
)

_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")
_MP4_BRANDS = (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"M4A ", b"dash", b"3gp4")
# The main part's content type in [Content_Types].xml, for each OOXML kind duban tells apart.
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
    "application/vnd.ms-word.document.macroEnabled.main+xml": DOCM,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": XLSM,
}
_CONTENT_TYPE_ATTR = re.compile(rb"""ContentType\s*=\s*["']([^"']{1,200})["']""")
_CONTENT_TYPES_MAX = 1024 * 1024  # a real [Content_Types].xml is a few kB
HEAD_BYTES = 4096


def kind_of(media_type: str) -> Kind:
    return KINDS.get(media_type, Kind(media_type, media_type, "bin"))


def _iso_bmff(head: bytes) -> str | None:
    """HEIC/HEIF/AVIF/MP4 share the ISO base media ``ftyp`` box: the brands tell them apart."""
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    compatible = [head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)]
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in (b"mif1", b"msf1"):  # generic HEIF: the compatible brands say which codec
        if any(b in _HEIC_BRANDS for b in compatible):
            return "image/heic"
        return "image/avif" if b"avif" in compatible else "image/heif"
    if major in (b"avif", b"avis"):
        return "image/avif"
    if major == b"qt  ":
        return "video/quicktime"
    if major in _MP4_BRANDS:
        return "video/mp4"
    return None


def _open(whole: Path | bytes) -> BinaryIO:
    return whole.open("rb") if isinstance(whole, Path) else io.BytesIO(whole)


def _zip_kind(whole: Path | bytes) -> str:
    try:
        with _open(whole) as f, zipfile.ZipFile(f) as archive:
            names = set(archive.namelist())  # the central directory only
            if "[Content_Types].xml" not in names:
                return "application/zip"
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > _CONTENT_TYPES_MAX:
                return "application/zip"
            with archive.open(info) as part:  # read with a cap whatever the header claims
                content_types = part.read(_CONTENT_TYPES_MAX + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
        return "application/zip"
    declared = {m.decode("ascii", "replace") for m in _CONTENT_TYPE_ATTR.findall(content_types)}
    found = [kind for main, kind in _OOXML_MAIN.items() if main in declared]
    # One main part is an Office document; none (or a mix) is some other zip.
    return found[0] if len(found) == 1 else "application/zip"


def _is_utf8_text(whole: Path | bytes) -> bool:
    """UTF-8 throughout, with no control characters but tab, line breaks and form feed."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    allowed = {"\t", "\n", "\r", "\f"}
    try:
        with _open(whole) as f:
            while chunk := f.read(1024 * 1024):
                text = decoder.decode(chunk)
                if any((c < " " or c == "\x7f") and c not in allowed for c in text):
                    return False
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect(head: bytes, whole: Path | bytes | None = None) -> str | None:
    """The media type of a file whose first bytes are ``head`` (at least 64; 4096 is best),
    or None when duban does not know it. ``whole`` (the file, or all its bytes) lets zip
    containers and text be read further."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    # PDF readers accept the header within the first 1024 bytes (some scanners write junk
    # before it); a person cannot fix their scanner, so neither does duban refuse it.
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(whole) if whole is not None else "application/zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return LEGACY_OFFICE
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"Rar!\x1a\x07"):
        return "application/vnd.rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "application/x-7z-compressed"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(b"MZ"):
        return "application/vnd.microsoft.portable-executable"
    if head.startswith(b"\x7fELF"):
        return "application/x-executable"
    if head.startswith(b"{\\rtf"):
        return "application/rtf"
    if head and whole is not None and _is_utf8_text(whole):
        return "text/plain"
    return None


def detect_file(path: Path) -> str | None:
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    return detect(head, path)


def detect_bytes(data: bytes) -> str | None:
    return detect(data[:HEAD_BYTES], data)
