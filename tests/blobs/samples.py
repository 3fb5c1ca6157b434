"""Small real files of every kind evidence comes in, made here (see samples/README.md)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image

RED = (220, 30, 30)
BLUE = (30, 30, 220)
HEIC_SAMPLE = Path(__file__).parent / "samples" / "red-blue-64x48.heic"
HEIC_TURNED = Path(__file__).parent / "samples" / "red-blue-64x48-orientation6.heic"
EXIF_ORIENTATION = 0x0112


def red_blue(width: int = 60, height: int = 40, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: a thumbnail shows whether it was turned."""
    image = Image.new(mode, (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(width: int = 60, height: int = 40, *, orientation: int | None = None) -> bytes:
    image = red_blue(width, height)
    if orientation is None:
        return encode(image, "JPEG", quality=90)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    exif[0x010F] = "duban test camera"  # Make: metadata a thumbnail must not carry
    return encode(image, "JPEG", quality=90, exif=exif.tobytes())


def png_with_alpha() -> bytes:
    image = red_blue(mode="RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 10, 10))  # a transparent corner: white in the thumbnail
    return encode(image, "PNG")


def png() -> bytes:
    return encode(red_blue(), "PNG")


def webp() -> bytes:
    return encode(red_blue(), "WEBP", quality=90)


def heic() -> bytes:
    return HEIC_SAMPLE.read_bytes()


def heic_turned() -> bytes:
    """A phone photo taken turned: the HEIF rotation says so (red on top when upright)."""
    return HEIC_TURNED.read_bytes()


def pdf() -> bytes:
    return encode(red_blue(600, 400), "PDF", resolution=72.0)


_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="{target}"/></Relationships>'
)


def _content_types(part: str, content_type: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="{part}" ContentType="{content_type}"/></Types>'
    )


def _zip(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def docx(main_type: str = "wordprocessingml.document.main+xml") -> bytes:
    """A minimal Word document: the three parts Word needs to open it."""
    vendor = "ms-word" if "macroEnabled" in main_type else "openxmlformats-officedocument"
    return _zip(
        {
            "[Content_Types].xml": _content_types(
                "/word/document.xml", f"application/vnd.{vendor}.{main_type}"
            ),
            "_rels/.rels": _RELS.format(target="word/document.xml"),
            "word/document.xml": (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
                'main"><w:body><w:p><w:r><w:t>整改完成情况说明</w:t></w:r></w:p></w:body>'
                "</w:document>"
            ),
        }
    )


def docm() -> bytes:
    return docx("document.macroEnabled.main+xml")


def xlsx() -> bytes:
    """A minimal Excel workbook of one sheet."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return _zip(
        {
            "[Content_Types].xml": _content_types(
                "/xl/workbook.xml",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            ),
            "_rels/.rels": _RELS.format(target="xl/workbook.xml"),
            "xl/workbook.xml": (
                f'<workbook xmlns="{ns}" xmlns:r="{rel_ns}"><sheets>'
                '<sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
            "xl/_rels/workbook.xml.rels": _RELS.replace(
                "officeDocument/2006/relationships/officeDocument",
                "officeDocument/2006/relationships/worksheet",
            ).format(target="worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml": (
                f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
                "<is><t>隐患台账</t></is></c></row></sheetData></worksheet>"
            ),
        }
    )


def plain_zip() -> bytes:
    return _zip({"photo.jpg": jpeg(), "notes.txt": "现场照片"})


def legacy_doc() -> bytes:
    """The compound-file header a .doc or .xls starts with (then sectors)."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"\xff" * 512


def windows_exe() -> bytes:
    return b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200


def text() -> bytes:
    return "现场检查记录：配电箱未接地。\n".encode()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height``: decoding it would allocate that much."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
