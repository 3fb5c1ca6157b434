"""The CJK fonts the documents are set in, which install with duban from PyPI.

``pylopdf-fonts-zh-cn`` carries Noto Serif SC and Noto Sans SC (SIL OFL 1.1, from
notofonts/noto-cjk): the serif stands in for 仿宋 (body) and, drawn with a thin stroke, for
小标宋 (版头 and 标题); the sans for 黑体 (一级标题). No system font is used: the PDF embeds a
subset of these two, so it prints the same everywhere.

A text with a character these fonts lack is refused before anything is drawn (a document with
a missing glyph — 豆腐块 — would be wrong in print and could not be reissued identically).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont

from domain.errors import DomainError

FONT_PACKAGE = "pylopdf_fonts_zh_cn"
SERIF_FILE = "NotoSerifSC-Regular.otf"
SANS_FILE = "NotoSansSC-Regular.otf"
SERIF = "serif"  # the family names the renderer registers them under
SANS = "sans"


@dataclass(frozen=True)
class FontFiles:
    serif: Path
    sans: Path


@contextmanager
def font_files() -> Iterator[FontFiles]:
    """Paths of the two font files (extracted to a temporary file if installed zipped)."""
    package = files(FONT_PACKAGE)
    with ExitStack() as stack:
        serif = stack.enter_context(as_file(package / SERIF_FILE))
        sans = stack.enter_context(as_file(package / SANS_FILE))
        yield FontFiles(Path(serif), Path(sans))


@functools.cache
def _loaded(name: str) -> TTFont:
    """The font parsed once per process (from its bytes: nothing stays open)."""
    return TTFont(io.BytesIO((files(FONT_PACKAGE) / name).read_bytes()))


@functools.cache
def _coverage(name: str) -> frozenset[int]:
    return frozenset(_loaded(name).getBestCmap())


def missing_characters(text: str, font: str = SERIF_FILE) -> list[str]:
    """The characters of ``text`` (white space aside) that ``font`` has no glyph for, in
    order of first appearance."""
    covered = _coverage(font)
    seen: dict[str, None] = {}
    for char in text:
        if not char.isspace() and ord(char) not in covered:
            seen.setdefault(char, None)
    return list(seen)


def require_glyphs(text: str, field: str, font: str = SERIF_FILE) -> None:
    missing = missing_characters(text, font)
    if missing:
        shown = "、".join(f"{c}（U+{ord(c):04X}）" for c in missing[:10])
        raise DomainError(
            "document.font.missing_glyph",
            f"the document font has no glyph for {shown}: the document cannot be set "
            "without 豆腐块 (change the text or add a font that covers it)",
            field,
        )


class _PdfPathPen(BasePen):  # type: ignore[misc]  # fontTools is untyped
    """Collects a glyph outline as PDF path operators, scaled and moved to a place on the page
    (PDF coordinates: points, origin at the bottom left)."""

    def __init__(self, glyph_set: object, scale: float, x: float, y: float) -> None:
        super().__init__(glyph_set)
        self.ops: list[str] = []
        self._s, self._x, self._y = scale, x, y

    def _p(self, pt: tuple[float, float]) -> str:
        return f"{self._x + pt[0] * self._s:.3f} {self._y + pt[1] * self._s:.3f}"

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(f"{self._p(pt)} m")

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(f"{self._p(pt)} l")

    def _curveToOne(
        self, pt1: tuple[float, float], pt2: tuple[float, float], pt3: tuple[float, float]
    ) -> None:
        self.ops.append(f"{self._p(pt1)} {self._p(pt2)} {self._p(pt3)} c")

    def _closePath(self) -> None:
        self.ops.append("h")


def outline_ops(text: str, size_pt: float, x_pt: float, baseline_pt: float) -> tuple[str, float]:
    """``text`` set in the serif as filled PDF path operators (no font resource needed, so
    that a marked copy adds nothing but drawing to the original), and its width in points."""
    require_glyphs(text, "mark")
    font = _loaded(SERIF_FILE)
    glyph_set = font.getGlyphSet()
    cmap = font.getBestCmap()
    hmtx = font["hmtx"]
    scale = size_pt / font["head"].unitsPerEm
    ops: list[str] = []
    x = x_pt
    for char in text:
        name = cmap[ord(char)]
        pen = _PdfPathPen(glyph_set, scale, x, baseline_pt)
        glyph_set[name].draw(pen)
        ops += pen.ops
        x += hmtx[name][0] * scale
    return "\n".join(ops) + ("\nf" if ops else ""), x - x_pt
