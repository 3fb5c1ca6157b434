"""DocumentModel → PDF bytes, the same bytes for the same model in every process.

What makes it repeatable: the creation date is the 成文日期 and the producer ``duban`` (no
clock, no library version in the file); fpdf2 names the font subsets with a constant tag and
derives the file /ID from the content; the QR code is drawn as rectangles; fpdf2, fontTools,
the font package and segno are pinned exactly in pyproject.toml, since another version of any
of them may write other bytes for the same document.

Rendering takes about a second of CPU (most of it fontTools subsetting the font): call it from
a worker thread or an activity, never on an event loop.
"""

from __future__ import annotations

from activities.documents.fonts import SANS_FILE, SERIF_FILE, font_files, require_glyphs
from activities.documents.layout import VERIFY_HINT, GongwenPdf, compose
from domain.documents.model import DocumentModel, ParagraphStyle


def document_text(model: DocumentModel) -> str:
    """Every character the document prints (what its fonts must cover)."""
    d, v = model.draft, model.verification
    parts = [
        *model.text_lines(),
        *d.copy_to,
        "抄送：，。印发核验码— 0123456789",
        VERIFY_HINT,
        v.short_code,
        v.url,
    ]
    return "".join(parts)


def render_document(model: DocumentModel) -> bytes:
    """The document as an A4 PDF laid out after GB/T 9704-2012, its fonts embedded as subsets.
    A character the fonts lack is refused first (``document.font.missing_glyph``)."""
    require_glyphs(document_text(model), "document", SERIF_FILE)
    headings = "".join(p.text for p in model.draft.body if p.style is ParagraphStyle.HEADING)
    require_glyphs(headings, "document", SANS_FILE)
    with font_files() as fonts:
        pdf = GongwenPdf(fonts, headings=bool(headings))
        compose(pdf, model)
        return bytes(pdf.output())
