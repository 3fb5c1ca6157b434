"""Reading a rendered PDF back: poppler's pdftotext, pdftoppm and pdffonts (the tools people
and printers meet), and the embedded font subsets opened with fontTools."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from fontTools.cffLib import CFFFontSet
from fontTools.pens.recordingPen import RecordingPen
from pypdf import PdfReader

POPPLER = ("pdftotext", "pdftoppm", "pdffonts")


def require_poppler() -> None:
    """poppler-utils is a Debian package (``apt-get install -y poppler-utils``); ``.ci/run``
    installs it and sets DUBAN_REQUIRE_POPPLER, so CI never skips these checks."""
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not found: apt-get install -y poppler-utils"
        if os.environ.get("DUBAN_REQUIRE_POPPLER"):
            pytest.fail(message)
        pytest.skip(message)


def _run(*args: str, data: bytes | None = None) -> str:
    done = subprocess.run(args, input=data, capture_output=True, check=True, timeout=120)
    assert not done.stderr, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def pdf_text(pdf: bytes) -> str:
    """The text pdftotext extracts, in reading order, with no white space at all (a line
    break inside a sentence is layout, not text) and without the page numbers (— 1 —), which
    fall between the pages' text."""
    pages = _run("pdftotext", "-enc", "UTF-8", "-", "-", data=pdf).split("\f")
    text = "".join(re.sub(r"\s+", "", page) for page in pages)
    return re.sub(r"—\d+—", "", text)


def render_pages(pdf: bytes, directory: Path, stem: str, dpi: int = 100) -> list[Path]:
    """Every page as a PNG: ``<stem>-1.png``, … (pdftoppm reports any trouble on stderr)."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{stem}.pdf"
    source.write_bytes(pdf)
    _run("pdftoppm", "-r", str(dpi), "-png", str(source), str(directory / stem))
    return sorted(directory.glob(f"{stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


@dataclass(frozen=True)
class FontRow:
    name: str
    type: str
    embedded: bool
    subset: bool
    unicode: bool


def pdffonts(pdf: bytes) -> list[FontRow]:
    rows = []
    for line in _run("pdffonts", "-", data=pdf).splitlines()[2:]:
        parts = line.split()
        # name, type (may be several words), encoding, emb, sub, uni, object, generation
        emb, sub, uni = parts[-5:-2]
        rows.append(
            FontRow(parts[0], " ".join(parts[1:-6]), emb == "yes", sub == "yes", uni == "yes")
        )
    return rows


def _code_to_cid(encoding: object) -> dict[int, int] | None:
    """Code → CID from an embedded encoding CMap (fpdf2 writes one with cidchar entries);
    None for Identity-H, where the code is the CID."""
    if not hasattr(encoding, "get_data"):
        return None
    text = encoding.get_data().decode("latin-1")
    found: dict[int, int] = {}
    for block in re.findall(r"begincidchar(.*?)endcidchar", text, re.S):
        for code, cid in re.findall(r"<([0-9A-Fa-f]+)>\s*(\d+)", block):
            found[int(code, 16)] = int(cid)
    for block in re.findall(r"begincidrange(.*?)endcidrange", text, re.S):
        for lo, hi, cid in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\d+)", block):
            for offset in range(int(hi, 16) - int(lo, 16) + 1):
                found[int(lo, 16) + offset] = int(cid) + offset
    return found


def _to_unicode(cmap: bytes) -> dict[str, int]:
    """Character → code from a ToUnicode CMap's bfchar and bfrange sections."""
    text = cmap.decode("latin-1")
    found: dict[str, int] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for cid, uni in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            found[bytes.fromhex(uni).decode("utf-16-be")] = int(cid, 16)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, uni in re.findall(
            r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            first = bytes.fromhex(uni).decode("utf-16-be")
            for offset in range(int(hi, 16) - int(lo, 16) + 1):
                found[chr(ord(first) + offset)] = int(lo, 16) + offset
    return found


@dataclass(frozen=True)
class EmbeddedFont:
    name: str
    char_to_cid: dict[str, int]
    drawn: frozenset[int]  # CIDs whose glyph in the embedded subset has an outline
    present: frozenset[int]  # CIDs the embedded subset has a glyph for


def embedded_fonts(pdf: bytes) -> list[EmbeddedFont]:
    """Each embedded CFF subset, read with fontTools, with the CIDs it draws."""
    reader = PdfReader(io.BytesIO(pdf))
    fonts: dict[str, EmbeddedFont] = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            name = str(font["/BaseFont"])
            if name in fonts:
                continue
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            cff = CFFFontSet()
            cff.decompile(io.BytesIO(descriptor["/FontFile3"].get_object().get_data()), None)
            top = cff[cff.fontNames[0]]
            cid_keyed = hasattr(top, "ROS")
            present, drawn = set(), set()
            for gid, glyph in enumerate(top.charset):
                cid = gid if not cid_keyed or glyph == ".notdef" else int(glyph[3:])
                present.add(cid)
                pen = RecordingPen()
                top.CharStrings[glyph].draw(pen)
                if pen.value:
                    drawn.add(cid)
            codes = _to_unicode(font["/ToUnicode"].get_object().get_data())
            cids = _code_to_cid(font["/Encoding"].get_object())
            char_to_cid = {
                char: (code if cids is None else cids.get(code, 0)) for char, code in codes.items()
            }
            fonts[name] = EmbeddedFont(name, char_to_cid, frozenset(drawn), frozenset(present))
    return list(fonts.values())


def missing_glyphs(pdf: bytes, text: str) -> list[str]:
    """The characters of ``text`` that no embedded subset maps and draws (豆腐块)."""
    fonts = embedded_fonts(pdf)
    missing = []
    for char in dict.fromkeys(c for c in text if not c.isspace()):
        if not any(
            char in f.char_to_cid and f.char_to_cid[char] in f.drawn and f.char_to_cid[char] != 0
            for f in fonts
        ):
            missing.append(char)
    return missing
