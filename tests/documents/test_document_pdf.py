"""Every kind of document rendered to PDF: its text read back, every page rendered to PNG, its
embedded font subsets checked glyph by glyph, the same bytes in another process, and a marked
copy that keeps the issued bytes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader

from activities.documents import mark_copy, render_document
from activities.documents.fonts import missing_characters
from activities.documents.layout import LEFT, QR_SIZE, TOP
from activities.documents.qr import QUIET_ZONE, qr_runs
from domain.documents import DocumentKind, DocumentModel, Paragraph, ParagraphStyle
from domain.errors import DomainError
from tests.documents.pdf_checks import (
    embedded_fonts,
    missing_glyphs,
    pdf_text,
    pdffonts,
    render_pages,
    require_poppler,
)
from tests.documents.scenarios import first_of, issued, one_of_each

ROOT = Path(__file__).resolve().parents[2]
PAGE_H_PT = 841.89  # A4 in points, as fpdf2 writes it
# Set DUBAN_DOCUMENTS_OUT to keep the pages of a 整改通知书 and a 督办通知书 for people to look
# at (the lead's review); the tests always write them under their own tmp directory.
LOOK_AT = os.environ.get("DUBAN_DOCUMENTS_OUT")


@pytest.fixture(scope="module")
def documents() -> dict[DocumentKind, tuple[DocumentModel, bytes]]:
    """One issued document of each kind and its PDF, rendered once for the module."""
    return {kind: (model, render_document(model)) for kind, model in one_of_each().items()}


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_the_pdf_reads_back_the_number_authority_addressee_deadline_and_basis(
    kind: DocumentKind, documents: dict[DocumentKind, tuple[DocumentModel, bytes]]
) -> None:
    require_poppler()
    model, pdf = documents[kind]
    text = pdf_text(pdf)
    d = model.draft
    assert model.number.text in text
    assert text.startswith(d.authority.name + model.number.text)  # 版头 first
    assert text.count(d.authority.name) >= 2  # 版头 and 落款
    assert d.title.replace(" ", "") in text
    for addressee in d.addressees:
        assert addressee + "：" in text
    if d.deadline is not None:
        assert d.deadline.words in text
    for citation in d.basis:
        assert citation.text in text
    for right in d.rights:
        assert right.citation in text
    assert f"{d.signed_on.year}年{d.signed_on.month}月{d.signed_on.day}日" in text
    assert model.verification.short_code in text
    # Everything the model says is there, in order.
    position = 0
    for line in model.text_lines():
        found = text.find(line.replace(" ", ""), position)
        assert found >= 0, line
        position = found


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_page_renders_and_every_character_has_its_glyph_in_the_embedded_subset(
    kind: DocumentKind,
    documents: dict[DocumentKind, tuple[DocumentModel, bytes]],
    tmp_path: Path,
) -> None:
    require_poppler()
    model, pdf = documents[kind]
    pages = render_pages(pdf, tmp_path, kind.value, dpi=50)
    assert len(pages) >= 1
    for page in pages:
        grey = Image.open(page).convert("L")
        assert grey.getextrema()[0] < 128, f"{page.name} is blank"
    first = Image.open(pages[0]).convert("RGB")
    colours = first.getcolors(1 << 24) or []
    assert any(r > 180 and g < 80 and b < 80 for _, (r, g, b) in colours), "no red 版头"
    printed = "".join(model.text_lines()) + pdf_text(pdf)
    assert missing_glyphs(pdf, printed) == []
    rows = pdffonts(pdf)
    assert rows and all(r.embedded and r.subset and r.unicode for r in rows)
    assert all("+Noto" in r.name for r in rows)  # a subset (XXXXXX+) of the packaged fonts


def test_the_glyph_check_finds_a_glyph_the_subset_does_not_draw(
    documents: dict[DocumentKind, tuple[DocumentModel, bytes]],
) -> None:
    """The check above can fail: a character never set in the document is not in its subset."""
    _, pdf = documents[DocumentKind.DELISTING_NOTICE]
    assert missing_glyphs(pdf, "销号龘") == ["龘"]


def test_a_heading_is_set_in_the_sans_and_both_subsets_are_embedded(tmp_path: Path) -> None:
    require_poppler()
    model = one_of_each()[DocumentKind.RECTIFICATION_NOTICE]
    headed = replace(
        model,
        draft=replace(
            model.draft,
            body=(Paragraph("一、隐患情况", ParagraphStyle.HEADING), *model.draft.body),
        ),
    )
    pdf = render_document(headed)
    assert sorted(f.name.split("+")[1] for f in embedded_fonts(pdf)) == [
        "NotoSansSC",
        "NotoSerifSC",
    ]
    assert "一、隐患情况" in pdf_text(pdf)
    assert missing_glyphs(pdf, "".join(headed.text_lines())) == []


def test_a_character_the_fonts_lack_is_refused_before_anything_is_drawn() -> None:
    rare = "\U00020000"  # CJK Extension B: not in Noto Serif SC's subset OTF
    assert missing_characters(rare) == [rare]
    model = issued(first_of(DocumentKind.RECTIFICATION_NOTICE))
    odd = replace(model, draft=replace(model.draft, addressees=(f"诸城{rare}机械有限公司",)))
    with pytest.raises(DomainError) as refused:
        render_document(odd)
    assert refused.value.rule == "document.font.missing_glyph"
    assert refused.value.field == "document"
    assert "U+20000" in refused.value.message


def test_the_same_document_gives_the_same_bytes_in_another_process(
    documents: dict[DocumentKind, tuple[DocumentModel, bytes]],
) -> None:
    here = {kind.value: hashlib.sha256(pdf).hexdigest() for kind, (_, pdf) in documents.items()}
    again = render_document(documents[DocumentKind.SUPERVISION_NOTICE][0])
    assert hashlib.sha256(again).hexdigest() == here[DocumentKind.SUPERVISION_NOTICE.value]
    script = (
        "import hashlib, json\n"
        "from activities.documents import render_document\n"
        "from tests.documents.scenarios import one_of_each\n"
        "print(json.dumps({k.value: hashlib.sha256(render_document(m)).hexdigest()"
        " for k, m in one_of_each().items()}))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4321", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, check=True
    )
    assert done.stdout.decode().strip() == json.dumps(here)


def test_the_qr_code_drawn_on_the_last_page_is_that_of_the_verification_url(
    documents: dict[DocumentKind, tuple[DocumentModel, bytes]],
) -> None:
    """Read the QR code back from the drawing: every dark run of modules, where it should be."""
    model, pdf = documents[DocumentKind.SUPERVISION_NOTICE]
    size, runs = qr_runs(model.verification.url)
    last = PdfReader(io.BytesIO(pdf)).pages[-1]
    content = last.get_contents().get_data().decode("latin-1")
    k = 72 / 25.4
    module = QR_SIZE / (size + 2 * QUIET_ZONE)
    drawn = set()
    for x, y, w, h in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) (-[\d.]+) re f", content):
        assert abs(-float(h) / k - module) < 0.01  # one module high
        left_mm, top_mm = float(x) / k - LEFT, (PAGE_H_PT - float(y)) / k
        drawn.add((top_mm, round(left_mm / module) - QUIET_ZONE, round(float(w) / k / module)))
    tops = sorted({t for t, _, _ in drawn})
    assert len(tops) == size  # one row of runs per row of modules with dark ones
    rows = {t: i for i, t in enumerate(tops)}
    assert {(rows[t], c, n) for t, c, n in drawn} == {(r.row, r.column, r.length) for r in runs}


def test_a_marked_copy_keeps_the_issued_bytes_and_differs_only_in_the_top_margin(
    documents: dict[DocumentKind, tuple[DocumentModel, bytes]], tmp_path: Path
) -> None:
    require_poppler()
    _, pdf = documents[DocumentKind.RECTIFICATION_NOTICE]
    copy = mark_copy(pdf, "副本")
    assert copy.startswith(pdf)  # the issued document's hash still covers its first bytes
    assert mark_copy(pdf, "副本") == copy
    assert mark_copy(pdf, "补发 2026年12月9日") != copy
    assert pdf_text(copy) == pdf_text(pdf)  # the mark is drawn, not text
    dpi = 50
    originals = render_pages(pdf, tmp_path / "original", "notice", dpi)
    copies = render_pages(copy, tmp_path / "copy", "notice", dpi)
    assert len(copies) == len(originals)
    margin = TOP / 25.4 * dpi
    for original, marked in zip(originals, copies, strict=True):
        box = ImageChops.difference(
            Image.open(original).convert("RGB"), Image.open(marked).convert("RGB")
        ).getbbox()
        assert box is not None, "the mark is on every page"
        assert box[3] <= margin, f"{marked.name}: the mark reaches into the 版心 ({box})"


def test_a_marked_copy_is_not_marked_again_and_a_mark_has_a_length() -> None:
    pdf = render_document(issued(first_of(DocumentKind.DELISTING_NOTICE)))
    copy = mark_copy(pdf, "副本")
    with pytest.raises(DomainError) as again:
        mark_copy(copy, "补发")
    assert again.value.rule == "document.mark.not_ours"
    with pytest.raises(DomainError) as empty:
        mark_copy(pdf, "  ")
    assert (empty.value.rule, empty.value.field) == ("document.mark.text", "mark")
    with pytest.raises(DomainError) as other:
        mark_copy(b"%PDF-1.4\nnot ours\n%%EOF\n", "副本")
    assert other.value.rule == "document.mark.not_ours"


def test_the_pages_of_a_rectification_notice_and_a_supervision_notice_for_people_to_see(
    documents: dict[DocumentKind, tuple[DocumentModel, bytes]], tmp_path: Path
) -> None:
    require_poppler()
    for kind in (DocumentKind.RECTIFICATION_NOTICE, DocumentKind.SUPERVISION_NOTICE):
        _, pdf = documents[kind]
        pages = render_pages(pdf, tmp_path, kind.value, dpi=100)
        assert pages
        if LOOK_AT:
            out = Path(LOOK_AT)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{kind.value}.pdf").write_bytes(pdf)
            for page in pages:
                shutil.copy(page, out / page.name)
