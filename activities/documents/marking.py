"""Marked copies (副本, 补发) of an issued document, for reprints.

A marked copy is the issued PDF byte for byte, followed by a PDF incremental update (ISO
32000-1 7.5.6) that adds one drawing to each page: the mark as a line of grey text in the top
margin (天头), above the 版心, where it covers none of the document. The issued bytes stay a
prefix of the copy, so the copy's first ``len(original)`` bytes still hash to the recorded
hash, and a reader shows the original with the mark on top. The mark is drawn as glyph
outlines (filled paths), so the update adds no font and no text: extracting the text of a
copy gives the original's.

Only PDFs written by ``render_document`` are marked (a classic cross-reference table, one
section, pages listed in one /Kids array, each with one content stream).
"""

from __future__ import annotations

import hashlib
import re

from activities.documents.fonts import outline_ops
from activities.documents.layout import BODY_W, LEFT, PT, TOP
from domain.errors import DomainError

MARK_SIZE_PT = 15.0
MARK_MAX_CHARS = 40
PAGE_HEIGHT_PT = 841.89  # A4, as fpdf2 writes its MediaBox


def _bad(message: str) -> DomainError:
    return DomainError("document.mark.not_ours", message, "pdf")


def _int(pattern: bytes, text: bytes, what: str) -> int:
    match = re.search(pattern, text)
    if match is None:
        raise _bad(f"no {what} found")
    return int(match.group(1))


class _Original:
    """The parts of the original PDF the update refers to."""

    def __init__(self, pdf: bytes) -> None:
        if not pdf.startswith(b"%PDF-") or not pdf.rstrip().endswith(b"%%EOF"):
            raise _bad("not a complete PDF")
        self.pdf = pdf
        tail = pdf[pdf.rfind(b"trailer") :]
        self.startxref = _int(rb"startxref\s+(\d+)", pdf[pdf.rfind(b"startxref") :], "startxref")
        self.size = _int(rb"/Size (\d+)", tail, "/Size")
        self.root = _int(rb"/Root (\d+) 0 R", tail, "/Root")
        self.info = _int(rb"/Info (\d+) 0 R", tail, "/Info")
        ids = re.search(rb"/ID \[<([0-9A-F]+)><([0-9A-F]+)>\]", tail)
        if ids is None:
            raise _bad("no /ID")
        self.first_id = ids.group(1).decode()
        if b"/Prev" in tail:
            raise _bad("already updated: mark the issued PDF, not a marked copy")
        self.offsets = self._xref()

    def _xref(self) -> dict[int, int]:
        section = self.pdf[self.startxref :]
        match = re.match(rb"xref\s+0 (\d+)\s+", section)
        if match is None:
            raise _bad("the cross-reference table is not one section from object 0")
        entries = section[match.end() : match.end() + 20 * int(match.group(1))]
        offsets = {}
        for number in range(int(match.group(1))):
            entry = entries[20 * number : 20 * number + 20]
            if entry[17:18] == b"n":
                offsets[number] = int(entry[:10])
        return offsets

    def object(self, number: int) -> bytes:
        start = self.offsets[number]
        end = self.pdf.index(b"endobj", start)
        body = self.pdf[start:end]
        header = f"{number} 0 obj".encode()
        if not body.startswith(header):
            raise _bad(f"object {number} is not where the table says")
        return body[len(header) :].strip()

    def pages(self) -> list[int]:
        pages_ref = _int(rb"/Pages (\d+) 0 R", self.object(self.root), "/Pages")
        kids = re.search(rb"/Kids \[([^\]]*)\]", self.object(pages_ref))
        if kids is None:
            raise _bad("no /Kids")
        return [int(n) for n in re.findall(rb"(\d+) 0 R", kids.group(1))]


def _mark_stream(mark: str) -> bytes:
    """The mark, centred over the 版心, its baseline 12 mm above the 版心's top edge."""
    _, width = outline_ops(mark, MARK_SIZE_PT, 0, 0)
    x = (LEFT + BODY_W / 2) / PT - width / 2
    baseline = PAGE_HEIGHT_PT - (TOP - 12) / PT
    ops, _ = outline_ops(mark, MARK_SIZE_PT, x, baseline)
    rule_y = baseline - 5
    rule = f"{LEFT / PT:.3f} {rule_y:.3f} {BODY_W / PT:.3f} 0.6 re f"
    return f"q 0.45 0.45 0.45 rg\n{ops}\n{rule}\nQ\n".encode()


def mark_copy(pdf: bytes, mark: str) -> bytes:
    """``pdf`` with ``mark`` (``副本``, ``补发 2027年1月5日``) added to every page by an
    incremental update: the result starts with ``pdf`` unchanged."""
    mark = mark.strip()
    if not mark or len(mark) > MARK_MAX_CHARS:
        raise DomainError("document.mark.text", f"a mark is 1-{MARK_MAX_CHARS} characters", "mark")
    original = _Original(pdf)
    stream = _mark_stream(mark)
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    entries: dict[int, int] = {}
    content = original.size  # one stream, drawn on every page
    entries[content] = len(out)
    out += f"{content} 0 obj\n<<\n/Length {len(stream)}\n>>\nstream\n".encode()
    out += stream + b"endstream\nendobj\n"
    for page in original.pages():
        replaced, count = re.subn(
            rb"/Contents (\d+) 0 R",
            lambda m: f"/Contents [{m.group(1).decode()} 0 R {content} 0 R]".encode(),
            original.object(page),
        )
        if count != 1:
            raise _bad(f"page object {page} has not exactly one content stream")
        entries[page] = len(out)
        out += f"{page} 0 obj\n".encode() + replaced + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n"
    for number in sorted(entries):
        out += f"{number} 1\n{entries[number]:010d} 00000 n \n".encode()
    second_id = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().upper()
    out += (
        f"trailer\n<<\n/Size {content + 1}\n/Root {original.root} 0 R\n"
        f"/Info {original.info} 0 R\n/ID [<{original.first_id}><{second_id}>]\n"
        f"/Prev {original.startxref}\n>>\nstartxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return bytes(out)
